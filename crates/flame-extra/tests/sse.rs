//! Server-sent events over real loopback sockets: headers, events, keep-alive comments, and
//! the stream dropped when the client goes away.
#![cfg(feature = "sse")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flame_core::Flame;
use flame_extra::sse::{Event, KeepAlive, Sse};
use flame_test_support::TestServer;
use futures_util::{StreamExt as _, stream};
use tokio::sync::oneshot;

/// Sends on its channel when dropped: proof that the stream holding it is gone.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Reads the body until `needle` has arrived; what was read.
async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        assert!(seen.len() < 64 * 1024, "{needle:?} never came: {seen:?}");
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("the server sends within 20 s")
            .unwrap()
            .expect("the stream is still open");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    seen
}

#[tokio::test]
async fn events_stream_with_the_event_stream_headers() {
    let mut f = Flame::new();
    f.get("/events", || {
        Sse::new(stream::iter([
            Event::default().event("greeting").data("hello"),
            Event::default().id("2").data("line one\nline two"),
        ]))
    });
    let server = TestServer::start(f).await;
    let response = reqwest::get(server.url("/events")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    assert_eq!(
        response.text().await.unwrap(),
        "event: greeting\ndata: hello\n\nid: 2\ndata: line one\ndata: line two\n\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_quiet_stream_sends_keep_alive_comments() {
    let mut f = Flame::new();
    f.get("/quiet", || {
        Sse::new(stream::pending::<Event>()).keep_alive(
            KeepAlive::new()
                .interval(Duration::from_millis(20))
                .text("ping"),
        )
    });
    let server = TestServer::start(f).await;
    let mut response =
        tokio::time::timeout(Duration::from_secs(20), reqwest::get(server.url("/quiet")))
            .await
            .expect("the response head comes at once")
            .unwrap();
    let seen = read_until(&mut response, ": ping\n\n: ping\n\n").await;
    assert!(seen.starts_with(": ping\n\n"), "{seen:?}");
    // Graceful shutdown waits for open connections, and this stream never ends by itself.
    drop(response);
    server.stop().await;
}

#[tokio::test]
async fn the_stream_is_dropped_when_the_client_goes_away() {
    let (dropped_tx, dropped_rx) = oneshot::channel();
    let slot = Arc::new(Mutex::new(Some(dropped_tx)));
    let mut f = Flame::new();
    f.get("/live", move || {
        let signal = DropSignal(slot.lock().unwrap().take());
        let events = stream::once(async { Event::default().data("first") })
            .chain(stream::pending())
            .map(move |event| {
                let _held = &signal;
                event
            });
        Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_millis(20)))
    });
    let server = TestServer::start(f).await;
    let mut response = reqwest::get(server.url("/live")).await.unwrap();
    read_until(&mut response, "data: first\n\n").await;
    drop(response); // the client goes away mid-stream
    tokio::time::timeout(Duration::from_secs(20), dropped_rx)
        .await
        .expect("the server notices the closed connection")
        .expect("the stream was dropped, not leaked");
    server.stop().await;
}
