//! `f.websocket(..)` over real loopback sockets with a real WebSocket client
//! (tokio-tungstenite): echo, identity, size limit, JSON errors, heartbeats, closing.

use std::sync::Arc;
use std::time::Duration;

use flame_actor::websocket::{
    CloseReason, WebSocketConfig, WebSocketConnection, WebSocketError, WebSocketExt,
};
use flame_actor::{WebSocketActor, WebSocketIdentity, current_actor};
use flame_core::{Context, Flame, HandlerExt};
use flame_test_support::TestServer;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &TestServer, path: &str) -> Client {
    let (client, response) = tokio_tungstenite::connect_async(server.ws_url(path))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    client
}

async fn next_text(client: &mut Client) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// Reads until the close frame; its code.
async fn close_code(client: &mut Client) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) => return 1005,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

fn echo_app(config: WebSocketConfig) -> Flame {
    let mut f = Flame::new();
    f.websocket_with(
        "/echo",
        config,
        |mut conn: WebSocketConnection| async move {
            while let Some(message) = conn.recv().await {
                match message.as_text() {
                    Some(text) => conn.send_text(format!("echo: {text}")).await?,
                    None => conn.send_text("binary").await?,
                }
            }
            Ok::<_, WebSocketError>(())
        },
    );
    f
}

