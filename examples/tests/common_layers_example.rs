//! The common_layers example over a real socket: a CORS preflight with a request id, a
//! brotli-compressed report, a handler reading the request id, and a 408.

mod common;

use std::time::Duration;

use common::TestServer;

#[allow(dead_code)]
#[path = "../common_layers.rs"]
mod common_layers;

#[tokio::test]
async fn the_layers_answer_a_preflight_compress_and_time_out() {
    let server = TestServer::start(common_layers::app(Duration::from_millis(50))).await;
    let client = reqwest::Client::new();

    let preflight = client
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
    assert!(preflight.headers().contains_key("x-request-id"));

    let report = client
        .get(server.url("/api/report"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(report.headers()["content-encoding"], "br");
    assert!(report.bytes().await.unwrap().len() < "report line\n".len() * 200 / 4);

    let whoami = client
        .get(server.url("/api/whoami"))
        .header("x-request-id", "req-7")
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.headers()["x-request-id"], "req-7");
    assert_eq!(whoami.text().await.unwrap(), "req-7");

    let slow = client.get(server.url("/api/slow")).send().await.unwrap();
    assert_eq!(slow.status(), 408);
    assert!(slow.headers().contains_key("x-request-id"));
    server.stop().await;
}
