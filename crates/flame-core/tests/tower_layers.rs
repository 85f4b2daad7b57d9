//! tower-http layers around a flame app, over a real loopback socket: CORS preflight, gzip,
//! timeout, request id, and the order against flame middleware.

use std::io::Read;
use std::time::Duration;

use flame_core::{Context, Flame, StatusCode};
use flame_test_support::TestServer;
use http::{HeaderName, HeaderValue, Method};
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

#[tokio::test]
async fn a_cors_layer_answers_the_preflight_before_routing() {
    let mut f = Flame::new();
    f.layer(
        CorsLayer::new()
            .allow_origin(HeaderValue::from_static("https://app.example"))
            .allow_methods([Method::GET, Method::POST]),
    );
    f.post("/api/items", || "created");
    let server = TestServer::start(f).await;
    // No OPTIONS route exists: the layer answers it.
    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.url("/api/items"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET,POST"
    );
    assert_eq!(preflight.text().await.unwrap(), "");
    let actual = client()
        .post(server.url("/api/items"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(actual.text().await.unwrap(), "created");
    server.stop().await;
}

#[tokio::test]
async fn a_compression_layer_gzips_every_answer() {
    let mut f = Flame::new();
    f.layer(CompressionLayer::new());
    let text = "flame ".repeat(200);
    let body = text.clone();
    f.get("/text", move || body.clone());
    let server = TestServer::start(f).await;
    let response = client()
        .get(server.url("/text"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap();
    assert!(compressed.len() < text.len());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, text);
    // Without Accept-Encoding, the body is as written.
    let response = client().get(server.url("/text")).send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.text().await.unwrap(), text);
    server.stop().await;
}

#[tokio::test]
async fn a_timeout_layer_answers_408_for_a_slow_chain() {
    let mut f = Flame::new();
    f.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(50),
    ));
    f.get("/slow", || async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "too late"
    });
    f.get("/fast", || "fast");
    let server = TestServer::start(f).await;
    assert_eq!(server.get("/slow").await, (408, String::new()));
    assert_eq!(server.get("/fast").await, (200, "fast".into()));
    server.stop().await;
}

#[tokio::test]
async fn layers_run_first_in_the_order_added_and_flame_middleware_sees_their_work() {
    let x_request_id = HeaderName::from_static("x-request-id");
    let mut f = Flame::new();
    // Added first, so outermost: it sets the id, the propagate layer copies it back out.
    f.layer(SetRequestIdLayer::new(
        x_request_id.clone(),
        MakeRequestUuid,
    ));
    f.layer(PropagateRequestIdLayer::new(x_request_id));
    // A flame middleware runs inside the layers: the id is already on the request.
    f.use_(|c: Context| {
        let id = c
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        c.map(RequestId(id));
    });
    f.get("/id", |id: RequestId| id.0);
    let server = TestServer::start(f).await;
    let response = client().get(server.url("/id")).send().await.unwrap();
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(header.len(), 36, "a UUID: {header}");
    assert_eq!(body, header, "the middleware saw the layer's id");
    // A client's own id is kept, and the not-found answer goes through the layers too.
    let response = client()
        .get(server.url("/nowhere"))
        .header("x-request-id", "mine")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "mine");
    server.stop().await;
}

#[derive(Clone)]
struct RequestId(String);

#[tokio::test]
async fn the_peer_address_reaches_handlers_under_layers() {
    let mut f = Flame::new();
    f.layer(CompressionLayer::new());
    f.get("/ip", |c: Context| c.remote_addr());
    let server = TestServer::start(f).await;
    assert_eq!(server.get("/ip").await, (200, "127.0.0.1".into()));
    server.stop().await;
}

/// Records the order things run in, and the status the middleware saw after `next()`.
#[derive(Clone, Default)]
struct Trace(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn group_and_route_layers_run_at_their_place_in_the_chain() {
    let trace = Trace::default();
    let mut f = Flame::new();
    f.map(trace.clone());
    f.use_(|c: Context, t: Trace| async move {
        t.push("global before");
        c.next().await;
        t.push(format!("global after {}", c.response_writer().status()));
    });
    f.group(
        "/api",
        |f| {
            f.get("/slow", |t: Trace| async move {
                t.push("handler");
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            })
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(50),
            ));
            f.get("/big", |c: Context, t: Trace| {
                t.push(format!(
                    "handler sees id {}",
                    c.headers().get("x-request-id").is_some()
                ));
                "flame ".repeat(200)
            })
            .layer(CompressionLayer::new());
        },
        (
            |t: Trace| t.push("group middleware"),
            flame_core::tower_layer(
                CorsLayer::new().allow_origin(HeaderValue::from_static("https://app.example")),
            ),
            flame_core::tower_layer(SetRequestIdLayer::new(
                HeaderName::from_static("x-request-id"),
                MakeRequestUuid,
            )),
        ),
    );
    f.get("/plain", || "flame ".repeat(200));
    let server = TestServer::start(f).await;

    // A route's timeout answers 408, and the global middleware outside it sees the 408.
    assert_eq!(server.get("/api/slow").await, (408, String::new()));
    assert_eq!(
        trace.take(),
        [
            "global before",
            "group middleware",
            "handler",
            "global after 408 Request Timeout"
        ]
    );

    // Group layers (CORS, request id) then the route's compression; the handler sees the
    // request id the group's layer set.
    let response = client()
        .get(server.url("/api/big"))
        .header("origin", "https://app.example")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&response.bytes().await.unwrap()[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "flame ".repeat(200));
    assert_eq!(
        trace.take(),
        [
            "global before",
            "group middleware",
            "handler sees id true",
            "global after 200 OK"
        ]
    );

    // Outside the group nothing of it applies.
    let response = client()
        .get(server.url("/plain"))
        .header("origin", "https://app.example")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(response.text().await.unwrap(), "flame ".repeat(200));
    server.stop().await;
}

#[tokio::test]
async fn a_layer_in_the_chain_keeps_request_values_and_headers_set_before_it() {
    let mut f = Flame::new();
    f.use_(|c: Context| {
        c.map(RequestId("mapped before".into()));
        c.response_writer()
            .headers_mut()
            .insert("x-before", HeaderValue::from_static("1"));
    });
    f.get("/", |id: RequestId| id.0)
        .layer(CompressionLayer::new());
    let server = TestServer::start(f).await;
    let response = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.headers()["x-before"], "1");
    assert_eq!(response.text().await.unwrap(), "mapped before");
    server.stop().await;
}

/// `g.layer(l)` inside a group's closure layers that group's routes, not the whole app.
#[tokio::test]
async fn a_layer_added_inside_a_group_layers_only_that_group() {
    let mut f = Flame::new();
    f.group(
        "/api",
        |g| {
            g.layer(CorsLayer::new().allow_origin(HeaderValue::from_static("https://app.example")));
            g.get("/items", || "items");
        },
        (),
    );
    f.get("/plain", || "plain");
    let server = TestServer::start(f).await;
    let grouped = client()
        .get(server.url("/api/items"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        grouped.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(grouped.text().await.unwrap(), "items");
    let outside = client()
        .get(server.url("/plain"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(
        outside
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "the group's layer ran outside it"
    );
    assert_eq!(outside.text().await.unwrap(), "plain");
    server.stop().await;
}
