//! The common tower-http layers over real loopback sockets: brotli and gzip chosen by
//! `Accept-Encoding`, a CORS preflight and a simple cross-origin request, the request id
//! round trip, and a 408 past the deadline.
#![cfg(all(
    feature = "cors",
    feature = "compression",
    feature = "request-id",
    feature = "timeout"
))]

use std::io::Read as _;
use std::time::Duration;

use flame_core::{Context, Flame};
use flame_extra::{compression, cors, request_id, timeout};
use flame_test_support::TestServer;

const REPORT: &str = "report line, compressible because it repeats\n";

fn report_app() -> Flame {
    let mut f = Flame::new();
    f.layer(compression::gzip_and_brotli());
    f.get("/report", || REPORT.repeat(100));
    f
}

/// GETs `/report` with `accept-encoding`; the `content-encoding` and the raw body.
async fn report(server: &TestServer, accept_encoding: &str) -> (Option<String>, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(server.url("/report"))
        .header("accept-encoding", accept_encoding)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["vary"], "accept-encoding");
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    (encoding, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn brotli_or_gzip_is_chosen_by_accept_encoding() {
    let server = TestServer::start(report_app()).await;
    let expected = REPORT.repeat(100);

    let (encoding, body) = report(&server, "br").await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert!(body.len() < expected.len() / 4);
    let mut text = String::new();
    brotli::Decompressor::new(&body[..], 4096)
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, expected);

    let (encoding, body) = report(&server, "gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, expected);

    // The weights decide; brotli wins a tie.
    assert_eq!(
        report(&server, "gzip;q=1, br;q=0.5").await.0.as_deref(),
        Some("gzip")
    );
    assert_eq!(report(&server, "gzip, br").await.0.as_deref(), Some("br"));
    // Nothing the layer offers: the body as it is.
    let (encoding, body) = report(&server, "deflate").await;
    assert_eq!(encoding, None);
    assert_eq!(body, expected.as_bytes());
    server.stop().await;
}

fn cors_app() -> Flame {
    let mut f = Flame::new();
    f.layer(cors::new(cors::Options {
        scheme: "https".into(),
        allow_domain: vec!["app.example".into()],
        allow_credentials: true,
        methods: vec![http::Method::GET, http::Method::POST],
        ..cors::Options::default()
    }));
    f.post("/items", || "created");
    f
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_without_a_route() {
    let server = TestServer::start(cors_app()).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, server.url("/items"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-custom")
            .send()
    };

    let response = preflight("https://app.example").await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(headers["access-control-allow-methods"], "GET,POST");
    assert_eq!(headers["access-control-allow-headers"], "x-custom");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-max-age"], "600");

    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_cross_origin_request_gets_the_allow_headers_on_its_answer() {
    let server = TestServer::start(cors_app()).await;
    let response = reqwest::Client::new()
        .post(server.url("/items"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(response.text().await.unwrap(), "created");
    server.stop().await;
}

#[tokio::test]
async fn permissive_allows_any_origin() {
    let mut f = Flame::new();
    f.layer(cors::permissive());
    f.get("/", || "hello");
    let server = TestServer::start(f).await;
    let response = reqwest::Client::new()
        .get(server.url("/"))
        .header("origin", "http://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    server.stop().await;
}

#[tokio::test]
async fn the_request_id_is_made_or_kept_and_sent_back() {
    let mut f = Flame::new();
    f.layer(request_id::x_request_id());
    f.get("/", |c: Context| request_id::get(&c).unwrap_or_default());
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    let response = client
        .get(server.url("/"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    assert_eq!(response.text().await.unwrap(), "abc-123");

    let response = client.get(server.url("/")).send().await.unwrap();
    let made = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    assert_eq!(response.text().await.unwrap(), made);
    server.stop().await;
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_408() {
    let mut f = Flame::new();
    f.get("/slow", || async {
        tokio::time::sleep(Duration::from_secs(600)).await;
        "too late"
    })
    .layer(timeout::request_timeout(Duration::from_millis(50)));
    f.get("/fast", || "on time")
        .layer(timeout::request_timeout(Duration::from_secs(60)));
    let server = TestServer::start(f).await;

    let slow = reqwest::get(server.url("/slow")).await.unwrap();
    assert_eq!(slow.status(), 408);
    assert_eq!(slow.text().await.unwrap(), "");
    let fast = reqwest::get(server.url("/fast")).await.unwrap();
    assert_eq!(fast.status(), 200);
    assert_eq!(fast.text().await.unwrap(), "on time");
    server.stop().await;
}
