//! Connections: the actor's side ([`Connection`]) and the transport's side
//! ([`ConnectionHandle`], [`ConnectionSender`]).
//!
//! A connection is an id, the client's params, the state `on_before_connect` made, the
//! caller's identity and an outlet for its [`Outbound`] messages: a channel an in-process
//! client reads ([`ConnectionHandle`]), or the WebSocket transport's sink, which the actor
//! writes to the socket through. Client messages come in through the [`ConnectionSender`].
//! When the channel ends, or the sink is told the actor let go, the connection is over.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::actor::StatefulActor;
use super::context::{Effect, EffectQueue};
use super::instance::{Call, EventRequest, Msg, Reply};
use super::outbound::{Attached, Outbound, Outlet};
use crate::ActorConfig;
use crate::protocol::{ClientMessage, ErrorCode, ProtocolError, ServerMessage, WireError};
use flame_actor::Actor;

/// A connection's id, unique within an actor system.
///
/// ```
/// # use flame_stateful::ConnId;
/// fn log(id: ConnId) -> String { format!("connection {id}") }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The id as a number (as in the `init` message).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A client connected to an actor, as the actor sees it.
///
/// ```
/// use flame_stateful::{Connection, StatefulActor};
///
/// fn greet<A: StatefulActor>(conn: &Connection<A>) {
///     conn.send("hello", format!("you are {}", conn.caller().actor_type()));
/// }
/// ```
pub struct Connection<A: StatefulActor> {
    id: ConnId,
    params: A::ConnParams,
    state: A::ConnState,
    caller: Arc<dyn Actor>,
    pub(crate) attached: Attached,
    subscriptions: HashSet<String>,
    effects: EffectQueue,
}

impl<A: StatefulActor> fmt::Debug for Connection<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("caller", &self.caller)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl<A: StatefulActor> Connection<A> {
    pub(crate) fn new(
        id: ConnId,
        params: A::ConnParams,
        state: A::ConnState,
        caller: Arc<dyn Actor>,
        outlet: Outlet,
        effects: EffectQueue,
    ) -> Self {
        Self {
            id,
            params,
            state,
            caller,
            attached: Attached::new(outlet),
            subscriptions: HashSet::new(),
            effects,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Where the connection's messages go.
    pub(crate) fn outlet(&self) -> &Outlet {
        &self.attached.outlet
    }

    /// The params the client connected with.
    pub fn params(&self) -> &A::ConnParams {
        &self.params
    }

    /// The state `on_before_connect` returned.
    pub fn state(&self) -> &A::ConnState {
        &self.state
    }

    /// The state, to change.
    pub fn state_mut(&mut self) -> &mut A::ConnState {
        &mut self.state
    }

    /// Who connected.
    pub fn caller(&self) -> &Arc<dyn Actor> {
        &self.caller
    }

    /// Sends an event to this connection only (subscribed or not), once the changes made so
    /// far are committed. A payload that cannot be serialized is logged and dropped.
    pub fn send(&self, event: &str, payload: impl Serialize) {
        match serde_json::to_value(payload) {
            Ok(payload) => self.effects.lock().push(Effect::Send {
                conn: self.id,
                msg: ServerMessage::Event {
                    event: event.to_owned(),
                    payload,
                },
            }),
            Err(e) => {
                tracing::error!(conn = %self.id, event, error = %e, "could not serialize an event payload");
            }
        }
    }

    /// Whether the connection receives broadcasts of `event`.
    pub fn is_subscribed(&self, event: &str) -> bool {
        self.subscriptions.contains(event)
    }

    /// The events the connection receives broadcasts of.
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.iter().map(String::as_str)
    }

    /// Subscribes the connection to `event` (the client does it with a `subscribe` message).
    pub fn subscribe(&mut self, event: impl Into<String>) {
        self.subscriptions.insert(event.into());
    }

    /// Unsubscribes the connection from `event`.
    pub fn unsubscribe(&mut self, event: &str) {
        self.subscriptions.remove(event);
    }
}

/// Why a client message did not reach the actor.
///
/// ```
/// use flame_stateful::InboundError;
/// let e = InboundError::Closed;
/// assert_eq!(e.to_string(), "the connection is closed");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// The text is not a valid message: answer with
    /// [`ProtocolError::to_server_message`] and keep the connection.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The actor closed the connection (or is gone): close the transport.
    #[error("the connection is closed")]
    Closed,
}

