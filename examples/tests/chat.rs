//! The `chat` example over real sockets: a signed-in member (flame-auth session token on the
//! upgrade request) and a guest (a name in the params) talk in one room.

mod common;

use std::time::Duration;

use common::TestServer;
use common::browser::{Browser, chromium_or_skip};
use flame_auth::User;
use flame_auth::session::SessionStore;
use flame_client::ActorClient;
use flame_protocol::{ClientMessage, ServerMessage};
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
    let mut request = format!("ws://{}/actors/room/lobby", server.addr())
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
        &format!("ws://{}", server.addr()),
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
    let err = ActorClient::connect(&format!("ws://{}", server.addr()), "room", "lobby", ())
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
            &format!("ws://{}", server.addr()),
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

/// The chat app on a fresh data directory (kept while the test runs), served on loopback.
async fn serve_chat() -> (tempfile::TempDir, flame_stateful::ActorSystem, TestServer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system) = chat::app(dir.path(), SessionStore::in_memory())
        .await
        .expect("app");
    (dir, system, TestServer::start(f).await)
}

#[tokio::test]
async fn the_page_talks_in_headless_chromium() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let (_dir, system, server) = serve_chat().await;
    let ws = format!("ws://{}", server.addr());

    // bob is in the room before the page, and says something
    let bob = ActorClient::connect(&ws, "room", "lobby", json!({"name": "bob"}))
        .await
        .expect("bob connects");
    let mut heard = bob.on("message");
    assert_eq!(bob.call::<usize>("send", ("before the page",)).await, Ok(1));
    assert_eq!(
        within(heard.recv()).await,
        Some(json!({"from": "bob (guest)", "text": "before the page"}))
    );

    let url = server.url("/chat.html?name=ada&room=lobby");
    let browser = Browser::start(&binary, &url);
    let mut page = browser.page(&url).await;
    let status = "document.getElementById('status').textContent";
    let members = "document.getElementById('members').textContent";
    let lines = "[...document.querySelectorAll('#messages li')].map((li) => li.textContent)";
    page.wait_for(status, &json!("open")).await;
    // the history, once, and who is here
    page.wait_for(lines, &json!(["bob (guest)before the page"]))
        .await;
    page.wait_for(members, &json!("ada (guest), bob (guest)"))
        .await;

    // the page sends: bob hears it
    page.eval(
        "document.getElementById('text').value = 'hi from the page'; \
         document.getElementById('send-button').click(); true",
    )
    .await;
    assert_eq!(
        within(heard.recv()).await,
        Some(json!({"from": "ada (guest)", "text": "hi from the page"}))
    );
    page.wait_for("document.getElementById('text').value", &json!(""))
        .await;

    // bob sends markup: the page shows it as text
    assert_eq!(bob.call::<usize>("send", ("<b>not bold</b>",)).await, Ok(3));
    page.wait_for(
        lines,
        &json!([
            "bob (guest)before the page",
            "ada (guest)hi from the page",
            "bob (guest)<b>not bold</b>"
        ]),
    )
    .await;
    assert_eq!(
        page.eval("document.querySelectorAll('#messages li:last-child b').length")
            .await,
        json!(1),
        "only the sender's name is bold"
    );

    // bob leaves: the page says so and updates who is here
    bob.close().await;
    page.wait_for(members, &json!("ada (guest)")).await;
    page.wait_for(
        "document.querySelector('#messages li:last-child').textContent",
        &json!("bob (guest) left"),
    )
    .await;

    drop(page);
    drop(browser);
    system.shutdown().await;
    server.stop().await;
}

/// The JavaScript client subscribes again before it reports "open": a page that reads the
/// state on "open" (as the chat and counter pages do) then misses no event in between.
/// Checked on the wire, with a bare WebSocket server standing in for the actor.
#[tokio::test]
async fn the_js_client_subscribes_before_it_reports_open() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let (_dir, system, server) = serve_chat().await;
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare_addr = bare.local_addr().expect("addr");
    let wire = tokio::spawn(async move {
        let (stream, _) = bare.accept().await.expect("the page connects");
        let mut socket = tokio_tungstenite::accept_async(stream)
            .await
            .expect("handshake");
        let init = ServerMessage::Init { conn_id: 7 }.encode();
        socket.send(Message::text(init)).await.expect("init");
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    seen.push(
                        ClientMessage::decode(text.as_str(), 64 * 1024)
                            .expect("a protocol message"),
                    );
                }
                Some(Ok(_)) => {}
                other => panic!("the page's socket ended: {other:?}"),
            }
        }
        seen
    });

    let url = server.url("/chat.html?name=ada");
    let browser = Browser::start(&binary, &url);
    let mut page = browser.page(&url).await;
    page.wait_for(
        "document.getElementById('status').textContent",
        &json!("open"),
    )
    .await;
    let script = format!(
        "(async () => {{ \
           const {{ connect }} = await import('/actors/client.js'); \
           const conn = connect('ws://{bare_addr}', 'room', 'x', {{}}); \
           conn.on('message', () => {{}}); \
           conn.onStatus((status) => {{ if (status === 'open') conn.call('history'); }}); \
           return true; \
         }})()"
    );
    assert_eq!(page.eval(&script).await, json!(true));
    let seen = within(wire).await.expect("the bare server");
    assert!(
        matches!(&seen[0], ClientMessage::Subscribe { event } if event == "message"),
        "the subscription first: {seen:?}"
    );
    assert!(
        matches!(&seen[1], ClientMessage::Rpc { method, .. } if method == "history"),
        "then the call made on open: {seen:?}"
    );

    drop(page);
    drop(browser);
    system.shutdown().await;
    server.stop().await;
}

/// Connection params the server cannot read at all (a request target over hyper's 64 KiB,
/// answered with a bare 414 before the handshake) are refused by the JavaScript client
/// itself with `params_too_long`, the code the server gives params over its own limit.
#[tokio::test]
async fn the_js_client_refuses_params_the_server_could_not_read() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let (_dir, system, server) = serve_chat().await;
    let url = server.url("/chat.html?name=ada");
    let browser = Browser::start(&binary, &url);
    let mut page = browser.page(&url).await;
    page.wait_for(
        "document.getElementById('status').textContent",
        &json!("open"),
    )
    .await;
    let refusal = |length: usize| {
        format!(
            "(async () => {{ \
               const {{ connect }} = await import('/actors/client.js'); \
               const conn = connect('', 'room', 'big', {{ name: 'x'.repeat({length}) }}); \
               try {{ await conn.ready; return 'connected'; }} catch (e) {{ return e.code; }} \
             }})()"
        )
    };
    // over the server's `max_params_size`: the server refuses it
    assert_eq!(
        page.eval(&refusal(10 * 1024)).await,
        json!("params_too_long")
    );
    // over what the server can read: the client refuses it, with the same code
    assert_eq!(
        page.eval(&refusal(70 * 1024)).await,
        json!("params_too_long")
    );

    drop(page);
    drop(browser);
    system.shutdown().await;
    server.stop().await;
}
