//! CSRF protection over real loopback sockets: tokens from a header and a form field, the
//! `Sec-Fetch-Site` and `Origin` checks, and the 403s that explain themselves.
#![cfg(feature = "csrf")]

use flame_core::{Flame, Form};
use flame_extra::csrf::{Csrf, CsrfConfig, csrf};
use flame_extra::session::{MemoryStore, SessionConfig, sessioner};
use flame_test_support::TestServer;

#[derive(serde::Deserialize)]
struct Transfer {
    amount: u32,
}

fn app(config: CsrfConfig) -> Flame {
    let mut f = Flame::new();
    f.body_limit(1024);
    f.use_(sessioner(SessionConfig::default(), MemoryStore::new()));
    f.use_(csrf(config));
    f.get("/token", |x: Csrf| x.token());
    f.post("/transfer", |form: Form<Transfer>| {
        format!("sent {}", form.0.amount)
    });
    f.post("/ping", || "pong");
    f
}

/// A browser-like client: keeps the session cookie.
struct Browser {
    http: reqwest::Client,
    cookie: String,
    token: String,
}

impl Browser {
    async fn open(server: &TestServer) -> Self {
        let http = reqwest::Client::new();
        let response = http.get(server.url("/token")).send().await.unwrap();
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let token = response.text().await.unwrap();
        assert_eq!(token.len(), 43);
        Self {
            http,
            cookie,
            token,
        }
    }

    fn post(&self, server: &TestServer, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(server.url(path))
            .header("cookie", self.cookie.clone())
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn ok(body: &str) -> (u16, String) {
    (200, body.to_owned())
}

/// A 403 in flame's error format, with `message` as its reason.
fn forbidden(message: &str) -> (u16, String) {
    (
        403,
        format!(r#"{{"error":{{"code":"forbidden","message":"{message}"}}}}"#),
    )
}

#[tokio::test]
async fn the_token_passes_in_the_header_or_in_a_form_field_that_the_handler_still_reads() {
    let server = TestServer::start(app(CsrfConfig::default())).await;
    let browser = Browser::open(&server).await;
    let again = answer(
        browser
            .http
            .get(server.url("/token"))
            .header("cookie", browser.cookie.clone()),
    )
    .await;
    assert_eq!(again, ok(&browser.token), "one token per session");
    assert_eq!(
        answer(
            browser
                .post(&server, "/ping")
                .header("x-csrf-token", browser.token.clone())
        )
        .await,
        ok("pong")
    );
    assert_eq!(
        answer(
            browser
                .post(&server, "/transfer")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("amount=42&_csrf={}", browser.token))
        )
        .await,
        ok("sent 42")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_403_with_the_reason() {
    let server = TestServer::start(app(CsrfConfig::default())).await;
    let browser = Browser::open(&server).await;
    assert_eq!(
        answer(browser.post(&server, "/ping")).await,
        forbidden("CSRF token missing: send it in the X-CSRF-Token header or the _csrf form field")
    );
    assert_eq!(
        answer(
            browser
                .post(&server, "/ping")
                .header("x-csrf-token", "a".repeat(43))
        )
        .await,
        forbidden("CSRF token invalid")
    );
    // Another visitor's token is worth nothing in this session.
    let other = Browser::open(&server).await;
    assert_eq!(
        answer(
            browser
                .post(&server, "/ping")
                .header("x-csrf-token", other.token.clone())
        )
        .await,
        forbidden("CSRF token invalid")
    );
    // Without a session there is no token to match.
    assert_eq!(
        answer(
            reqwest::Client::new()
                .post(server.url("/ping"))
                .header("x-csrf-token", browser.token.clone())
        )
        .await,
        forbidden("CSRF token invalid")
    );
    // Safe methods are never checked.
    assert_eq!(answer(browser.http.get(server.url("/token"))).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn sec_fetch_site_refuses_cross_site_and_same_site_even_with_a_token() {
    let server = TestServer::start(app(CsrfConfig::default())).await;
    let browser = Browser::open(&server).await;
    for site in ["cross-site", "same-site"] {
        assert_eq!(
            answer(
                browser
                    .post(&server, "/ping")
                    .header("x-csrf-token", browser.token.clone())
                    .header("sec-fetch-site", site)
            )
            .await,
            forbidden(&format!(
                "cross-origin request refused: Sec-Fetch-Site is {site}"
            ))
        );
    }
    for site in ["same-origin", "none"] {
        assert_eq!(
            answer(
                browser
                    .post(&server, "/ping")
                    .header("x-csrf-token", browser.token.clone())
                    .header("sec-fetch-site", site)
                    .header("origin", "https://evil.example")
            )
            .await,
            ok("pong"),
            "Sec-Fetch-Site wins over Origin when a browser sends it"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn origin_must_be_this_host_or_trusted() {
    let server = TestServer::start(app(
        CsrfConfig::default().trusted_origin("https://admin.example")
    ))
    .await;
    let browser = Browser::open(&server).await;
    let with_origin = |origin: String| {
        browser
            .post(&server, "/ping")
            .header("x-csrf-token", browser.token.clone())
            .header("origin", origin)
    };
    assert_eq!(
        answer(with_origin("https://evil.example".into())).await,
        forbidden("cross-origin request refused: Origin https://evil.example is not this site")
    );
    assert_eq!(
        answer(with_origin("null".into())).await,
        forbidden("cross-origin request refused: Origin null is not this site")
    );
    assert_eq!(
        answer(with_origin(format!("http://{}", server.addr()))).await,
        ok("pong")
    );
    assert_eq!(
        answer(with_origin("https://admin.example".into())).await,
        ok("pong")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_form_body_is_read_within_the_body_limit() {
    let server = TestServer::start(app(CsrfConfig::default())).await;
    let browser = Browser::open(&server).await;
    let (status, body) = answer(
        browser
            .post(&server, "/transfer")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "amount=1&pad={}&_csrf={}",
                "x".repeat(2000),
                browser.token
            )),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    server.stop().await;
}