#[derive(Debug)]
struct DisconnectGuard {
    conn: ConnId,
    tx: mpsc::Sender<Msg>,
    armed: bool,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let msg = Msg::disconnect(self.conn, None);
        match self.tx.try_send(msg) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(msg)) => {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let tx = self.tx.clone();
                    rt.spawn(async move {
                        let _ = tx.send(msg).await;
                    });
                } else {
                    tracing::warn!(conn = %self.conn, "connection dropped outside a runtime with a full mailbox; the actor notices it at its next idle check");
                }
            }
        }
    }
}

/// The transport's way into a connection: client messages in, disconnect.
///
/// Dropping it disconnects (so `on_disconnect` runs even when a transport task dies).
#[derive(Debug)]
pub struct ConnectionSender {
    guard: DisconnectGuard,
    max_message_size: usize,
    /// `ActorConfig::max_subscriptions` and `max_event_name_size`.
    max_subscriptions: usize,
    max_event_name_size: usize,
    /// The events the client subscribed to and has not unsubscribed from. Kept here, on
    /// the client's side of the mailbox, so that a refusal costs the actor nothing and the
    /// client learns of it; a lock only because `send` takes `&self` (one task uses it).
    subscribed: parking_lot::Mutex<HashSet<Box<str>>>,
}

impl ConnectionSender {
    pub(crate) fn new(conn: ConnId, tx: mpsc::Sender<Msg>, max_message_size: usize) -> Self {
        let defaults = ActorConfig::default();
        Self {
            guard: DisconnectGuard {
                conn,
                tx,
                armed: true,
            },
            max_message_size,
            max_subscriptions: defaults.max_subscriptions,
            max_event_name_size: defaults.max_event_name_size,
            subscribed: parking_lot::Mutex::new(HashSet::new()),
        }
    }

    /// Applies `config`'s per-connection limits (every connection gets its system's, an
    /// in-process one as a WebSocket one).
    pub(crate) fn with_limits(mut self, config: &ActorConfig) -> Self {
        self.max_subscriptions = config.max_subscriptions;
        self.max_event_name_size = config.max_event_name_size;
        self
    }

    /// Counts a client's subscription against the limits, refusing it when over one.
    fn admit_subscription(&self, event: &str) -> Result<(), ProtocolError> {
        let refuse = |message: String| ProtocolError {
            code: ErrorCode::LimitExceeded,
            message,
            id: None,
        };
        if event.len() > self.max_event_name_size {
            return Err(refuse(format!(
                "an event name is at most {} bytes",
                self.max_event_name_size
            )));
        }
        let mut subscribed = self.subscribed.lock();
        if subscribed.contains(event) {
            return Ok(());
        }
        if subscribed.len() >= self.max_subscriptions {
            return Err(refuse(format!(
                "a connection subscribes to at most {} events; unsubscribe from one first",
                self.max_subscriptions
            )));
        }
        subscribed.insert(event.into());
        Ok(())
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.guard.conn
    }

    async fn push(&self, msg: Msg) -> Result<(), InboundError> {
        self.guard
            .tx
            .send(msg)
            .await
            .map_err(|_| InboundError::Closed)
    }

    /// Hands a client message to the actor. Answers (`rpc_ok`, `rpc_error`) and events come
    /// on the outbound channel. Waits while the actor's mailbox is full.
    ///
    /// # Errors
    ///
    /// [`InboundError::Protocol`] with `limit_exceeded` for a subscription over
    /// `ActorConfig::max_subscriptions` or `max_event_name_size` (answer it and go on),
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn send(&self, msg: ClientMessage) -> Result<(), InboundError> {
        let conn = self.id();
        let msg = match msg {
            ClientMessage::Rpc { id, method, args } => Msg::call(Call {
                forwarded: false,
                method: method.into(),
                args,
                caller: None,
                conn: Some(conn),
                reply: Reply::Conn { conn, id },
            }),
            ClientMessage::Subscribe { event } => {
                self.admit_subscription(&event)?;
                Msg::Subscribe(Box::new(EventRequest { conn, event }))
            }
            ClientMessage::Unsubscribe { event } => {
                self.subscribed.lock().remove(event.as_str());
                Msg::Unsubscribe(Box::new(EventRequest { conn, event }))
            }
        };
        self.push(msg).await
    }

    /// Decodes a text frame (checking `max_message_size` and the version) and hands it to the
    /// actor.
    ///
    /// # Errors
    ///
    /// [`InboundError::Protocol`] for a bad message (answer it and go on),
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn send_text(&self, text: &str) -> Result<(), InboundError> {
        let msg = ClientMessage::decode(text, self.max_message_size)?;
        self.send(msg).await
    }

