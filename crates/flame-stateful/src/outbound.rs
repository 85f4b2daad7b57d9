//! [`Outbound`]: what the actor sends a connection, and the [`Outlet`] it goes through.
//!
//! Most messages are for one connection. A broadcast is for many: it is encoded once, when
//! the actor releases it, and every receiver shares that one text and that one payload, so
//! broadcasting to 10,000 connections neither clones the payload nor serializes it 10,000
//! times.
//!
//! An outlet is a channel (in-process clients: the transport reads the channel) or a sink
//! (the WebSocket transport: the actor writes to the socket itself, so a message costs no
//! channel hop and no wake of the connection's task).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flame_core::websocket::Utf8Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::protocol::ServerMessage;

/// One message on a connection's outbound channel: a [`ServerMessage`] for this
/// connection, or an event broadcast to many connections and shared by all of them.
///
/// An in-process client wants the message ([`into_message`](Outbound::into_message)); a
/// network transport wants the protocol text ([`text`](Outbound::text)), which for a
/// broadcast was encoded once for every receiver.
///
/// ```
/// use flame_protocol::ServerMessage;
/// use flame_stateful::Outbound;
///
/// let out = Outbound::from(ServerMessage::RpcOk { id: 1, output: 2.into() });
/// assert_eq!(out.text().as_str(), r#"{"v":1,"type":"rpc_ok","id":1,"output":2}"#);
/// assert!(out.close_reason().is_none());
/// assert_eq!(out.into_message(), ServerMessage::RpcOk { id: 1, output: 2.into() });
///
/// let close = Outbound::from(ServerMessage::Close { code: "bye".into(), reason: "done".into() });
/// assert_eq!(close.close_reason(), Some(("bye", "done")));
/// ```
#[derive(Debug, Clone)]
pub struct Outbound(Kind);

#[derive(Debug, Clone)]
enum Kind {
    Message(ServerMessage),
    Shared(Arc<SharedEvent>),
}

#[derive(Debug)]
struct SharedEvent {
    message: ServerMessage,
    text: Utf8Bytes,
    /// What a sink writes for it (a WebSocket frame), made by the first receiver's sink.
    wire: OnceLock<Bytes>,
}

impl Outbound {
    /// An event for many connections: encoded now, once; clones share it.
    pub(crate) fn shared_event(event: String, payload: Value) -> Self {
        let message = ServerMessage::Event { event, payload };
        let text = Utf8Bytes::from(message.encode());
        Outbound(Kind::Shared(Arc::new(SharedEvent {
            message,
            text,
            wire: OnceLock::new(),
        })))
    }

    /// The bytes `encode` makes of the message's text. A broadcast's are made once, by the
    /// first receiver, and lent to the others (no reference count that every receiver's
    /// thread would touch): `encode` is the one transport's framing.
    pub(crate) fn wire(&self, encode: fn(&str) -> Bytes) -> Cow<'_, Bytes> {
        match &self.0 {
            Kind::Message(message) => Cow::Owned(encode(&message.encode())),
            Kind::Shared(shared) => {
                Cow::Borrowed(shared.wire.get_or_init(|| encode(shared.text.as_str())))
            }
        }
    }

    /// The message as protocol text (JSON, with its version), ready for a WebSocket text
    /// frame. A shared broadcast costs a reference count; any other message is encoded now.
    pub fn text(&self) -> Utf8Bytes {
        match &self.0 {
            Kind::Message(message) => Utf8Bytes::from(message.encode()),
            Kind::Shared(shared) => shared.text.clone(),
        }
    }

    /// The code and reason when this is `close`: the actor ends the connection.
    pub fn close_reason(&self) -> Option<(&str, &str)> {
        match &self.0 {
            Kind::Message(ServerMessage::Close { code, reason }) => Some((code, reason)),
            _ => None,
        }
    }

    /// The message itself (a shared broadcast is copied out).
    pub fn into_message(self) -> ServerMessage {
        match self.0 {
            Kind::Message(message) => message,
            Kind::Shared(shared) => match Arc::try_unwrap(shared) {
                Ok(shared) => shared.message,
                Err(shared) => shared.message.clone(),
            },
        }
    }
}

