//! [`WebSocketConnection`]: one live connection as a handler sees it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flame_core::Context;
use flame_core::websocket::{Message, Utf8Bytes, close_code};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::identity::WebSocketActor;

/// A message received from the client: text or binary. Pings, pongs and close frames are
/// handled by the connection and never show up here.
///
/// ```
/// use flame_actor::websocket::WebSocketMessage;
///
/// let message = WebSocketMessage::Text("{\"n\":1}".into());
/// assert_eq!(message.as_text(), Some("{\"n\":1}"));
/// let value: serde_json::Value = message.json().unwrap();
/// assert_eq!(value["n"], 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebSocketMessage {
    /// A text message (valid UTF-8, checked on arrival).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl WebSocketMessage {
    /// The text, for a text message.
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketMessage;
    ///
    /// assert_eq!(WebSocketMessage::Binary(vec![1].into()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text.as_str()),
            Self::Binary(_) => None,
        }
    }

    /// The message parsed as JSON.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::NotText`] for a binary message, [`WebSocketError::InvalidJson`] for
    /// text that is not JSON of the expected shape.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketError, WebSocketMessage};
    ///
    /// let err = WebSocketMessage::Text("hello".into()).json::<serde_json::Value>().unwrap_err();
    /// assert!(matches!(err, WebSocketError::InvalidJson(_)));
    /// assert_eq!(err.close_code(), 1007);
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, WebSocketError> {
        match self {
            Self::Text(text) => {
                serde_json::from_str(text.as_str()).map_err(WebSocketError::InvalidJson)
            }
            Self::Binary(_) => Err(WebSocketError::NotText),
        }
    }
}

/// What can go wrong on a WebSocket connection, as the handler sees it.
///
/// ```
/// use flame_actor::websocket::WebSocketError;
///
/// assert_eq!(WebSocketError::NotText.close_code(), 1003);
/// assert_eq!(WebSocketError::Closed.to_string(), "the WebSocket connection is closed");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebSocketError {
    /// The connection is closed: nothing more can be sent.
    #[error("the WebSocket connection is closed")]
    Closed,
    /// A text message is not JSON of the expected shape.
    #[error("the message is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// A binary message arrived where text (JSON) was expected.
    #[error("a binary message arrived where text was expected")]
    NotText,
    /// A value could not be serialized to JSON for sending.
    #[error("the value cannot be serialized to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
}

impl WebSocketError {
    /// The close code to end the connection with because of this error, if the handler
    /// chooses to: 1007 (invalid payload) for bad JSON, 1003 (unsupported data) for binary
    /// where text was expected, 1011 (internal error) for a value that does not serialize,
    /// 1000 for a closed connection.
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketError;
    ///
    /// assert_eq!(WebSocketError::Closed.close_code(), 1000);
    /// ```
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Closed => close_code::NORMAL,
            Self::InvalidJson(_) => close_code::INVALID,
            Self::NotText => close_code::UNSUPPORTED,
            Self::Serialize(_) => close_code::ERROR,
        }
    }

    /// A stable, machine-readable code for telling the client what went wrong:
    /// `connection_closed`, `malformed_message`, `unsupported_message`, `internal_error`.
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketMessage;
    ///
    /// let err = WebSocketMessage::Text("nope".into()).json::<u32>().unwrap_err();
    /// assert_eq!(err.code(), "malformed_message");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Closed => "connection_closed",
            Self::InvalidJson(_) => "malformed_message",
            Self::NotText => "unsupported_message",
            Self::Serialize(_) => "internal_error",
        }
    }
}

