//! WebSocket upgrades from a handler, with a real WebSocket client on loopback.

use flame_core::websocket::Message;
use flame_core::{Axum, Context, Flame, HttpError};
use flame_test_support::TestServer;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;

#[tokio::test]
async fn a_handler_upgrades_and_echoes() {
    let mut f = Flame::new();
    f.use_(|c: Context| c.map(String::from("mapped before the upgrade")));
    f.get("/echo", |c: Context, note: String| async move {
        let upgrade = c.websocket_upgrade().await?;
        Ok::<_, HttpError>(Axum(upgrade.on_upgrade(move |mut socket| async move {
            let _ = socket.send(Message::Text(note.into())).await;
            while let Some(Ok(Message::Text(text))) = socket.recv().await {
                if socket
                    .send(Message::Text(format!("echo: {text}").into()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })))
    });
    let server = TestServer::start(f).await;

    let (mut socket, response) = tokio_tungstenite::connect_async(server.ws_url("/echo"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        tungstenite::Message::text("mapped before the upgrade")
    );
    socket.send(tungstenite::Message::text("hi")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        tungstenite::Message::text("echo: hi")
    );
    socket.close(None).await.unwrap();

    // A plain GET to the same route is not a handshake: a clear 4xx, not a panic.
    let response = reqwest::get(server.url("/echo")).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Connection header did not include 'upgrade'")
    );
    server.stop().await;
}

/// Without settings of its own an upgrade takes messages up to 64 KiB: one byte more fails
/// the server's read and ends the connection (axum alone would take 64 MiB).
#[tokio::test]
async fn messages_over_the_default_limit_end_the_connection() {
    let mut f = Flame::new();
    f.get("/echo", |c: Context| async move {
        let upgrade = c.websocket_upgrade().await?;
        Ok::<_, HttpError>(Axum(upgrade.on_upgrade(|mut socket| async move {
            while let Some(Ok(Message::Text(text))) = socket.recv().await {
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
        })))
    });
    let server = TestServer::start(f).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(server.ws_url("/echo"))
        .await
        .unwrap();
    let largest = "a".repeat(flame_core::websocket::DEFAULT_MAX_MESSAGE_SIZE);
    socket
        .send(tungstenite::Message::text(largest.clone()))
        .await
        .unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        tungstenite::Message::text(largest.clone())
    );
    socket
        .send(tungstenite::Message::text(largest + "a"))
        .await
        .unwrap();
    match socket.next().await {
        None | Some(Err(_) | Ok(tungstenite::Message::Close(_))) => {}
        Some(Ok(other)) => panic!("the oversized message was read: {other:?}"),
    }
    server.stop().await;
}