impl From<ServerMessage> for Outbound {
    fn from(message: ServerMessage) -> Self {
        Outbound(Kind::Message(message))
    }
}

/// Why an outlet did not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The client does not keep up: too many messages wait for it.
    Full,
    /// The connection is gone.
    Closed,
}

/// A transport that takes a connection's messages as the actor hands them over: it writes
/// them (or queues them, in order) without waiting, from whichever task offers them.
pub(crate) trait Sink: Send + Sync + fmt::Debug + 'static {
    /// Writes or queues `msg` after everything offered before it.
    fn offer(&self, msg: &Outbound) -> Result<(), Refused>;
    /// Ends the connection: the client gets the `close` message with `code` and `reason`
    /// after everything offered before, and nothing after.
    fn close(&self, code: &str, reason: &str);
    /// The connection is gone (its transport ended it).
    fn is_closed(&self) -> bool;
    /// The actor let go of the connection; unless it was closed already, the client is
    /// told, as it would be by the end of a channel.
    fn detach(&self);
}

/// Where a connection's messages go.
#[derive(Debug, Clone)]
pub(crate) enum Outlet {
    /// An in-process client, which reads the channel.
    Channel(mpsc::Sender<Outbound>),
    /// A transport that writes them out itself.
    Sink(Arc<dyn Sink>),
}

impl Outlet {
    pub(crate) fn offer(&self, msg: Outbound) -> Result<(), Refused> {
        match self {
            Outlet::Channel(tx) => send(tx, msg),
            Outlet::Sink(sink) => sink.offer(&msg),
        }
    }

    /// [`offer`](Self::offer) for one of many receivers of `msg`: a sink only borrows it.
    pub(crate) fn offer_shared(&self, msg: &Outbound) -> Result<(), Refused> {
        match self {
            Outlet::Channel(tx) => send(tx, msg.clone()),
            Outlet::Sink(sink) => sink.offer(msg),
        }
    }

    pub(crate) fn close(&self, code: &str, reason: &str) {
        match self {
            Outlet::Channel(tx) => {
                let _ = tx.try_send(
                    ServerMessage::Close {
                        code: code.to_owned(),
                        reason: reason.to_owned(),
                    }
                    .into(),
                );
            }
            Outlet::Sink(sink) => sink.close(code, reason),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Outlet::Channel(tx) => tx.is_closed(),
            Outlet::Sink(sink) => sink.is_closed(),
        }
    }
}

fn send(tx: &mpsc::Sender<Outbound>, msg: Outbound) -> Result<(), Refused> {
    tx.try_send(msg).map_err(|e| match e {
        mpsc::error::TrySendError::Full(_) => Refused::Full,
        mpsc::error::TrySendError::Closed(_) => Refused::Closed,
    })
}

/// A connection's outlet as its [`Connection`](super::Connection) holds it: when the actor
/// drops an accepted connection, the transport hears of it (a channel ends by itself when
/// its last sender goes; a sink is told).
#[derive(Debug)]
pub(crate) struct Attached {
    pub(crate) outlet: Outlet,
    /// Whether dropping it tells the transport: not for a connection that was refused,
    /// whose transport is told why by the answer to its connect.
    armed: bool,
}

impl Attached {
    pub(crate) fn new(outlet: Outlet) -> Self {
        Self {
            outlet,
            armed: true,
        }
    }

    /// The connection was refused: dropping it tells the transport nothing.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let (true, Outlet::Sink(sink)) = (self.armed, &self.outlet) {
            sink.detach();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_event_is_encoded_once_and_reads_back_the_same() {
        let out = Outbound::shared_event("tick".into(), serde_json::json!({"n": 1}));
        let other = out.clone();
        let (a, b) = (out.text(), other.text());
        assert_eq!(
            a.as_str().as_ptr(),
            b.as_str().as_ptr(),
            "both receivers share one text"
        );
        let expected = ServerMessage::Event {
            event: "tick".into(),
            payload: serde_json::json!({"n": 1}),
        };
        assert_eq!(a.as_str(), expected.encode());
        assert!(out.close_reason().is_none());
        assert_eq!(out.into_message(), expected);
        assert_eq!(other.into_message(), expected);
    }
}