/// Why a connection ended.
///
/// ```
/// use flame_actor::websocket::CloseReason;
///
/// let reason = CloseReason::Peer { code: 1000, reason: "bye".into() };
/// assert_eq!(reason.code(), Some(1000));
/// assert_eq!(CloseReason::HeartbeatTimeout.code(), Some(1001));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection with this code and reason.
    Peer {
        /// The close code the client sent (1005, "no status", when it sent none).
        code: u16,
        /// The reason the client gave.
        reason: String,
    },
    /// The server closed the connection (the handler called `close`, or returned).
    Server {
        /// The close code sent.
        code: u16,
        /// The reason sent.
        reason: String,
    },
    /// The client sent a message over the size limit; closed with 1009.
    MessageTooBig,
    /// The client sent a text frame that is not UTF-8; closed with 1007.
    InvalidPayload,
    /// The client broke the WebSocket protocol; closed with 1002.
    Protocol(String),
    /// A ping stayed unanswered past the heartbeat timeout: the peer is gone. Closed with 1001.
    HeartbeatTimeout,
    /// The TCP connection broke without a close handshake.
    ConnectionLost(String),
}

impl CloseReason {
    /// The close code of the closing handshake, when there was one.
    ///
    /// ```
    /// use flame_actor::websocket::CloseReason;
    ///
    /// assert_eq!(CloseReason::MessageTooBig.code(), Some(1009));
    /// assert_eq!(CloseReason::ConnectionLost("reset".into()).code(), None);
    /// ```
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Peer { code, .. } | Self::Server { code, .. } => Some(*code),
            Self::MessageTooBig => Some(close_code::SIZE),
            Self::InvalidPayload => Some(close_code::INVALID),
            Self::Protocol(_) => Some(close_code::PROTOCOL),
            Self::HeartbeatTimeout => Some(close_code::AWAY),
            Self::ConnectionLost(_) => None,
        }
    }
}

/// What the handler asks the connection's I/O loop to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    Message(Message),
    Close { code: u16, reason: String },
}

/// The parts of a connection shared between the handler and the I/O loop.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) actor: Mutex<Arc<WebSocketActor>>,
    pub(crate) reason: OnceLock<CloseReason>,
}

/// One live WebSocket connection, as the handler of [`websocket`](super::WebSocketExt::websocket)
/// gets it: receive and send text or JSON, and the connection's [`WebSocketActor`].
///
/// Pings, pongs and heartbeats are handled in the background: a peer that stops answering
/// pings is found dead and [`recv`](Self::recv) returns `None`. A message over the size
/// limit closes the connection with 1009. When the handler returns (drops the connection),
/// a normal close (1000) is sent.
///
/// While the handler runs, [`current_actor`](crate::current_actor) is the connection's
/// actor, also after [`set_actor`](Self::set_actor) swapped it (after an in-band sign-in).
///
/// ```
/// use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.websocket("/echo", |mut conn: WebSocketConnection| async move {
///     while let Some(message) = conn.recv().await {
///         if let Some(text) = message.as_text() {
///             conn.send_text(format!("echo: {text}")).await?;
///         }
///     }
///     Ok::<_, flame_actor::websocket::WebSocketError>(())
/// });
/// ```
pub struct WebSocketConnection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inbound: mpsc::Receiver<WebSocketMessage>,
    pub(crate) outbound: mpsc::Sender<Outbound>,
    pub(crate) context: Context,
}

impl fmt::Debug for WebSocketConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketConnection")
            .field("actor", &*self.shared.actor.lock())
            .field("closed", &self.shared.reason.get())
            .finish_non_exhaustive()
    }
}

impl WebSocketConnection {
    /// The connection's actor: its id, peer address, when it connected, and what plugins
    /// attached (the signed-in user, with flame-auth).
    pub fn actor(&self) -> Arc<WebSocketActor> {
        self.shared.actor.lock().clone()
    }

    /// Replaces the connection's actor for what follows, e.g. once the client signed in
    /// with a message. When it returns, the handler's
    /// [`current_actor`](crate::current_actor) is the new actor (the task-local actor is
    /// refreshed at this await point); work spawned earlier keeps the actor it started with.
    pub async fn set_actor(&mut self, actor: WebSocketActor) {
        tracing::debug!(
            connection.id = actor.connection_id(),
            "WebSocket connection actor replaced"
        );
        *self.shared.actor.lock() = Arc::new(actor);
        // The handler is polled inside a scope holding the actor read at the start of the
        // poll: give the runtime one turn so the next poll reads the new one.
        tokio::task::yield_now().await;
    }

