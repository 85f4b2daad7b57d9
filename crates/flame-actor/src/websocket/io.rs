//! The I/O loop of one connection: reads frames, answers pings, sends heartbeats and the
//! handler's messages, and closes the connection for the reasons the protocol requires.

use std::sync::Arc;

use bytes::Bytes;
use flame_core::websocket::{CloseFrame, Message, WebSocket, close_code};
use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use super::config::WebSocketConfig;
use super::connection::{CloseReason, Outbound, Shared, WebSocketMessage};
use super::failure::ReadFailure;
use super::heartbeat::{Heartbeat, HeartbeatStep};

/// The payload of the server's heartbeat pings.
const PING_PAYLOAD: &[u8] = b"flame";

/// What woke the I/O loop.
enum Event {
    Outbound(Option<Outbound>),
    Frame(Option<Result<Message, flame_core::websocket::Error>>),
    Room,
    Heartbeat,
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
        let mut heartbeat = Heartbeat::new(&self.config, Instant::now());
        let wake = tokio::time::sleep_until(heartbeat.deadline());
        tokio::pin!(wake);
        loop {
            // While the handler's queue is full, stop reading: the client waits (TCP
            // backpressure) instead of the server buffering without bound.
            let can_read = self.inbound.capacity() > 0;
            let event = tokio::select! {
                biased;
                outbound = self.outbound.recv() => Event::Outbound(outbound),
                frame = self.socket.recv(), if can_read => Event::Frame(frame),
                permit = self.inbound.reserve(), if !can_read => {
                    // Room again (or the handler is gone): read on the next turn.
                    drop(permit);
                    Event::Room
                }
                () = &mut wake, if can_read => Event::Heartbeat,
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
                    heartbeat.seen(Instant::now());
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
                        Some(Err(err)) => return self.fail(err).await,
                    }
                }
                Event::Room => {
                    // Do not count a pause in reading against the peer.
                    heartbeat.seen(Instant::now());
                    if self.inbound.is_closed() {
                        tokio::task::yield_now().await;
                    }
                }
                Event::Heartbeat => match heartbeat.poll(Instant::now()) {
                    HeartbeatStep::Wait(until) => wake.as_mut().reset(until),
                    HeartbeatStep::Ping => {
                        let ping = Message::Ping(Bytes::from_static(PING_PAYLOAD));
                        if let Err(err) = self.socket.send(ping).await {
                            return CloseReason::ConnectionLost(err.to_string());
                        }
                        wake.as_mut().reset(heartbeat.deadline());
                    }
                    HeartbeatStep::Dead => {
                        tracing::info!(
                            dead_after = ?self.config.dead_after(),
                            "a heartbeat ping went unanswered: closing the connection"
                        );
                        // The peer is probably gone: say why, but do not wait for an answer.
                        let _ = self
                            .socket
                            .send(close_message(close_code::AWAY, Heartbeat::CLOSE_REASON))
                            .await;
                        return CloseReason::HeartbeatTimeout;
                    }
                },
            }
        }
    }

    /// Ends the connection after a read error, with the close code the error calls for.
    async fn fail(&mut self, error: flame_core::websocket::Error) -> CloseReason {
        let failure = match error.into_inner().downcast::<tungstenite::Error>() {
            Ok(error) => ReadFailure::from_error(&error),
            Err(other) => ReadFailure::Lost(other.to_string()),
        };
        let reason = match &failure {
            ReadFailure::TooBig => CloseReason::MessageTooBig,
            ReadFailure::InvalidUtf8(_) => CloseReason::InvalidPayload,
            ReadFailure::Protocol(detail) => CloseReason::Protocol(detail.clone()),
            ReadFailure::Lost(detail) => return CloseReason::ConnectionLost(detail.clone()),
        };
        let code = failure.close_code().unwrap_or(close_code::PROTOCOL);
        tracing::debug!(
            ?failure,
            code,
            "closing the WebSocket connection after a read error"
        );
        let _ = self
            .socket
            .send(close_message(code, &failure.close_reason()))
            .await;
        reason
    }

    /// Sends a close frame and waits (up to the close timeout) for the peer's answer.
    async fn close(&mut self, code: u16, reason: String) -> CloseReason {
        if let Err(err) = self.socket.send(close_message(code, &reason)).await {
            return CloseReason::ConnectionLost(err.to_string());
        }
        let wait = self.config.close_timeout;
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
