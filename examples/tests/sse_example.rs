//! The sse example over a real socket: the countdown's events, in order, then the end.

mod common;

use std::time::Duration;

use common::TestServer;

#[allow(dead_code)]
#[path = "../sse.rs"]
mod sse;

#[tokio::test]
async fn the_countdown_streams_its_ticks_then_done() {
    let server = TestServer::start(sse::app(Duration::from_millis(1))).await;
    let response = reqwest::get(server.url("/countdown?from=2")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(
        response.text().await.unwrap(),
        "event: tick\ndata: 2\n\nevent: tick\ndata: 1\n\nevent: done\ndata: liftoff\n\n"
    );
    server.stop().await;
}
