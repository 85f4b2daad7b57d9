//! The WebSocket and HTTP transport over real loopback sockets, with a real WebSocket client.

use flame_test_support as common;

use std::sync::Arc;
use std::time::Duration;

use common::net::{
    Server, connect_counter, eventually, recv, recv_close_frame, recv_frame, send, ws_connect,
};
use common::{Log, memory_system};
use flame_actor::websocket::WebSocketConfig;
use flame_actor::{Actor, ActorContext, ContextActorExt, WebSocketActor, WebSocketIdentity};
use flame_core::Context;
use flame_protocol::ServerMessage;
use flame_stateful::store::MemoryStore;
use flame_stateful::transport::TransportConfig;
use flame_stateful::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

fn rpc(id: u64, method: &str, args: Value) -> String {
    json!({"v": 1, "type": "rpc", "id": id, "method": method, "args": args}).to_string()
}

fn rpc_ok(id: u64, output: impl Into<Value>) -> ServerMessage {
    ServerMessage::RpcOk {
        id,
        output: output.into(),
    }
}

#[track_caller]
fn assert_rpc_error(msg: &ServerMessage, want_id: u64, want_code: &str) {
    match msg {
        ServerMessage::RpcError { id, code, .. } => {
            assert_eq!((*id, code.as_str()), (want_id, want_code), "{msg:?}");
        }
        other => panic!("expected rpc_error {want_code}, got {other:?}"),
    }
}

#[track_caller]
fn assert_error(msg: &ServerMessage, want_code: &str) {
    match msg {
        ServerMessage::Error { code, .. } => assert_eq!(code, want_code, "{msg:?}"),
        other => panic!("expected error {want_code}, got {other:?}"),
    }
}

async fn expect_close(ws: &mut common::net::Ws, want_code: &str, want_frame: u16) {
    match recv(ws).await {
        ServerMessage::Close { code, .. } => assert_eq!(code, want_code),
        other => panic!("expected close {want_code}, got {other:?}"),
    }
    let frame = recv_close_frame(ws).await;
    assert_eq!(u16::from(frame.code), want_frame);
    assert_eq!(frame.reason.as_str(), want_code);
}

async fn counter_server(log: &Log) -> (ActorSystem, Server) {
    let system = memory_system(log).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    (system, server)
}

