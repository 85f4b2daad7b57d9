//! Cluster mode: a client's WebSocket connection to an actor another node owns, relayed to
//! that node's internal endpoint (`GET {prefix}/_cluster/connect`, cluster secret as bearer
//! token, the actor, the params and the caller's identity in the `x-flame-forward` header).
//! Text messages go through both ways unchanged, so the client speaks the same protocol as
//! if it had connected to the owner; the owner's `close` comes through as it was sent.
//! When the owner goes away without a close (it died, it was cut off), the client gets
//! `close` with `unavailable`, a transient code: it reconnects, and its next connection
//! reaches the actor's new owner.
//!
//! Both links have the transport's heartbeat (`TransportConfig::websocket`): the client is
//! pinged as on a direct connection and closed with 1001 when it does not answer; the owner
//! is pinged too, so an owner cut off without a FIN (a partition) is noticed within
//! `ping_interval + ping_timeout` and the client told to reconnect.

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::State;
use super::socket::{SocketSink, close_echo, close_frames_with, ping_frame, text_frame};
use super::ws::CLOSE_GOING_AWAY;
use crate::Sink;
use crate::forward::CONNECT_PATH;
use crate::protocol::ErrorCode;
use flame_actor::Actor;
use flame_actor::websocket::{Heartbeat, HeartbeatStep};
use tokio::time::Instant;

/// The header that carries [`ForwardedConnect`], hex-encoded JSON.
pub(super) const FORWARD_HEADER: &str = "x-flame-forward";

/// What a relayed connection tells the owner.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ForwardedConnect {
    pub(super) name: String,
    pub(super) key: String,
    pub(super) params: String,
    pub(super) caller: Value,
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

pub(super) fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

pub(super) struct Relay<'a> {
    pub(super) state: &'a State,
    pub(super) address: &'a str,
    pub(super) name: &'a str,
    pub(super) key: &'a str,
    pub(super) params: &'a str,
    pub(super) caller: &'a Arc<dyn Actor>,
}

fn gone(sink: &SocketSink) {
    sink.close(
        ErrorCode::Unavailable.as_str(),
        "the node that owned the actor went away; reconnect",
    );
}

