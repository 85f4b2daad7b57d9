//! Serving an actor system on a real loopback socket, and a raw WebSocket client.

use std::net::SocketAddr;
use std::time::Duration;

use flame_core::Flame;
use flame_protocol::ServerMessage;
use flame_stateful::ActorSystem;
use flame_stateful::transport::{self, TransportConfig, TransportHandle};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestServer;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Long enough never to fire on a healthy run; only there so a broken test fails instead of
/// hanging.
pub const HANG: Duration = Duration::from_secs(20);

/// An actor system's transport mounted on a [`TestServer`].
pub struct Server {
    pub addr: SocketAddr,
    pub transport: TransportHandle,
    server: TestServer,
}

impl Server {
    pub async fn start(system: ActorSystem, config: TransportConfig) -> Self {
        Self::start_with(system, config, |_| {}, "127.0.0.1:0").await
    }

    /// With middleware added by `setup` before the routes, on `addr`.
    pub async fn start_with(
        system: ActorSystem,
        config: TransportConfig,
        setup: impl FnOnce(&mut Flame),
        addr: &str,
    ) -> Self {
        let mut f = Flame::new();
        setup(&mut f);
        let transport = transport::mount(&mut f, system, config);
        let server = TestServer::start_on(f, addr).await;
        Self {
            addr: server.addr(),
            transport,
            server,
        }
    }

    pub fn base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn ws_url(&self, name: &str, key: &str, params: Option<&str>) -> String {
        let mut url = format!("ws://{}/actors/{name}/{key}", self.addr);
        if let Some(params) = params {
            url.push_str("?params=");
            url.extend(percent_encoding::utf8_percent_encode(
                params,
                percent_encoding::NON_ALPHANUMERIC,
            ));
        }
        url
    }

    pub fn http_url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

pub async fn ws_connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(HANG, tokio_tungstenite::connect_async(url))
        .await
        .expect("no hang")
        .expect("handshake");
    ws
}

/// The next frame that is not a ping or pong.
pub async fn recv_frame(ws: &mut Ws) -> Option<Message> {
    // one deadline for the whole wait: the server's pings (every 15 s) must not restart it
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a frame before the hang guard");
        match frame {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(frame)) => return Some(frame),
            Some(Err(_)) | None => return None,
        }
    }
}

/// The next protocol message; panics on anything else.
pub async fn recv(ws: &mut Ws) -> ServerMessage {
    match recv_frame(ws).await {
        Some(Message::Text(text)) => ServerMessage::decode(text.as_str()).expect("decodes"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// The close frame that follows a `close` message.
pub async fn recv_close_frame(ws: &mut Ws) -> CloseFrame {
    match recv_frame(ws).await {
        Some(Message::Close(Some(frame))) => frame,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send");
}

/// Connects with `{"token": token}`, reads `init` and `welcome`.
pub async fn connect_counter(server: &Server, key: &str, token: &str) -> (Ws, u64) {
    let params = format!(r#"{{"token":"{token}"}}"#);
    let mut ws = ws_connect(&server.ws_url("counter", key, Some(&params))).await;
    let ServerMessage::Init { conn_id } = recv(&mut ws).await else {
        panic!("init first");
    };
    assert_eq!(
        recv(&mut ws).await,
        ServerMessage::Event {
            event: "welcome".into(),
            payload: token.into()
        }
    );
    (ws, conn_id)
}

/// Waits (bounded) until `check` holds, polling.
pub async fn eventually(mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + HANG;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
