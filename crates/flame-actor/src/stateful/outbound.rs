//! [`Outbound`]: what travels on a connection's outbound channel.
//!
//! Most messages are for one connection. A broadcast is for many: it is encoded once, when
//! the actor releases it, and every receiver shares that one text and that one payload, so
//! broadcasting to 10,000 connections neither clones the payload nor serializes it 10,000
//! times.

use std::sync::Arc;

use flame_core::websocket::Utf8Bytes;
use serde_json::Value;

use crate::protocol::ServerMessage;

/// One message on a connection's outbound channel: a [`ServerMessage`] for this
/// connection, or an event broadcast to many connections and shared by all of them.
///
/// An in-process client wants the message ([`into_message`](Outbound::into_message)); a
/// network transport wants the protocol text ([`text`](Outbound::text)), which for a
/// broadcast was encoded once for every receiver.
///
/// ```
/// use flame_actor::protocol::ServerMessage;
/// use flame_actor::stateful::Outbound;
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
}

impl Outbound {
    /// An event for many connections: encoded now, once; clones share it.
    pub(crate) fn shared_event(event: String, payload: Value) -> Self {
        let message = ServerMessage::Event { event, payload };
        let text = Utf8Bytes::from(message.encode());
        Outbound(Kind::Shared(Arc::new(SharedEvent { message, text })))
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