#[tokio::test]
async fn websocket_rpc_round_trip() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let (mut ws, conn_id) = connect_counter(&server, "a", "ada").await;
    send(&mut ws, &rpc(1, "increment", json!([2]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, 2));
    send(&mut ws, &rpc(2, "whoami", json!([]))).await;
    assert_eq!(
        recv(&mut ws).await,
        rpc_ok(2, json!(["websocket", conn_id, "ada"]))
    );
    send(&mut ws, &rpc(3, "echo", json!(["x"]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(3, json!(["x", null])));
    assert_eq!(server.transport.open_connections(), 1);
    ws.close(None).await.expect("close");
    eventually(|| log.count("disconnect:ada") == 1).await;
    eventually(|| server.transport.open_connections() == 0).await;
    system.shutdown().await;
    assert_eq!(log.count("disconnect:"), 1);
    server.stop().await;
}

#[tokio::test]
async fn refused_connections_reach_the_client_with_their_code() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;

    let mut ws = ws_connect(&server.ws_url("counter", "a", Some(r#"{"token":"bad"}"#))).await;
    expect_close(&mut ws, "unauthorized", 1008).await;

    let mut ws = ws_connect(&server.ws_url("nope", "a", None)).await;
    expect_close(&mut ws, "actor_not_found", 1008).await;

    let mut ws = ws_connect(&server.ws_url("counter", "a", Some("{not json"))).await;
    expect_close(&mut ws, "invalid_params", 1008).await;

    let long = format!(r#"{{"token":"{}"}}"#, "x".repeat(5000));
    let mut ws = ws_connect(&server.ws_url("counter", "a", Some(&long))).await;
    expect_close(&mut ws, "params_too_long", 1008).await;

    // Past the request target the HTTP server reads at all (hyper's 64 KiB), the protocol
    // never sees the request: a raw client gets a bare 414 (flame's clients refuse such
    // params themselves, with `params_too_long`).
    // (HTTP clients such as reqwest refuse to send such a URI at all: a raw request)
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET /actors/counter/a?params={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "x".repeat(70 * 1024)
    );
    tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes())
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut answer).await;
    let status_line = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
    assert!(status_line.starts_with("HTTP/1.1 414"), "{status_line}");

    let mut ws =
        ws_connect(&server.ws_url("counter", "a", Some(r#"{"token":"fail-connect"}"#))).await;
    expect_close(&mut ws, "test.refused", 1008).await;

    assert_eq!(log.count("before_connect:bad"), 1);
    assert_eq!(log.count("before_connect:x"), 0, "never reached the actor");
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn broadcasts_reach_only_subscribed_connections() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let (mut a, _) = connect_counter(&server, "room", "a").await;
    let (mut b, _) = connect_counter(&server, "room", "b").await;
    send(&mut a, r#"{"v":1,"type":"subscribe","event":"count"}"#).await;
    send(&mut a, &rpc(1, "increment", json!([5]))).await;
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::Event {
            event: "count".into(),
            payload: 5.into()
        }
    );
    assert_eq!(recv(&mut a).await, rpc_ok(1, 5));
    // b is not subscribed: its next message is the answer to its own call
    send(&mut b, &rpc(7, "get", json!([]))).await;
    assert_eq!(recv(&mut b).await, rpc_ok(7, 5));

    // unsubscribed, a gets no more events
    send(&mut a, r#"{"v":1,"type":"unsubscribe","event":"count"}"#).await;
    send(&mut b, &rpc(8, "increment", json!([1]))).await;
    assert_eq!(recv(&mut b).await, rpc_ok(8, 6));
    send(&mut a, &rpc(2, "get", json!([]))).await;
    assert_eq!(recv(&mut a).await, rpc_ok(2, 6));
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_stable_codes_and_never_kills_the_server() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let config = TransportConfig {
        websocket: WebSocketConfig {
            max_message_size: 128 * 1024,
            ..TransportConfig::default().websocket
        },
        ..TransportConfig::default()
    };
    let server = Server::start(system.clone(), config).await;
    let (mut ws, _) = connect_counter(&server, "a", "ada").await;

    send(&mut ws, "not json at all").await;
    assert_error(&recv(&mut ws).await, "malformed_message");
    send(&mut ws, r#"{"v":1,"type":"rpc","id":5,"method":"get""#).await;
    assert_error(&recv(&mut ws).await, "malformed_message");
    send(&mut ws, r#"{"v":1,"type":"rpc","id":6}"#).await;
    assert_rpc_error(&recv(&mut ws).await, 6, "malformed_message");
    send(&mut ws, r#"{"v":2,"type":"rpc","id":7,"method":"get"}"#).await;
    assert_rpc_error(&recv(&mut ws).await, 7, "unsupported_version");
    ws.send(Message::binary(vec![1, 2, 3])).await.expect("send");
    assert_error(&recv(&mut ws).await, "malformed_message");
    // over the 64 KiB message limit, under the frame limit: answered, connection kept
    let big = rpc(8, "echo", json!(["x".repeat(70 * 1024)]));
    send(&mut ws, &big).await;
    assert_error(&recv(&mut ws).await, "message_too_long");
    send(&mut ws, &rpc(9, "nope", json!([]))).await;
    assert_rpc_error(&recv(&mut ws).await, 9, "action_not_found");
    send(&mut ws, &rpc(10, "increment", json!(["two"]))).await;
    assert_rpc_error(&recv(&mut ws).await, 10, "invalid_arguments");
    send(&mut ws, &rpc(11, "internal_failure", json!([]))).await;
    let msg = recv(&mut ws).await;
    assert_rpc_error(&msg, 11, "internal_error");
    assert!(
        !format!("{msg:?}").contains("secret"),
        "details stay in the log"
    );
    send(&mut ws, &rpc(12, "get", json!([]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(12, 0), "still connected");

    // over the frame limit: a `close` with message_too_long, then the connection ends (a
    // close frame 1009, or a reset since the server never reads the rest of the frame)
    let huge = "y".repeat(200 * 1024);
    let _ = ws.send(Message::text(huge)).await;
    match recv(&mut ws).await {
        ServerMessage::Close { code, .. } => assert_eq!(code, "message_too_long"),
        other => panic!("expected close, got {other:?}"),
    }
    match recv_frame(&mut ws).await {
        None => {}
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected the end, got {other:?}"),
    }
    eventually(|| log.count("disconnect:ada") == 1).await;

    // the server is fine
    let (mut ws, _) = connect_counter(&server, "a", "bob").await;
    send(&mut ws, &rpc(1, "get", json!([]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, 0));
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_and_destroy_close_with_a_reason() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let (mut a, _) = connect_counter(&server, "doomed", "a").await;
    let (mut b, _) = connect_counter(&server, "other", "b").await;

    system.destroy("counter", "doomed").await.expect("destroy");
    expect_close(&mut a, "actor_destroyed", 1000).await;
    let mut again = ws_connect(&server.ws_url("counter", "doomed", Some(r#"{"token":"c"}"#))).await;
    expect_close(&mut again, "actor_destroyed", 1000).await;
    let client = reqwest::Client::new();
    let response = client
        .post(server.http_url("/actors/counter/doomed/rpc/get"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 410);

    system.shutdown().await;
    expect_close(&mut b, "unavailable", 1001).await;
    assert_eq!(log.count("disconnect:b"), 1);
    let mut late = ws_connect(&server.ws_url("counter", "other", Some(r#"{"token":"c"}"#))).await;
    expect_close(&mut late, "unavailable", 1001).await;
    let response = client
        .post(server.http_url("/actors/counter/other/rpc/get"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "unavailable");
    server.stop().await;
}

#[tokio::test]
async fn heartbeats_find_a_dead_peer_and_on_disconnect_runs_once() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let config = TransportConfig {
        websocket: WebSocketConfig {
            ping_interval: Duration::from_millis(100),
            ping_timeout: Duration::from_millis(400),
            ..TransportConfig::default().websocket
        },
        ..TransportConfig::default()
    };
    let server = Server::start(system.clone(), config).await;

    // a live client, read all the time (so it answers every ping), across many intervals
    let (live, _) = connect_counter(&server, "a", "live").await;
    let (mut live_tx, mut live_rx) = futures_util::StreamExt::split(live);
    let (msgs, mut live_msgs) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(Ok(frame)) = futures_util::StreamExt::next(&mut live_rx).await {
            if let Message::Text(text) = frame {
                let _ = msgs.send(ServerMessage::decode(text.as_str()).expect("decodes"));
            }
        }
    });
    // a dead one: connected, then never reads again (so never answers a ping)
    let (dead, _) = connect_counter(&server, "a", "dead").await;
    eventually(|| log.count("disconnect:dead") == 1).await;
    assert_eq!(server.transport.open_connections(), 1);

    // together longer than the silence limit (500 ms): only pongs keep it open
    for id in 1..=5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        live_tx
            .send(Message::text(rpc(id, "get", json!([]))))
            .await
            .expect("send");
        assert_eq!(live_msgs.recv().await, Some(rpc_ok(id, 0)));
    }
    assert_eq!(log.count("disconnect:live"), 0);
    drop(dead);
    system.shutdown().await;
    reader.await.expect("reader");
    assert_eq!(log.count("disconnect:dead"), 1, "exactly once");
    assert_eq!(log.count("disconnect:live"), 1);
    server.stop().await;
}

/// The one heartbeat rule, as the plain WebSocket endpoints have it: a client that reads
/// but never answers a ping is told why (the `close` message, then a 1001 close frame), and
/// `on_disconnect` runs.
#[tokio::test]
async fn a_client_that_never_answers_pings_is_told_why_it_is_closed() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let config = TransportConfig {
        websocket: WebSocketConfig {
            ping_interval: Duration::from_millis(100),
            ping_timeout: Duration::from_millis(100),
            ..TransportConfig::default().websocket
        },
        ..TransportConfig::default()
    };
    let server = Server::start(system.clone(), config).await;
    let path = raw_counter_path(&server, "silent");
    let mut tcp = common::raw::raw_connect(server.addr, &path).await;
    // reads every frame, pings included, and answers none
    let close = common::raw::raw_read_close(&mut tcp).await;
    assert_eq!(close.code, Some(1001), "{close:?}");
    assert_eq!(close.reason, "connection_closed");
    let Some(last) = close.texts.last() else {
        panic!("no close message before the frame: {close:?}");
    };
    match ServerMessage::decode(last).expect("a protocol message") {
        ServerMessage::Close { code, reason } => {
            assert_eq!(code, "connection_closed");
            assert!(reason.starts_with("heartbeat timeout"), "{reason}");
        }
        other => panic!("expected close, got {other:?}"),
    }
    eventually(|| log.count("disconnect:") == 1).await;
    system.shutdown().await;
    server.stop().await;
}

/// An actor that cares who calls.
#[derive(Default)]
struct Guarded;

impl StatefulActor for Guarded {
    type State = ();
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<(), ActorError> {
        Ok(())
    }
}

#[actions]
impl Guarded {
    async fn secret(&self, rpc: &mut Rpc<Self>) -> Result<&'static str, ActorError> {
        match rpc.caller().actor_type() {
            "backend" => Err(ActorError::unauthorized("sign in first")),
            "guest" => Err(ActorError::forbidden("members only")),
            _ => Ok("42"),
        }
    }

    async fn tenant(&self, rpc: &mut Rpc<Self>) -> Option<String> {
        flame_actor::require_actor_ref::<WebSocketActor>(&**rpc.caller())
            .ok()
            .and_then(|ws| ws.metadata("tenant").map(str::to_owned))
    }
}

#[derive(Debug)]
struct Member(&'static str);

impl Actor for Member {
    fn actor_type(&self) -> &str {
        self.0
    }
}

#[tokio::test]
async fn http_rpc_maps_codes_to_statuses() {
    let log = Log::default();
    let log2 = log.clone();
    let system = ActorSystem::builder()
        .config(common::config())
        .store(MemoryStore::new())
        .register("counter", move |_| common::Counter { log: log2.clone() })
        .register_default::<Guarded>("guarded")
        .build()
        .await
        .expect("system");
    let server = Server::start_with(
        system.clone(),
        TransportConfig::default(),
        |f| {
            // x-actor: <type> makes the request act as that type (a stand-in for auth)
            f.use_(|c: Context| {
                if let Some(kind) = c.headers().get("x-actor").and_then(|v| v.to_str().ok()) {
                    let kind: &'static str = if kind == "guest" { "guest" } else { "member" };
                    c.set_actor(Arc::new(Member(kind)));
                }
            });
            f.get("/who", |c: Context| c.actor().actor_type().to_owned());
        },
        "127.0.0.1:0",
    )
    .await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: &'static str, actor: Option<&'static str>| {
        let mut request = client.post(server.http_url(path)).body(body);
        if let Some(actor) = actor {
            request = request.header("x-actor", actor);
        }
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json body");
            (status, body)
        }
    };
    assert_eq!(
        post("/actors/counter/h/rpc/increment", "[3]", None).await,
        (200, json!(3))
    );
    assert_eq!(
        post("/actors/counter/h/rpc/get", "", None).await,
        (200, json!(3))
    );
    assert_eq!(
        post("/actors/counter/h/rpc/whoami", "[]", Some("member")).await,
        (200, json!(["member", null, null]))
    );
    let cases: [(&str, &'static str, Option<&'static str>, u16, &str); 10] = [
        (
            "/actors/counter/h/rpc/nope",
            "[]",
            None,
            404,
            "action_not_found",
        ),
        ("/actors/nope/h/rpc/get", "[]", None, 404, "actor_not_found"),
        (
            "/actors/counter/h/rpc/increment",
            r#"["x"]"#,
            None,
            400,
            "invalid_arguments",
        ),
        (
            "/actors/counter/h/rpc/increment",
            "[1,",
            None,
            400,
            "malformed_message",
        ),
        (
            "/actors/counter/h/rpc/increment",
            r#"{"by":1}"#,
            None,
            400,
            "malformed_message",
        ),
        (
            "/actors/counter/h/rpc/internal_failure",
            "[]",
            None,
            500,
            "internal_error",
        ),
        (
            "/actors/counter/h/rpc/slow",
            "[2000]",
            None,
            504,
            "rpc_timeout",
        ),
        (
            "/actors/counter/h/rpc/fail_after_increment",
            "[1]",
            None,
            400,
            "test.failed",
        ),
        (
            "/actors/guarded/g/rpc/secret",
            "[]",
            None,
            401,
            "unauthorized",
        ),
        (
            "/actors/guarded/g/rpc/secret",
            "[]",
            Some("guest"),
            403,
            "forbidden",
        ),
    ];
    for (path, body, actor, status, code) in cases {
        let (got_status, got) = post(path, body, actor).await;
        assert_eq!(
            (got_status, got["code"].as_str()),
            (status, Some(code)),
            "{path} {body}"
        );
        assert!(got["message"].is_string());
    }
    assert_eq!(
        post("/actors/guarded/g/rpc/secret", "[]", Some("member")).await,
        (200, json!("42"))
    );
    let big = format!("[\"{}\"]", "x".repeat(70 * 1024));
    let response = client
        .post(server.http_url("/actors/counter/h/rpc/echo"))
        .body(big)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "message_too_long");
    assert_eq!(
        post("/actors/counter/h/rpc/get", "", None).await,
        (200, json!(4)),
        "a failed action keeps its changes, a timed-out one does not"
    );
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn the_upgrade_requests_identity_is_applied() {
    let system = ActorSystem::builder()
        .store(MemoryStore::new())
        .register_default::<Guarded>("guarded")
        .build()
        .await
        .expect("system");
    let server = Server::start_with(
        system.clone(),
        TransportConfig::default(),
        |f| {
            f.use_(|c: Context| {
                c.map(WebSocketIdentity::new(|actor: WebSocketActor| {
                    actor.to_builder().metadata("tenant", "acme").build()
                }));
            });
        },
        "127.0.0.1:0",
    )
    .await;
    let mut ws = ws_connect(&server.ws_url("guarded", "g", None)).await;
    assert!(matches!(recv(&mut ws).await, ServerMessage::Init { .. }));
    send(&mut ws, &rpc(1, "tenant", json!([]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, "acme"));
    send(&mut ws, &rpc(2, "secret", json!([]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(2, "42"), "a websocket caller");
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn the_javascript_client_is_served() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let response = reqwest::get(server.http_url("/actors/client.js"))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    assert!(body.contains("export function connect"));
    let response = reqwest::get(server.http_url("/actors/client.d.ts"))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/typescript; charset=utf-8"
    );
    assert_eq!(
        response.text().await.expect("body"),
        flame_stateful::transport::CLIENT_DTS
    );
    // a plain GET on an actor path without the upgrade headers is refused cleanly
    let response = reqwest::get(server.http_url("/actors/counter/a"))
        .await
        .expect("request");
    assert!(response.status().is_client_error());
    system.shutdown().await;
    server.stop().await;
}

/// Over 512 subscribers, a broadcast is written by one task per worker thread. Every
/// connection still gets the events in the order they were made, and the caller gets each
/// event before the answer to the call that made it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_hundreds_of_websockets_keeps_each_connections_order() {
    const LISTENERS: usize = 600;
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let mut listeners = Vec::with_capacity(LISTENERS);
    for i in 0..LISTENERS {
        let (mut ws, _) = connect_counter(&server, "crowd", &format!("u{i}")).await;
        // the subscribe and the call go out at once, not the call after an ACK
        if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
            tcp.set_nodelay(true).expect("nodelay");
        }
        send(&mut ws, r#"{"v":1,"type":"subscribe","event":"count"}"#).await;
        // the answer comes after the subscribe was handled
        send(&mut ws, &rpc(0, "get", json!([]))).await;
        assert_eq!(recv(&mut ws).await, rpc_ok(0, 0));
        listeners.push(ws);
    }
    let (mut caller, _) = connect_counter(&server, "crowd", "caller").await;
    send(&mut caller, r#"{"v":1,"type":"subscribe","event":"count"}"#).await;
    let count = |n: i64| ServerMessage::Event {
        event: "count".into(),
        payload: n.into(),
    };
    for n in 1..=3 {
        send(&mut caller, &rpc(n, "increment", json!([1]))).await;
        assert_eq!(recv(&mut caller).await, count(n as i64), "event first");
        assert_eq!(recv(&mut caller).await, rpc_ok(n, n));
    }
    for ws in &mut listeners {
        for n in 1..=3 {
            assert_eq!(recv(ws).await, count(n));
        }
    }
    system.shutdown().await;
    server.stop().await;
}

/// A client that reads nothing for a while: what its socket does not take waits in the
/// connection's queue and arrives whole and in order once it reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_late_gets_everything_in_order() {
    const CALLS: u64 = 200;
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let (mut ws, _) = connect_counter(&server, "late", "slow").await;
    // 200 events of 32 KiB: more than loopback's socket buffers hold
    for id in 1..=CALLS {
        let text = format!("{id:05}{}", "x".repeat(32 * 1024));
        send(&mut ws, &rpc(id, "notify_me", json!([text]))).await;
    }
    for id in 1..=CALLS {
        match recv(&mut ws).await {
            ServerMessage::Event { event, payload } => {
                assert_eq!(event, "direct");
                let text = payload.as_str().expect("a string");
                assert_eq!(&text[..5], format!("{id:05}"), "in order");
                assert_eq!(text.len(), 5 + 32 * 1024, "whole");
            }
            other => panic!("expected the event of call {id}, got {other:?}"),
        }
        assert_eq!(recv(&mut ws).await, rpc_ok(id, true));
    }
    system.shutdown().await;
    server.stop().await;
}

/// A client that never reads is closed once its queue is full; the actor forgets it
/// (`on_disconnect`), and the other connections carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_and_the_others_stay() {
    let log = Log::default();
    let config = flame_stateful::ActorConfig {
        outbound_capacity: 4,
        ..common::config()
    };
    let system = common::system_with(&log, MemoryStore::new(), config).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let (mut other, _) = connect_counter(&server, "room", "other").await;
    let (mut stuck, _) = connect_counter(&server, "room", "stuck").await;
    let text = "x".repeat(60 * 1024);
    // Enough to fill loopback's buffers many times over. The client stops sending once
    // the server has closed the connection.
    for id in 1..=2000u64 {
        let sent = tokio::time::timeout(
            Duration::from_secs(5),
            stuck.send(Message::text(rpc(id, "notify_me", json!([text])))),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) || log.count("disconnect:stuck") == 1 {
            break;
        }
    }
    eventually(|| log.count("disconnect:stuck") == 1).await;
    send(&mut other, &rpc(1, "increment", json!([1]))).await;
    assert_eq!(recv(&mut other).await, rpc_ok(1, 1));
    assert_eq!(log.count("disconnect:other"), 0);
    system.shutdown().await;
    server.stop().await;
}

/// The transport completes the handshake itself: the accept key of RFC 6455's example, and
/// a handshake axum would refuse (a wrong version) is refused, not upgraded.
#[tokio::test]
async fn the_handshake_is_answered_by_the_rfc_and_a_bad_one_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn handshake(server: &Server, version: &str) -> String {
        let mut tcp = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let request = format!(
            "GET /actors/counter/h HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: {version}\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            server.addr
        );
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let read = tokio::time::timeout(common::net::HANG, tcp.read(&mut byte))
                .await
                .expect("an answer")
                .expect("read");
            assert_eq!(read, 1, "the server closed before the end of the head");
            head.push(byte[0]);
        }
        String::from_utf8(head).expect("utf-8").to_ascii_lowercase()
    }

    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let ok = handshake(&server, "13").await;
    assert!(ok.starts_with("http/1.1 101"), "{ok}");
    assert!(
        ok.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{ok}"
    );
    assert!(ok.contains("upgrade: websocket"), "{ok}");
    let refused = handshake(&server, "12").await;
    assert!(refused.starts_with("http/1.1 400"), "{refused}");
    system.shutdown().await;
    server.stop().await;
}

/// The request target of a counter connection with token `ada`, for a raw client.
fn raw_counter_path(server: &Server, key: &str) -> String {
    let url = server.ws_url("counter", key, Some(r#"{"token":"ada"}"#));
    let host = format!("ws://{}", server.addr);
    url.trim_start_matches(&host).to_owned()
}

#[tokio::test]
async fn frames_that_break_rfc_6455_are_closed_with_1002_or_1007_and_a_reason() {
    let log = Log::default();
    let (_system, server) = counter_server(&log).await;
    let oversized_ping = vec![b'p'; 126];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "invalid UTF-8 in a text frame",
            common::raw::client_frame(0x81, &[0xff, 0xfe, 0xfd]),
            1007,
        ),
        ("RSV1 set", common::raw::client_frame(0xc1, b"{}"), 1002),
        ("RSV3 set", common::raw::client_frame(0x91, b"{}"), 1002),
        (
            "an unknown data opcode",
            common::raw::client_frame(0x83, b"x"),
            1002,
        ),
        (
            "an unknown control opcode",
            common::raw::client_frame(0x8b, b""),
            1002,
        ),
        (
            "a continuation with nothing to continue",
            common::raw::client_frame(0x80, b"x"),
            1002,
        ),
        (
            "a new message inside a fragmented one",
            [
                common::raw::client_frame(0x01, b"{"),
                common::raw::client_frame(0x81, b"{}"),
            ]
            .concat(),
            1002,
        ),
        (
            "a ping over 125 bytes",
            common::raw::client_frame(0x89, &oversized_ping),
            1002,
        ),
        (
            "a fragmented ping",
            common::raw::client_frame(0x09, b"p"),
            1002,
        ),
        ("an unmasked frame", b"\x81\x02{}".to_vec(), 1002),
        (
            "a close frame of one byte",
            common::raw::client_frame(0x88, &[0x03]),
            1002,
        ),
        (
            "a close reason that is not UTF-8",
            common::raw::client_frame(0x88, &[0x03, 0xe8, 0xff, 0xfe]),
            1007,
        ),
    ];
    for (i, (what, bytes, want)) in cases.into_iter().enumerate() {
        let path = raw_counter_path(&server, &format!("raw{i}"));
        let mut tcp = common::raw::raw_connect(server.addr, &path).await;
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &bytes)
            .await
            .expect("write");
        let close = common::raw::raw_read_close(&mut tcp).await;
        assert_eq!(close.code, Some(want), "{what}: {close:?}");
        assert_eq!(close.reason, "malformed_message", "{what}");
        let Some(last) = close.texts.last() else {
            panic!("{what}: no close message before the frame");
        };
        match ServerMessage::decode(last).expect("a protocol message") {
            ServerMessage::Close { code, reason } => {
                assert_eq!(code, "malformed_message", "{what}");
                assert!(reason.contains("RFC 6455"), "{what}: {reason}");
            }
            other => panic!("{what}: expected close, got {other:?}"),
        }
        assert!(close.eof, "{what}: the server ends the TCP connection");
    }
    // and the server is still fine
    let (mut ws, _) = connect_counter(&server, "after", "ada").await;
    send(&mut ws, &rpc(1, "increment", json!([1]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, 1));
}

#[tokio::test]
async fn a_clients_close_frame_is_echoed_then_the_server_ends_the_connection() {
    let log = Log::default();
    let (_system, server) = counter_server(&log).await;
    for (i, code) in [1000u16, 1001, 4000].into_iter().enumerate() {
        let path = raw_counter_path(&server, &format!("echo{i}"));
        let mut tcp = common::raw::raw_connect(server.addr, &path).await;
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &common::raw::client_frame(0x88, &payload))
            .await
            .expect("write");
        let close = common::raw::raw_read_close(&mut tcp).await;
        assert_eq!(close.code, Some(code), "{close:?}");
        assert!(close.eof, "TCP ends after the echo");
        assert!(
            !close
                .texts
                .iter()
                .any(|text| text.contains(r#""type":"close""#)),
            "a close the client started needs no reason: {close:?}"
        );
    }
    // an empty close frame is answered with an empty one
    let path = raw_counter_path(&server, "echo-empty");
    let mut tcp = common::raw::raw_connect(server.addr, &path).await;
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &common::raw::client_frame(0x88, b""))
        .await
        .expect("write");
    let close = common::raw::raw_read_close(&mut tcp).await;
    assert_eq!(close.code, None);
    assert!(close.eof);
    // and through a WebSocket library: the close is clean
    let (mut ws, _) = connect_counter(&server, "echo-lib", "ada").await;
    ws.close(None).await.expect("close");
    let frame = recv_frame(&mut ws).await;
    assert!(matches!(frame, Some(Message::Close(_))), "{frame:?}");
    eventually(|| log.entries().iter().any(|e| e.starts_with("disconnect"))).await;
}

fn subscribe(event: &str) -> String {
    json!({"v": 1, "type": "subscribe", "event": event}).to_string()
}

/// What a client may make the server hold for it is bounded: the subscriptions by count
/// and by name length, each refusal an `error`/`limit_exceeded`, and the connection stays.
#[tokio::test]
async fn a_clients_subscriptions_are_bounded_in_count_and_name_length() {
    let log = Log::default();
    let config = flame_stateful::ActorConfig {
        max_subscriptions: 3,
        max_event_name_size: 16,
        ..common::config()
    };
    let system = common::system_with(&log, MemoryStore::new(), config).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let (mut ws, _) = connect_counter(&server, "subs", "ada").await;
    for event in ["a", "b", "c", "a"] {
        send(&mut ws, &subscribe(event)).await;
    }
    // one more distinct name is refused
    send(&mut ws, &subscribe("d")).await;
    assert_error(&recv(&mut ws).await, "limit_exceeded");
    // an unsubscribe makes room
    send(
        &mut ws,
        &json!({"v": 1, "type": "unsubscribe", "event": "a"}).to_string(),
    )
    .await;
    send(&mut ws, &subscribe("d")).await;
    // a name over the limit is refused whatever the count
    send(&mut ws, &subscribe(&"n".repeat(17))).await;
    assert_error(&recv(&mut ws).await, "limit_exceeded");
    send(&mut ws, &subscribe(&"x".repeat(60 * 1024))).await;
    assert_error(&recv(&mut ws).await, "limit_exceeded");
    // nothing else was refused (a refusal would come before this answer), and the
    // connection works
    send(&mut ws, &rpc(1, "increment", json!([1]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, 1));
    system.shutdown().await;
    server.stop().await;
}

/// A client that stops reading is closed once its queue holds
/// `ActorConfig::outbound_byte_budget` bytes, long before `outbound_capacity` messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_at_the_outbound_byte_budget() {
    let log = Log::default();
    let config = flame_stateful::ActorConfig {
        outbound_capacity: 1_000_000,
        outbound_byte_budget: 512 * 1024,
        ..common::config()
    };
    let system = common::system_with(&log, MemoryStore::new(), config).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let (mut stuck, _) = connect_counter(&server, "budget", "stuck").await;
    let text = "x".repeat(60 * 1024);
    // 600 answers of 60 KiB (36 MiB) fill loopback's buffers many times over, and stay far
    // below the count limit; the client stops once the server has closed the connection.
    for id in 1..=600u64 {
        let sent = tokio::time::timeout(
            Duration::from_secs(5),
            stuck.send(Message::text(rpc(id, "notify_me", json!([text])))),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) || log.count("disconnect:stuck") == 1 {
            break;
        }
    }
    eventually(|| log.count("disconnect:stuck") == 1).await;
    system.shutdown().await;
    server.stop().await;
}

/// The rows of `docs/src/actor-protocol.md` that only a real socket shows: `args: null` is
/// no arguments over WebSocket as over HTTP, a subscription is not acknowledged, an empty
/// key is an actor of its own, and every answer under the prefix is the protocol's JSON.
#[tokio::test]
async fn the_documented_edge_cases_hold_over_the_wire() {
    let log = Log::default();
    let (system, server) = counter_server(&log).await;
    let client = reqwest::Client::new();

    // `args: null` over WebSocket and a `null` body over HTTP: both no arguments
    let (mut ws, _) = connect_counter(&server, "nulls", "ada").await;
    send(
        &mut ws,
        &json!({"v": 1, "type": "rpc", "id": 1, "method": "get", "args": null}).to_string(),
    )
    .await;
    assert_eq!(recv(&mut ws).await, rpc_ok(1, 0));
    let response = client
        .post(server.http_url("/actors/counter/nulls/rpc/get"))
        .body("null")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "0");

    // a subscription is not acknowledged: the next message is the call's answer
    send(&mut ws, &subscribe("countUpdated")).await;
    send(&mut ws, &rpc(2, "get", json!([]))).await;
    assert_eq!(recv(&mut ws).await, rpc_ok(2, 0));

    // the empty key is an actor like any other, over both transports
    let (mut empty, _) = connect_counter(&server, "", "ada").await;
    send(&mut empty, &rpc(1, "increment", json!([5]))).await;
    assert_eq!(recv(&mut empty).await, rpc_ok(1, 5));
    let response = client
        .post(server.http_url("/actors/counter//rpc/get"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.text().await.expect("body"), "5");

    // under the prefix, errors are `{"code", "message"}` JSON with the table's status
    for (method, path, status, code) in [
        ("GET", "/actors/nope/k", 404, "actor_not_found"),
        ("GET", "/actors/nope/k/extra", 404, "actor_not_found"),
        ("POST", "/actors/nope/k/rpc/get", 404, "actor_not_found"),
        ("GET", "/actors/counter/k/rpc/get", 400, "malformed_message"),
        (
            "GET",
            "/actors/counter/k/extra/more",
            400,
            "malformed_message",
        ),
        ("DELETE", "/actors/counter/k", 400, "malformed_message"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = client
            .request(method.clone(), server.http_url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{method} {path}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["code"], code, "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{method} {path}: {body}");
    }
    // a plain GET on a registered actor's route is refused in the same shape
    let response = client
        .get(server.http_url("/actors/counter/k"))
        .send()
        .await
        .expect("request");
    assert!(response.status().is_client_error());
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["code"], "malformed_message", "{body}");
    system.shutdown().await;
    server.stop().await;
}
