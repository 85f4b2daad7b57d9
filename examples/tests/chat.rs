//! The `chat` example over real sockets: a signed-in member (flame-auth session token on the
//! upgrade request) and a guest (a name in the params) talk in one room.

mod common;

use std::time::Duration;

use common::TestServer;
use flame_actor::client::ActorClient;
use flame_actor::protocol::ServerMessage;
use flame_auth::User;
use flame_auth::session::SessionStore;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[allow(dead_code)]
#[path = "../chat.rs"]
mod chat;

const HANG: Duration = Duration::from_secs(30);

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future).await.expect("no hang")
}

#[tokio::test]
async fn members_and_guests_talk_in_a_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sessions = SessionStore::in_memory();
    let token = sessions
        .create(User::new("u1", "ada"))
        .await
        .expect("session")
        .into_token();
    let (f, system) = chat::app(dir.path(), sessions).await.expect("app");
    let server = TestServer::start(f).await;

    // ada signs in with her session token on the upgrade request
    let mut request = format!("ws://{}/actors/room/lobby", server.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut ada, _) = within(tokio_tungstenite::connect_async(request))
        .await
        .expect("ada connects");
    let next = |text: Option<Result<Message, _>>| match text {
        Some(Ok(Message::Text(text))) => ServerMessage::decode(text.as_str()).expect("decodes"),
        other => panic!("expected a message, got {other:?}"),
    };
    assert!(matches!(
        next(within(ada.next()).await),
        ServerMessage::Init { .. }
    ));
    for event in ["joined", "message", "left"] {
        let msg = json!({"v": 1, "type": "subscribe", "event": event}).to_string();
        ada.send(Message::text(msg)).await.expect("subscribe");
    }

    // bob is a guest, through the Rust client
    let bob = ActorClient::connect(
        &format!("ws://{}", server.addr),
        "room",
        "lobby",
        json!({"name": "bob"}),
    )
    .await
    .expect("bob connects");
    assert_eq!(
        next(within(ada.next()).await),
        ServerMessage::Event {
            event: "joined".into(),
            payload: json!("bob (guest)")
        }
    );
    let members: Vec<String> = bob.call("members", ()).await.expect("members");
    assert_eq!(members, ["ada", "bob (guest)"]);
    assert_eq!(bob.call::<usize>("send", ("hello",)).await, Ok(1));
    assert_eq!(
        next(within(ada.next()).await),
        ServerMessage::Event {
            event: "message".into(),
            payload: json!({"from": "bob (guest)", "text": "hello"})
        }
    );
    let err = bob.call::<usize>("send", ("   ",)).await.unwrap_err();
    assert_eq!(err.code(), Some("chat.bad_message"));

    // nameless guests are refused
    let err = ActorClient::connect(&format!("ws://{}", server.addr), "room", "lobby", ())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"));

    bob.close().await;
    assert_eq!(
        next(within(ada.next()).await),
        ServerMessage::Event {
            event: "left".into(),
            payload: json!("bob (guest)")
        }
    );
    let history: Vec<chat::ChatMessage> = {
        let again = ActorClient::connect(
            &format!("ws://{}", server.addr),
            "room",
            "lobby",
            json!({"name": "eve"}),
        )
        .await
        .expect("eve connects");
        let history = again.call("history", ()).await.expect("history");
        again.close().await;
        history
    };
    assert_eq!(
        history,
        [chat::ChatMessage {
            from: "bob (guest)".into(),
            text: "hello".into()
        }]
    );
    ada.close(None).await.expect("close");
    system.shutdown().await;
    server.stop().await;
}