#[tokio::test]
async fn echo_and_normal_close() {
    let server = TestServer::start(echo_app(WebSocketConfig::default())).await;
    let mut client = connect(&server, "/echo").await;
    client.send(Message::text("hi")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "echo: hi");
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(next_text(&mut client).await, "binary");
    client.close(None).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn the_connection_is_the_current_actor_in_its_handler() {
    let mut f = Flame::new();
    f.websocket("/who", |mut conn: WebSocketConnection| async move {
        while conn.recv().await.is_some() {
            // Across an await point, and from a plain function that has no context at hand.
            tokio::task::yield_now().await;
            let actor = current_actor();
            let conn_actor = actor.downcast_ref::<WebSocketActor>().cloned();
            let same = conn_actor.as_ref().map(WebSocketActor::connection_id)
                == Some(conn.actor().connection_id());
            let reply = serde_json::json!({
                "type": actor.actor_type(),
                "id": actor.actor_id(),
                "same": same,
                "peer": conn.actor().peer_addr().map(|a| a.ip().to_string()),
            });
            if conn.send_json(&reply).await.is_err() {
                break;
            }
        }
    });
    let server = TestServer::start(f).await;
    let mut one = connect(&server, "/who").await;
    let mut two = connect(&server, "/who").await;
    one.send(Message::text("?")).await.unwrap();
    two.send(Message::text("?")).await.unwrap();
    let a: serde_json::Value = serde_json::from_str(&next_text(&mut one).await).unwrap();
    let b: serde_json::Value = serde_json::from_str(&next_text(&mut two).await).unwrap();
    assert_eq!(a["type"], "websocket");
    assert_eq!(a["same"], true);
    assert_eq!(a["peer"], "127.0.0.1");
    assert!(a["id"].as_str().unwrap().starts_with("ws-"));
    assert_ne!(a["id"], b["id"], "connection ids are random");
    server.stop().await;
}

#[tokio::test]
async fn a_mapped_identity_is_applied_and_a_swap_is_seen_by_current_actor() {
    let mut f = Flame::new();
    f.use_(
        (|c: Context| {
            let tenant = c
                .headers()
                .get("x-tenant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            c.map(WebSocketIdentity::new(move |actor: WebSocketActor| {
                actor
                    .to_builder()
                    .metadata("tenant", tenant.clone())
                    .build()
            }));
        })
        .provides::<WebSocketIdentity>(),
    );
    f.websocket("/tenant", |mut conn: WebSocketConnection| async move {
        let before = current_actor()
            .downcast_ref::<WebSocketActor>()
            .and_then(|a| a.metadata("tenant").map(str::to_owned));
        let _ = conn
            .send_text(format!("tenant {}", before.unwrap_or_default()))
            .await;
        while let Some(message) = conn.recv().await {
            let name = message.as_text().unwrap_or_default().to_owned();
            let renamed = conn.actor().to_builder().metadata("name", name).build();
            conn.set_actor(renamed).await;
            let seen = current_actor()
                .downcast_ref::<WebSocketActor>()
                .and_then(|a| a.metadata("name").map(str::to_owned));
            let _ = conn
                .send_text(format!("name {}", seen.unwrap_or_default()))
                .await;
        }
    });
    let server = TestServer::start(f).await;
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{}/tenant",
        server.addr()
    ))
    .unwrap();
    request
        .headers_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    let (mut client, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(next_text(&mut client).await, "tenant acme");
    client.send(Message::text("ada")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "name ada");
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009() {
    let (reasons, mut reason_rx) = mpsc::unbounded_channel();
    let mut f = Flame::new();
    f.websocket_with(
        "/small",
        WebSocketConfig {
            max_message_size: 1024,
            ..WebSocketConfig::default()
        },
        move |mut conn: WebSocketConnection| {
            let reasons = reasons.clone();
            async move {
                while let Some(message) = conn.recv().await {
                    let _ = conn
                        .send_text(format!("got {}", message.as_text().map_or(0, str::len)))
                        .await;
                }
                let _ = reasons.send(conn.close_reason());
            }
        },
    );
    let server = TestServer::start(f).await;
    let mut client = connect(&server, "/small").await;
    client.send(Message::text("x".repeat(1024))).await.unwrap();
    assert_eq!(next_text(&mut client).await, "got 1024");
    client.send(Message::text("x".repeat(1025))).await.unwrap();
    assert_eq!(close_code(&mut client).await, 1009);
    assert_eq!(
        reason_rx.recv().await.unwrap(),
        Some(CloseReason::MessageTooBig)
    );

    // The same over several fragments: the whole message counts.
    let mut client = connect(&server, "/small").await;
    for (i, last) in [(0, false), (1, false), (2, true)] {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message("y".repeat(600), opcode, last);
        if client.send(Message::Frame(frame)).await.is_err() {
            break;
        }
    }
    assert_eq!(close_code(&mut client).await, 1009);
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_text_closes_with_1007() {
    let server = TestServer::start(echo_app(WebSocketConfig::default())).await;
    let mut client = connect(&server, "/echo").await;
    let frame = Frame::message(vec![0xff, 0xfe, 0x41], OpCode::Data(Data::Text), true);
    client.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(close_code(&mut client).await, 1007);
    server.stop().await;
}

#[derive(serde::Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

#[tokio::test]
async fn non_json_is_an_error_the_handler_answers_or_closes_on() {
    let mut f = Flame::new();
    // Lenient: answer with the error's code and go on.
    f.websocket("/add", |mut conn: WebSocketConnection| async move {
        while let Some(message) = conn.recv_json::<Add>().await {
            let reply = match message {
                Ok(Add { a, b }) => serde_json::json!({ "sum": a + b }),
                Err(err) => serde_json::json!({ "error": err.code() }),
            };
            conn.send_json(&reply).await?;
        }
        Ok::<_, WebSocketError>(())
    });
    // Strict: close with the error's close code.
    f.websocket("/strict", |mut conn: WebSocketConnection| async move {
        while let Some(message) = conn.recv_json::<Add>().await {
            match message {
                Ok(Add { a, b }) => conn.send_json(&serde_json::json!({ "sum": a + b })).await?,
                Err(err) => {
                    conn.close(err.close_code(), err.code()).await;
                    break;
                }
            }
        }
        Ok::<_, WebSocketError>(())
    });
    let server = TestServer::start(f).await;
    let mut client = connect(&server, "/add").await;
    for (sent, expected) in [
        (Message::text(r#"{"a":2,"b":3}"#), r#"{"sum":5}"#),
        (
            Message::text("not json"),
            r#"{"error":"malformed_message"}"#,
        ),
        (
            Message::text(r#"{"a":"two"}"#),
            r#"{"error":"malformed_message"}"#,
        ),
        (
            Message::binary(vec![0, 1]),
            r#"{"error":"unsupported_message"}"#,
        ),
        (Message::text(r#"{"a":1,"b":1}"#), r#"{"sum":2}"#),
    ] {
        client.send(sent).await.unwrap();
        assert_eq!(next_text(&mut client).await, expected);
    }

    let mut client = connect(&server, "/strict").await;
    client.send(Message::text("{")).await.unwrap();
    assert_eq!(close_code(&mut client).await, 1007);
    server.stop().await;
}

#[tokio::test]
async fn the_heartbeat_finds_a_dead_peer() {
    let (reasons, mut reason_rx) = mpsc::unbounded_channel();
    let mut f = Flame::new();
    f.websocket_with(
        "/hb",
        WebSocketConfig {
            ping_interval: Duration::from_millis(100),
            ping_timeout: Duration::from_millis(150),
            ..WebSocketConfig::default()
        },
        move |mut conn: WebSocketConnection| {
            let reasons = reasons.clone();
            async move {
                while conn.recv().await.is_some() {}
                let _ = reasons.send(conn.close_reason());
            }
        },
    );
    let server = TestServer::start(f).await;

    // A live client: tungstenite answers pings while it reads.
    let mut live = connect(&server, "/hb").await;
    let alive_for = tokio::time::timeout(Duration::from_millis(700), async {
        let mut pings = 0;
        while let Some(Ok(message)) = live.next().await {
            if message.is_ping() {
                pings += 1;
            }
        }
        pings
    })
    .await;
    assert!(alive_for.is_err(), "a live client stays connected");

    // A dead client: connected, but it never reads, so it never answers a ping.
    let dead = connect(&server, "/hb").await;
    let reason = tokio::time::timeout(Duration::from_secs(3), reason_rx.recv())
        .await
        .expect("the dead peer is found")
        .unwrap();
    assert_eq!(reason, Some(CloseReason::HeartbeatTimeout));
    drop(dead);
    drop(live);
    server.stop().await;
}

/// The one heartbeat rule of every flame WebSocket endpoint: a client that reads but never
/// answers a ping is told why it is closed (1001, `heartbeat timeout`).
#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_with_a_reason() {
    let mut f = Flame::new();
    f.websocket_with(
        "/hb",
        WebSocketConfig {
            ping_interval: Duration::from_millis(100),
            ping_timeout: Duration::from_millis(100),
            ..WebSocketConfig::default()
        },
        |mut conn: WebSocketConnection| async move { while conn.recv().await.is_some() {} },
    );
    let server = TestServer::start(f).await;
    // a raw client reads the server's frames (pings among them) and answers none
    let mut tcp = flame_test_support::raw::raw_connect(server.addr(), "/hb").await;
    let close = flame_test_support::raw::raw_read_close(&mut tcp).await;
    assert_eq!(close.code, Some(1001));
    assert_eq!(close.reason, "heartbeat timeout");
    server.stop().await;
}

#[tokio::test]
async fn a_handler_that_returns_closes_normally_and_a_custom_close_is_sent() {
    let mut f = Flame::new();
    f.websocket("/once", |conn: WebSocketConnection| async move {
        let _ = conn.send_text("bye").await;
    });
    f.websocket("/kick", |conn: WebSocketConnection| async move {
        conn.close(4000, "kicked").await;
    });
    let server = TestServer::start(f).await;
    let mut client = connect(&server, "/once").await;
    assert_eq!(next_text(&mut client).await, "bye");
    assert_eq!(close_code(&mut client).await, 1000);
    let mut client = connect(&server, "/kick").await;
    assert_eq!(close_code(&mut client).await, 4000);
    server.stop().await;
}

#[tokio::test]
async fn a_plain_request_gets_a_clear_4xx() {
    let server = TestServer::start(echo_app(WebSocketConfig::default())).await;
    let response = reqwest::get(format!("http://{}/echo", server.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = reqwest::Client::new()
        .post(format!("http://{}/echo", server.addr()))
        .send()
        .await
        .unwrap();
    // Not a GET: the route does not match (flame answers 404 like Flamego).
    assert_eq!(response.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn a_sender_pushes_from_another_task() {
    let mut f = Flame::new();
    f.websocket("/push", |mut conn: WebSocketConnection| async move {
        let sender = conn.sender();
        tokio::spawn(async move {
            for n in 0..3 {
                let _ = sender.send_json(&serde_json::json!({ "n": n })).await;
            }
        });
        while conn.recv().await.is_some() {}
    });
    let server = TestServer::start(f).await;
    let mut client = connect(&server, "/push").await;
    for n in 0..3 {
        assert_eq!(next_text(&mut client).await, format!(r#"{{"n":{n}}}"#));
    }
    server.stop().await;
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Arc<WebSocketActor>>();
}

// The raw client shared with the transport's tests; by path, because flame-test-support
// depends on this crate.
#[path = "../../flame-test-support/src/raw.rs"]
#[allow(dead_code, unreachable_pub)]
mod raw;

#[tokio::test]
async fn frames_that_break_rfc_6455_are_closed_with_1002_or_1007_and_a_reason() {
    let server = TestServer::start(echo_app(WebSocketConfig::default())).await;
    let oversized_ping = vec![b'p'; 126];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "invalid UTF-8",
            raw::client_frame(0x81, &[0xff, 0xfe]),
            1007,
        ),
        ("RSV1 set", raw::client_frame(0xc1, b"hi"), 1002),
        (
            "an unknown data opcode",
            raw::client_frame(0x83, b"x"),
            1002,
        ),
        (
            "an unknown control opcode",
            raw::client_frame(0x8b, b""),
            1002,
        ),
        ("a lone continuation", raw::client_frame(0x80, b"x"), 1002),
        (
            "a new message inside a fragmented one",
            [raw::client_frame(0x01, b"a"), raw::client_frame(0x81, b"b")].concat(),
            1002,
        ),
        (
            "a ping over 125 bytes",
            raw::client_frame(0x89, &oversized_ping),
            1002,
        ),
        ("a fragmented ping", raw::client_frame(0x09, b"p"), 1002),
        ("an unmasked frame", b"\x81\x02hi".to_vec(), 1002),
        (
            "a close frame of one byte",
            raw::client_frame(0x88, &[0x03]),
            1002,
        ),
        (
            "a close reason that is not UTF-8",
            raw::client_frame(0x88, &[0x03, 0xe8, 0xff, 0xfe]),
            1007,
        ),
    ];
    for (what, bytes, want) in cases {
        let mut tcp = raw::raw_connect(server.addr(), "/echo").await;
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &bytes)
            .await
            .unwrap();
        let close = raw::raw_read_close(&mut tcp).await;
        assert_eq!(close.code, Some(want), "{what}: {close:?}");
        assert!(!close.reason.is_empty(), "{what}: a reason");
        assert!(close.eof, "{what}: the server ends the TCP connection");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_clients_close_frame_is_echoed_then_the_server_ends_the_connection() {
    let server = TestServer::start(echo_app(WebSocketConfig::default())).await;
    for code in [1000u16, 1001, 4000] {
        let mut tcp = raw::raw_connect(server.addr(), "/echo").await;
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &raw::client_frame(0x88, &payload))
            .await
            .unwrap();
        let close = raw::raw_read_close(&mut tcp).await;
        assert_eq!(close.code, Some(code), "{close:?}");
        assert!(close.eof, "TCP ends after the echo");
    }
    server.stop().await;
}