    /// The next text or binary message; `None` once the connection ended (see
    /// [`close_reason`](Self::close_reason) for why). Cancel-safe: use it in `select!`.
    pub async fn recv(&mut self) -> Option<WebSocketMessage> {
        self.inbound.recv().await
    }

    /// The next message parsed as JSON; `None` once the connection ended.
    ///
    /// A message that is not JSON of the expected shape is an `Err` and the connection stays
    /// open: answer it, or end the connection with
    /// [`close(err.close_code(), ..)`](Self::close).
    pub async fn recv_json<T: serde::de::DeserializeOwned>(
        &mut self,
    ) -> Option<Result<T, WebSocketError>> {
        self.recv().await.map(|message| message.json())
    }

    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::Closed`] when the connection has ended.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), WebSocketError> {
        send(&self.outbound, Message::Text(text.into().into())).await
    }

    /// Sends a value as a JSON text message.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::Serialize`] for a value that does not serialize,
    /// [`WebSocketError::Closed`] when the connection has ended.
    pub async fn send_json<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<(), WebSocketError> {
        let text = serde_json::to_string(value).map_err(WebSocketError::Serialize)?;
        self.send_text(text).await
    }

    /// Sends a binary message.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::Closed`] when the connection has ended.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), WebSocketError> {
        send(&self.outbound, Message::Binary(data.into())).await
    }

    /// A handle for sending from other tasks while the handler waits in [`recv`](Self::recv).
    /// It does not keep the connection open: once the handler returns, its sends fail.
    pub fn sender(&self) -> WebSocketSender {
        WebSocketSender {
            outbound: self.outbound.downgrade(),
        }
    }

    /// Closes the connection with `code` and `reason` (at most 123 bytes are sent), and waits
    /// until the peer answered or the close timeout passed.
    pub async fn close(mut self, code: u16, reason: &str) {
        let reason = truncate_reason(reason);
        if self
            .outbound
            .send(Outbound::Close { code, reason })
            .await
            .is_ok()
        {
            // The I/O loop drops its end of the inbound queue when it is done.
            while self.inbound.recv().await.is_some() {}
        }
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.shared.reason.get().cloned()
    }

    /// The request that opened the connection: its headers, cookies, route params, and the
    /// app's services (`context().get::<T>()`).
    pub fn context(&self) -> &Context {
        &self.context
    }
}

async fn send(outbound: &mpsc::Sender<Outbound>, message: Message) -> Result<(), WebSocketError> {
    outbound
        .send(Outbound::Message(message))
        .await
        .map_err(|_| WebSocketError::Closed)
}

/// A close reason fits a control frame: 125 bytes minus the code, cut at a char boundary.
fn truncate_reason(reason: &str) -> String {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

/// Sends on a connection from another task; see [`WebSocketConnection::sender`].
///
/// ```
/// use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.websocket("/ticks", |mut conn: WebSocketConnection| async move {
///     let sender = conn.sender();
///     let ticker = tokio::spawn(async move {
///         for n in 0.. {
///             if sender.send_json(&serde_json::json!({ "tick": n })).await.is_err() {
///                 break;
///             }
///             tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///         }
///     });
///     while conn.recv().await.is_some() {}
///     ticker.abort();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct WebSocketSender {
    outbound: mpsc::WeakSender<Outbound>,
}

impl WebSocketSender {
    /// Sends a text message.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::Closed`] when the connection has ended or its handler returned.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), WebSocketError> {
        let outbound = self.outbound.upgrade().ok_or(WebSocketError::Closed)?;
        send(&outbound, Message::Text(text.into().into())).await
    }

    /// Sends a value as a JSON text message.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::Serialize`], or [`WebSocketError::Closed`].
    pub async fn send_json<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<(), WebSocketError> {
        let text = serde_json::to_string(value).map_err(WebSocketError::Serialize)?;
        self.send_text(text).await
    }
}

#[cfg(test)]
mod tests {
    use super::truncate_reason;

    #[test]
    fn reasons_are_cut_at_a_char_boundary() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert!(cut.len() <= 123);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
