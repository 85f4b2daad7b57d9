//! The I/O loop of one connection: reads frames, answers pings, sends heartbeats and the
//! handler's messages, and closes the connection for the reasons the protocol requires.

use std::sync::Arc;

use bytes::Bytes;
use flame_core::websocket::{CloseFrame, Message, WebSocket, close_code};
use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::config::WebSocketConfig;
use super::connection::{CloseReason, Outbound, Shared, WebSocketMessage};

/// The payload of the server's heartbeat pings.
const PING_PAYLOAD: &[u8] = b"flame";

/// What woke the I/O loop.
enum Event {
    Outbound(Option<Outbound>),
    Frame(Option<Result<Message, String>>),
    Room,
    Tick,
    Dead,
}

pub(crate) struct Io {
    pub(crate) socket: WebSocket,
    pub(crate) config: Arc<WebSocketConfig>,
    pub(crate) inbound: mpsc::Sender<WebSocketMessage>,
    pub(crate) outbound: mpsc::Receiver<Outbound>,
    pub(crate) shared: Arc<Shared>,
}

impl Io {
    /// Runs the connection until it ends, then records why and lets the handler's `recv`
    /// return `None`.
    pub(crate) async fn run(mut self) {
        let reason = self.serve().await;
        match &reason {
            CloseReason::Peer { .. } | CloseReason::Server { .. } => {
                tracing::debug!(?reason, "WebSocket connection closed");
            }
            _ => tracing::info!(?reason, "WebSocket connection ended"),
        }
        let _ = self.shared.reason.set(reason);
        // Dropping `self` drops the inbound sender: the handler's `recv` returns `None`.
    }

    async fn serve(&mut self) -> CloseReason {
        let interval = self.config.get_heartbeat_interval();
        let timeout = self.config.get_heartbeat_timeout();
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // When the last unanswered ping went out.
        let mut awaiting_pong: Option<Instant> = None;
        loop {
            // While the handler's queue is full, stop reading: the client waits (TCP
            // backpressure) instead of the server buffering without bound.
            let can_read = self.inbound.capacity() > 0;
            let deadline = awaiting_pong.map(|sent| sent + timeout);
            let event = tokio::select! {
                biased;
                outbound = self.outbound.recv() => Event::Outbound(outbound),
                frame = self.socket.recv(), if can_read => {
                    Event::Frame(frame.map(|frame| frame.map_err(|err| err.to_string())))
                }
                permit = self.inbound.reserve(), if !can_read => {
                    // Room again (or the handler is gone): read on the next turn.
                    drop(permit);
                    Event::Room
                }
                _ = ticker.tick() => Event::Tick,
                () = sleep_until(deadline), if deadline.is_some() && can_read => Event::Dead,
            };
            match event {
                Event::Outbound(Some(Outbound::Message(message))) => {
                    if let Err(err) = self.socket.send(message).await {
                        return CloseReason::ConnectionLost(err.to_string());
                    }
                }
                Event::Outbound(Some(Outbound::Close { code, reason })) => {
                    return self.close(code, reason).await;
                }
                // The handler returned and nobody else can send: a normal close.
                Event::Outbound(None) => {
                    return self.close(close_code::NORMAL, String::new()).await;
                }
                Event::Frame(frame) => {
                    awaiting_pong = None;
                    match frame {
                        None => {
                            return CloseReason::ConnectionLost("the connection was closed".into());
                        }
                        Some(Ok(Message::Text(text))) => {
                            // A full queue is excluded by `can_read`; a closed one means the
                            // handler is gone, and the outbound branch ends the loop.
                            let _ = self.inbound.try_send(WebSocketMessage::Text(text));
                        }
                        Some(Ok(Message::Binary(data))) => {
                            let _ = self.inbound.try_send(WebSocketMessage::Binary(data));
                        }
                        // tungstenite queued the pong; send it now.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            let _ = self.socket.flush().await;
                        }
                        Some(Ok(Message::Close(frame))) => {
                            // tungstenite queued the answer; send it before going.
                            let _ = self.socket.flush().await;
                            let (code, reason) = frame
                                .map_or((close_code::STATUS, String::new()), |f| {
                                    (f.code, f.reason.as_str().to_owned())
                                });
                            return CloseReason::Peer { code, reason };
                        }
                        Some(Err(err)) => return self.fail(&err).await,
                    }
                }
                Event::Room => {
                    // Do not count a pause in reading against the peer.
                    awaiting_pong = None;
                    if self.inbound.is_closed() {
                        tokio::task::yield_now().await;
                    }
                }
                Event::Tick => {
                    if awaiting_pong.is_none() && can_read {
                        let ping = Message::Ping(Bytes::from_static(PING_PAYLOAD));
                        if let Err(err) = self.socket.send(ping).await {
                            return CloseReason::ConnectionLost(err.to_string());
                        }
                        awaiting_pong = Some(Instant::now());
                    }
                }
                Event::Dead => {
                    tracing::info!(
                        ?timeout,
                        "a heartbeat ping went unanswered: closing the connection"
                    );
                    // The peer is probably gone: say why, but do not wait for an answer.
                    let _ = self
                        .socket
                        .send(close_message(close_code::AWAY, "heartbeat timeout"))
                        .await;
                    return CloseReason::HeartbeatTimeout;
                }
            }
        }
    }

    /// Ends the connection after a read error, with the close code the error calls for.
    ///
    /// The WebSocket implementation reports its errors only as text; its wording for the
    /// two cases a client can cause on purpose is stable and pinned by the tests.
    async fn fail(&mut self, error: &str) -> CloseReason {
        let (code, reason, text) = if error.contains("Message too long")
            || error.contains("Frame too long")
            || error.contains("Space limit exceeded")
        {
            (
                close_code::SIZE,
                CloseReason::MessageTooBig,
                "message too big",
            )
        } else if error.contains("UTF-8") {
            (
                close_code::INVALID,
                CloseReason::InvalidPayload,
                "invalid UTF-8",
            )
        } else if error.contains("Connection reset")
            || error.contains("Trying to work with closed connection")
            || error.contains("without closing handshake")
            || error.contains("IO error")
        {
            return CloseReason::ConnectionLost(error.to_owned());
        } else {
            (
                close_code::PROTOCOL,
                CloseReason::Protocol(error.to_owned()),
                "protocol error",
            )
        };
        tracing::debug!(
            error,
            code,
            "closing the WebSocket connection after a read error"
        );
        let _ = self.socket.send(close_message(code, text)).await;
        reason
    }

    /// Sends a close frame and waits (up to the close timeout) for the peer's answer.
    async fn close(&mut self, code: u16, reason: String) -> CloseReason {
        if let Err(err) = self.socket.send(close_message(code, &reason)).await {
            return CloseReason::ConnectionLost(err.to_string());
        }
        let wait = self.config.get_close_timeout();
        let _ = tokio::time::timeout(wait, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
        CloseReason::Server { code, reason }
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
