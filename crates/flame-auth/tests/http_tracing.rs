//! The request span and the Logger carry the actor set by the auth middleware. In its own
//! test binary: the subscriber that captures the output is the process-wide one.

mod common;

use std::sync::{Arc, Mutex};

use common::{AUDIENCE, ISSUER, SECRET};
use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
use flame_auth::{Authenticator, CurrentUser, User, authenticate, require_user};
use flame_core::Flame;
use flame_test_support::TestServer;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn the_span_and_the_logger_carry_the_actor() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .init();

    let verifier = JwtVerifier::hs256(SECRET, Expected::new(ISSUER, AUDIENCE)).unwrap();
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.use_(authenticate(Authenticator::new(verifier)));
    f.get(
        "/me",
        (require_user(()), |user: CurrentUser| {
            tracing::info!("handler for {}", user.username);
            user.username.clone()
        }),
    );
    f.get("/login", || "login form");

    let server = TestServer::start(f).await;

    let token = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .issue(&User::new("u1", "ada"))
        .unwrap();
    let client = reqwest::Client::new();
    let me = client
        .get(server.url("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.text().await.unwrap(), "ada");
    let login = client.get(server.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let refused = client
        .get(server.url("/me"))
        .bearer_auth("x.y.z")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    server.stop().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
            .to_owned()
    };
    // Span fields print as `key="value"` (recorded strings) or `key=value` (Display).
    let has = |line: &str, key: &str, value: &str| {
        line.contains(&format!("{key}={value}")) || line.contains(&format!("{key}=\"{value}\""))
    };
    // The handler's own event runs inside the request span, which names the user.
    let handler = line("handler for ada");
    assert!(has(&handler, "actor.type", "user"), "{handler}");
    assert!(has(&handler, "actor.id", "u1"), "{handler}");
    // The Logger's line names the actor too.
    let logged = line("GET /me -> 200");
    assert!(has(&logged, "actor.type", "user"), "{logged}");
    let logged = line("GET /login -> 200");
    assert!(has(&logged, "actor.type", "anonymous"), "{logged}");
    // A refused token is logged (debug) with its reason, which the client never sees.
    let refused = line("request refused by auth");
    assert!(refused.contains("invalid token"), "{refused}");
}
