//! Basic and bearer authentication over real loopback sockets: the user or token reaches the
//! handler, every kind of bad request gets Flamego's exact 401, a protected group beside a
//! public route, the closures' variants, the recorded actor.
#![cfg(feature = "auth")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use flame_core::{Context, Flame};
use flame_extra::auth::{Token, User, basic, basic_fn, bearer, bearer_fn, secure_compare};
use flame_test_support::TestServer;
use reqwest::header::HeaderValue;

/// A response's status, the headers that matter here, and its body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    nosniff: Option<String>,
    challenge: Option<String>,
    body: String,
}

/// Sends `GET path` with `Authorization: <authorization>` when given.
async fn get(server: &TestServer, path: &str, authorization: Option<HeaderValue>) -> Answer {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        nosniff: header("x-content-type-options"),
        challenge: header("www-authenticate"),
        body: response.text().await.unwrap(),
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(value).unwrap())
}

fn basic_header(credentials: &[u8]) -> Option<HeaderValue> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    header(&format!("Basic {encoded}"))
}

/// Flamego's basic refusal, byte for byte.
fn basic_refusal() -> Answer {
    Answer {
        status: 401,
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        nosniff: Some("nosniff".to_owned()),
        challenge: Some(r#"Basic realm="Authorization Required""#.to_owned()),
        body: "Unauthorized\n".to_owned(),
    }
}

/// Flamego's bearer refusal: the same without a challenge.
fn bearer_refusal() -> Answer {
    Answer {
        challenge: None,
        ..basic_refusal()
    }
}

fn ok(body: &str) -> Answer {
    Answer {
        status: 200,
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        nosniff: None,
        challenge: None,
        body: body.to_owned(),
    }
}

/// A public `/` and an `/admin` group behind `basic("admin", "s3cret")`.
fn basic_app() -> Flame {
    let mut f = Flame::new();
    f.get("/", || "public");
    f.group(
        "/admin",
        |f| {
            f.get("/", |user: User| format!("hello, {user}"));
            f.get("/actor", |c: Context| format!("{:?}", c.recorded_actor()));
        },
        basic("admin", "s3cret"),
    );
    f
}

#[tokio::test]
async fn the_right_credentials_reach_the_handler_with_the_user() {
    let server = TestServer::start(basic_app()).await;
    assert_eq!(
        get(&server, "/admin/", basic_header(b"admin:s3cret")).await,
        ok("hello, admin")
    );
    // The scheme's case does not matter (RFC 7235).
    assert_eq!(
        get(&server, "/admin/", header("basic YWRtaW46czNjcmV0")).await,
        ok("hello, admin")
    );
    assert_eq!(
        get(&server, "/admin/actor", basic_header(b"admin:s3cret")).await,
        ok(r#"("basic-auth", Some("admin"))"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_public_route_beside_the_group_needs_no_credentials() {
    let server = TestServer::start(basic_app()).await;
    assert_eq!(get(&server, "/", None).await, ok("public"));
    assert_eq!(get(&server, "/admin/", None).await, basic_refusal());
    server.stop().await;
}

#[tokio::test]
async fn every_bad_basic_request_gets_flamegos_401() {
    let server = TestServer::start(basic_app()).await;
    let bad = [
        ("no header", None),
        ("wrong password", basic_header(b"admin:s3cres")),
        ("longer password", basic_header(b"admin:s3cret-and-more")),
        ("empty password", basic_header(b"admin:")),
        ("wrong user", basic_header(b"root:s3cret")),
        ("no colon", basic_header(b"admins3cret")),
        ("bearer scheme", header("Bearer YWRtaW46czNjcmV0")),
        ("bad base64", header("Basic YWRtaW46czNjcmV0!")),
        ("base64 without padding", header("Basic YWRtaW46czNjcmV")),
        ("scheme alone", header("Basic")),
        ("two spaces", header("Basic  YWRtaW46czNjcmV0")),
        ("no space", header("BasicYWRtaW46czNjcmV0")),
        ("empty", header("")),
        (
            "not visible ASCII",
            Some(HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap()),
        ),
        ("huge", header(&format!("Basic {}", "A".repeat(64 * 1024)))),
    ];
    for (case, authorization) in bad {
        assert_eq!(
            get(&server, "/admin/", authorization).await,
            basic_refusal(),
            "{case}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn basic_fn_hands_the_closure_the_user_and_password() {
    let mut f = Flame::new();
    f.use_(basic_fn(|user, password| {
        matches!(user, "ann" | "bob") && secure_compare(password, "pa:ss wörd")
    }));
    f.get("/", |user: User| format!("hello, {user}"));
    let server = TestServer::start(f).await;

    // The password may hold colons: the user name ends at the first.
    assert_eq!(
        get(&server, "/", basic_header("bob:pa:ss wörd".as_bytes())).await,
        ok("hello, bob")
    );
    assert_eq!(
        get(&server, "/", basic_header("ann:pa:ss wörd".as_bytes())).await,
        ok("hello, ann")
    );
    for credentials in [
        &b"eve:pa:ss w\xc3\xb6rd"[..],
        b"ann:pa:ss",
        b"ann",
        b"ann:pa:ss w\xf6rd", // Latin-1, not UTF-8
    ] {
        assert_eq!(
            get(&server, "/", basic_header(credentials)).await,
            basic_refusal(),
            "{}",
            String::from_utf8_lossy(credentials)
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn bearer_lets_the_token_through_and_refuses_the_rest() {
    let mut f = Flame::new();
    f.get("/", || "public");
    f.group(
        "/api",
        |f| {
            f.get("/", |token: Token| format!("token {}", token.as_str()));
            f.get("/actor", |c: Context| format!("{:?}", c.recorded_actor()));
        },
        bearer("t0k3n"),
    );
    let server = TestServer::start(f).await;

    assert_eq!(get(&server, "/", None).await, ok("public"));
    assert_eq!(
        get(&server, "/api/", header("Bearer t0k3n")).await,
        ok("token t0k3n")
    );
    assert_eq!(
        get(&server, "/api/", header("bearer t0k3n")).await,
        ok("token t0k3n")
    );
    // The token is a secret: the actor is recorded without it.
    assert_eq!(
        get(&server, "/api/actor", header("Bearer t0k3n")).await,
        ok(r#"("bearer-token", None)"#)
    );
    for (case, authorization) in [
        ("no header", None),
        ("wrong token", header("Bearer t0k3m")),
        ("longer token", header("Bearer t0k3n-and-more")),
        ("basic scheme", header("Basic t0k3n")),
        ("basic credentials", basic_header(b"t0k3n:")),
        ("scheme alone", header("Bearer")),
        ("two spaces", header("Bearer  t0k3n")),
        (
            "not visible ASCII",
            Some(HeaderValue::from_bytes(b"Bearer t0k\xff3n").unwrap()),
        ),
    ] {
        assert_eq!(
            get(&server, "/api/", authorization).await,
            bearer_refusal(),
            "{case}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn bearer_fn_hands_the_closure_the_token() {
    let mut f = Flame::new();
    f.use_(bearer_fn(|token| {
        ["key-ann", "key-bob"]
            .iter()
            .any(|key| secure_compare(token, key))
    }));
    f.get("/", |token: Token| format!("token {}", token.as_str()));
    let server = TestServer::start(f).await;

    assert_eq!(
        get(&server, "/", header("Bearer key-bob")).await,
        ok("token key-bob")
    );
    assert_eq!(
        get(&server, "/", header("Bearer key-eve")).await,
        bearer_refusal()
    );
    assert_eq!(
        get(&server, "/", header("Basic key-bob")).await,
        bearer_refusal()
    );
    assert_eq!(get(&server, "/", None).await, bearer_refusal());
    server.stop().await;
}

#[tokio::test]
async fn a_header_over_the_servers_head_limit_never_reaches_the_middleware() {
    let called = Arc::new(AtomicBool::new(false));
    let seen = called.clone();
    let mut f = Flame::new();
    f.use_(basic_fn(move |_, _| {
        seen.store(true, Ordering::SeqCst);
        true
    }));
    f.get("/", || "let in");
    let server = TestServer::start(f).await;
    // hyper's HTTP/1 read buffer holds about 400 KiB of request head; this is more.
    let huge = header(&format!("Basic {}", "A".repeat(512 * 1024)));
    let response = reqwest::Client::new()
        .get(server.url("/"))
        .header("authorization", huge.unwrap())
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(response.status(), 431),
        // hyper may close the connection before the client has sent the whole head.
        Err(err) => assert!(err.is_request(), "{err}"),
    }
    assert!(!called.load(Ordering::SeqCst));
    // Under the limit, the middleware reads it, and refuses it: it decodes to NUL bytes,
    // without the `:` of a `user:password`.
    let big = header(&format!("Basic {}", "A".repeat(256 * 1024)));
    assert_eq!(get(&server, "/", big).await, basic_refusal());
    assert!(!called.load(Ordering::SeqCst));
    server.stop().await;
}