    /// Calls an action as this connection and waits for the answer directly (it does not
    /// come on the outbound channel). For in-process clients and tests.
    ///
    /// # Errors
    ///
    /// The action's error, or `connection_closed` when the actor is gone.
    pub async fn rpc(&self, method: &str, args: Vec<Value>) -> Result<Value, WireError> {
        let (reply, rx) = oneshot::channel();
        let conn = self.id();
        let msg = Msg::call(Call {
            forwarded: false,
            method: Cow::Owned(method.to_owned()),
            args,
            caller: None,
            conn: Some(conn),
            reply: Reply::Direct(reply),
        });
        let closed = || WireError::new(ErrorCode::ConnectionClosed, "the connection is closed");
        self.push(msg).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Subscribes to `event`.
    ///
    /// # Errors
    ///
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn subscribe(&self, event: &str) -> Result<(), InboundError> {
        self.send(ClientMessage::Subscribe {
            event: event.to_owned(),
        })
        .await
    }

    /// Unsubscribes from `event`.
    ///
    /// # Errors
    ///
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn unsubscribe(&self, event: &str) -> Result<(), InboundError> {
        self.send(ClientMessage::Unsubscribe {
            event: event.to_owned(),
        })
        .await
    }

    /// Disconnects and waits until `on_disconnect` has run.
    pub async fn disconnect(mut self) {
        self.guard.armed = false;
        let (done, rx) = oneshot::channel();
        let msg = Msg::disconnect(self.id(), Some(done));
        if self.push(msg).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// A connection to an actor, from [`ActorSystem::connect`](crate::ActorSystem::connect):
/// the outbound channel plus a [`ConnectionSender`].
///
/// The first outbound message is `init`; then come answers and events; a `close` (or the
/// end of the channel) ends it.
#[derive(Debug)]
pub struct ConnectionHandle {
    sender: ConnectionSender,
    outbound: mpsc::Receiver<Outbound>,
}

impl ConnectionHandle {
    pub(crate) fn new(sender: ConnectionSender, outbound: mpsc::Receiver<Outbound>) -> Self {
        Self { sender, outbound }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.sender.id()
    }

    /// The next outbound message; `None` once the actor has closed the connection.
    pub async fn recv(&mut self) -> Option<ServerMessage> {
        self.outbound.recv().await.map(Outbound::into_message)
    }

    /// The next outbound message if one is waiting.
    pub fn try_recv(&mut self) -> Option<ServerMessage> {
        self.outbound.try_recv().ok().map(Outbound::into_message)
    }

    /// The way in.
    pub fn sender(&self) -> &ConnectionSender {
        &self.sender
    }

    /// Splits the handle, for a transport that reads and writes in different tasks. The
    /// outbound side carries [`Outbound`]s, whose [`text`](Outbound::text) a network
    /// transport writes as is.
    pub fn into_parts(self) -> (ConnectionSender, mpsc::Receiver<Outbound>) {
        (self.sender, self.outbound)
    }

    /// See [`ConnectionSender::send`].
    ///
    /// # Errors
    ///
    /// [`InboundError::Protocol`] with `limit_exceeded` for a subscription over
    /// `ActorConfig::max_subscriptions` or `max_event_name_size` (answer it and go on),
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn send(&self, msg: ClientMessage) -> Result<(), InboundError> {
        self.sender.send(msg).await
    }

    /// See [`ConnectionSender::send_text`].
    ///
    /// # Errors
    ///
    /// See [`ConnectionSender::send_text`].
    pub async fn send_text(&self, text: &str) -> Result<(), InboundError> {
        self.sender.send_text(text).await
    }

    /// See [`ConnectionSender::rpc`].
    ///
    /// # Errors
    ///
    /// The action's error, or `connection_closed`.
    pub async fn rpc(&self, method: &str, args: Vec<Value>) -> Result<Value, WireError> {
        self.sender.rpc(method, args).await
    }

    /// See [`ConnectionSender::subscribe`].
    ///
    /// # Errors
    ///
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn subscribe(&self, event: &str) -> Result<(), InboundError> {
        self.sender.subscribe(event).await
    }

    /// See [`ConnectionSender::unsubscribe`].
    ///
    /// # Errors
    ///
    /// [`InboundError::Closed`] when the actor is gone.
    pub async fn unsubscribe(&self, event: &str) -> Result<(), InboundError> {
        self.sender.unsubscribe(event).await
    }

    /// See [`ConnectionSender::disconnect`].
    pub async fn disconnect(self) {
        self.sender.disconnect().await;
    }
}
