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
/// Kept small (32 bytes): tokio's mailbox allocates 32 slots up front, so the size of a
/// message is paid by every loaded actor, idle or not. The big variants are boxed.
#[derive(Debug)]
pub(crate) enum Msg {
    Call(Box<Call>),
    Connect(Box<Connect>),
    Subscribe {
        conn: ConnId,
        event: Box<str>,
    },
    Unsubscribe {
        conn: ConnId,
        event: Box<str>,
    },
    Disconnect {
        conn: ConnId,
        done: Option<oneshot::Sender<()>>,
    },
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
            Msg::Disconnect {
                done: Some(done), ..
            }
            | Msg::Stop { done: Some(done) } => {
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
            Msg::Subscribe { .. }
            | Msg::Unsubscribe { .. }
            | Msg::Disconnect { done: None, .. }
            | Msg::Stop { done: None } => {}
        }
    }
}
