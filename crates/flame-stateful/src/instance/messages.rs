//! What goes into an instance's mailbox, and how a message that will not be handled is
//! answered.

use std::borrow::Cow;
use std::sync::Arc;

use flame_actor::Actor;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::connection::ConnId;
use crate::error::SystemError;
use crate::outbound::Outlet;
use crate::protocol::{ErrorCode, WireError};
use crate::store::Alarm;

/// A message in an instance's mailbox.
///
/// Kept small (16 bytes): tokio's mailbox allocates 32 slots up front, so the size of a
/// message is paid by every actor in the registry, idle or hibernating. Every variant
/// bigger than a pointer is boxed.
#[derive(Debug)]
pub(crate) enum Msg {
    Call(Box<Call>),
    Connect(Box<Connect>),
    Subscribe(Box<EventRequest>),
    Unsubscribe(Box<EventRequest>),
    Disconnect(Box<DisconnectRequest>),
    Alarm(Box<AlarmDelivery>),
    Destroy {
        done: oneshot::Sender<Result<(), SystemError>>,
    },
    Stop {
        done: Option<oneshot::Sender<()>>,
    },
}

/// An action call.
#[derive(Debug)]
pub(crate) struct Call {
    /// Borrowed when it names one of the kind's actions: no allocation per call.
    pub(crate) method: Cow<'static, str>,
    pub(crate) args: Vec<Value>,
    /// `None`: the connection's caller (or the scheduler's).
    pub(crate) caller: Option<Arc<dyn Actor>>,
    pub(crate) conn: Option<ConnId>,
    pub(crate) reply: Reply,
    /// Cluster mode: forwarded by another node, which found this one the owner; never
    /// forwarded again.
    pub(crate) forwarded: bool,
}

/// A connection (un)subscribing from an event.
#[derive(Debug)]
pub(crate) struct EventRequest {
    pub(crate) conn: ConnId,
    pub(crate) event: String,
}

/// A connection going away, and whom to tell once `on_disconnect` has run.
#[derive(Debug)]
pub(crate) struct DisconnectRequest {
    pub(crate) conn: ConnId,
    pub(crate) done: Option<oneshot::Sender<()>>,
}

impl Msg {
    pub(crate) fn disconnect(conn: ConnId, done: Option<oneshot::Sender<()>>) -> Self {
        Msg::Disconnect(Box::new(DisconnectRequest { conn, done }))
    }
}

/// A new connection.
#[derive(Debug)]
pub(crate) struct Connect {
    pub(crate) conn: ConnId,
    pub(crate) params: String,
    pub(crate) caller: Arc<dyn Actor>,
    pub(crate) outlet: Outlet,
    pub(crate) reply: oneshot::Sender<Result<(), WireError>>,
}

/// A due alarm, and whom to tell once it was handled and its deletion is durable (`Ok`), or
/// that it was not (`Err`: the scheduler tries again later).
#[derive(Debug)]
pub(crate) struct AlarmDelivery {
    pub(crate) alarm: Alarm,
    pub(crate) done: Option<oneshot::Sender<Result<(), WireError>>>,
}

/// Where the answer of a call goes.
#[derive(Debug)]
pub(crate) enum Reply {
    Direct(oneshot::Sender<Result<Value, WireError>>),
    Conn { conn: ConnId, id: u64 },
}

impl Msg {
    pub(crate) fn call(call: Call) -> Self {
        Msg::Call(Box::new(call))
    }

    /// Whether another node forwarded it here.
    pub(crate) fn is_forwarded(&self) -> bool {
        matches!(self, Msg::Call(call) if call.forwarded)
    }

    /// Answers a message that will not be handled.
    pub(crate) fn fail(self, error: &WireError) {
        match self {
            Msg::Call(call) => {
                if let Reply::Direct(tx) = call.reply {
                    let _ = tx.send(Err(error.clone()));
                }
            }
            Msg::Connect(connect) => {
                let _ = connect.reply.send(Err(error.clone()));
            }
            Msg::Disconnect(request) => {
                if let Some(done) = request.done {
                    let _ = done.send(());
                }
            }
            Msg::Stop { done: Some(done) } => {
                let _ = done.send(());
            }
            Msg::Destroy { done } => {
                let result = if error.is(ErrorCode::ActorDestroyed) {
                    Ok(())
                } else {
                    Err(SystemError::Unavailable(error.message.clone()))
                };
                let _ = done.send(result);
            }
            Msg::Alarm(delivery) => {
                if let Some(done) = delivery.done {
                    let _ = done.send(Err(error.clone()));
                }
            }
            Msg::Subscribe(_) | Msg::Unsubscribe(_) | Msg::Stop { done: None } => {}
        }
    }
}