impl Relay<'_> {
    /// Relays until either side ends; the caller finishes the client's socket.
    pub(super) async fn run(&self, socket: &mut super::ws::Socket, sink: &SocketSink) {
        let system = &self.state.system;
        let (Some(secret), Some(identity)) = (system.cluster_secret(), system.identity_codec())
        else {
            gone(sink);
            return;
        };
        let forward = ForwardedConnect {
            name: self.name.to_owned(),
            key: self.key.to_owned(),
            params: self.params.to_owned(),
            caller: identity.encode(&**self.caller),
        };
        let prefix = self.state.config.prefix.trim_end_matches('/');
        let url = format!("ws://{}{prefix}{CONNECT_PATH}", self.address);
        let request = url.into_client_request().map(|mut request| {
            let headers = request.headers_mut();
            let auth = format!("Bearer {secret}").parse();
            let fwd = to_hex(&serde_json::to_vec(&forward).unwrap_or_default()).parse();
            if let (Ok(auth), Ok(fwd)) = (auth, fwd) {
                headers.insert(http::header::AUTHORIZATION, auth);
                headers.insert(FORWARD_HEADER, fwd);
            }
            request
        });
        // An owner that accepts the TCP connection but never answers the handshake (frozen,
        // or cut off after the SYN) gets as long as a ping would.
        let ws_config = &self.state.config.websocket;
        let patience = ws_config.ping_interval + ws_config.ping_timeout;
        let upstream = match request {
            Ok(request) => {
                match tokio::time::timeout(patience, tokio_tungstenite::connect_async(request))
                    .await
                {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no handshake within {patience:?}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let mut upstream = match upstream {
            Ok((upstream, _)) => upstream,
            Err(error) => {
                tracing::debug!(address = self.address, %error, "could not relay a connection to the owner");
                system.forget_owner(self.name, self.key, self.address);
                gone(sink);
                return;
            }
        };
        tracing::debug!(
            actor.name = self.name,
            actor.key = self.key,
            address = self.address,
            "relaying a connection to the owner"
        );
        let mut client = Heartbeat::new(ws_config, Instant::now());
        let mut owner = Heartbeat::new(ws_config, Instant::now());
        let client_wake = tokio::time::sleep_until(client.deadline());
        let owner_wake = tokio::time::sleep_until(owner.deadline());
        tokio::pin!(client_wake, owner_wake);
        loop {
            tokio::select! {
                () = &mut client_wake => match client.poll(Instant::now()) {
                    HeartbeatStep::Wait(until) => client_wake.as_mut().reset(until),
                    HeartbeatStep::Ping => {
                        let _ = sink.write(ping_frame());
                        client_wake.as_mut().reset(client.deadline());
                    }
                    HeartbeatStep::Dead => {
                        tracing::debug!("a relayed client did not answer its ping");
                        sink.close_with(close_frames_with(
                            ErrorCode::ConnectionClosed.as_str(),
                            &format!(
                                "{}: no answer to a ping within {:?}",
                                Heartbeat::CLOSE_REASON,
                                ws_config.ping_timeout
                            ),
                            CLOSE_GOING_AWAY,
                        ));
                        let _ = upstream.close(None).await;
                        return;
                    }
                },
                () = &mut owner_wake => match owner.poll(Instant::now()) {
                    HeartbeatStep::Wait(until) => owner_wake.as_mut().reset(until),
                    HeartbeatStep::Ping => {
                        if upstream.send(Message::Ping(Default::default())).await.is_err() {
                            system.forget_owner(self.name, self.key, self.address);
                            gone(sink);
                            return;
                        }
                        owner_wake.as_mut().reset(owner.deadline());
                    }
                    HeartbeatStep::Dead => {
                        tracing::debug!(address = self.address, "the owner of a relayed connection stopped answering pings");
                        system.forget_owner(self.name, self.key, self.address);
                        gone(sink);
                        return;
                    }
                },
                _ = std::future::poll_fn(|cx| sink.poll_task(cx)) => {
                    // the client is gone (or too slow): let the owner know
                    let _ = upstream.close(None).await;
                    return;
                }
                frame = socket.next() => {
                    if matches!(frame, Some(Ok(_))) {
                        client.seen(Instant::now());
                    }
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            if upstream.send(Message::Text(text)).await.is_err() {
                                gone(sink);
                                return;
                            }
                        }
                        Some(Ok(Message::Close(received))) => {
                            let _ = upstream.close(received.clone()).await;
                            sink.close_with([close_echo(received.as_ref())]);
                            return;
                        }
                        Some(Ok(_)) => {}
                        None | Some(Err(_)) => {
                            let _ = upstream.close(None).await;
                            return;
                        }
                    }
                }
                message = upstream.next() => {
                    if matches!(message, Some(Ok(_))) {
                        owner.seen(Instant::now());
                    }
                    match message {
                        Some(Ok(Message::Text(text))) => {
                            if sink.write(text_frame(text.as_str())).is_err() {
                                sink.close(
                                    ErrorCode::ConnectionClosed.as_str(),
                                    "the client did not keep up",
                                );
                                let _ = upstream.close(None).await;
                                return;
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            // the owner's `close` message came before it, as text; a transient
                            // one (it is shutting down, the actor moved): ask the directory
                            // again next time
                            if frame.as_ref().is_none_or(|f| flame_protocol::is_transient(&f.reason)) {
                                system.forget_owner(self.name, self.key, self.address);
                            }
                            sink.close_with([close_echo(frame.as_ref())]);
                            return;
                        }
                        Some(Ok(_)) => {}
                        None | Some(Err(_)) => {
                            system.forget_owner(self.name, self.key, self.address);
                            gone(sink);
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_goes_both_ways_and_refuses_what_is_not_hex() {
        let text = r#"{"params":"é ?&"}"#;
        assert_eq!(
            from_hex(&to_hex(text.as_bytes())).as_deref(),
            Some(text.as_bytes())
        );
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
