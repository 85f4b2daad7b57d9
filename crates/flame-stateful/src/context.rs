//! [`ActorCtx`]: what hooks and actions see of their actor: the state, the connections,
//! broadcast, scheduling, shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use super::actor::StatefulActor;
use super::connection::{ConnId, Connection};
use super::error::ActorError;
use super::outbound::Outlet;
use crate::kv::{Kv, KvSpace};
use crate::protocol::ServerMessage;
use crate::store::{ActorId, Alarm};

/// Something to send once the changes made so far are committed.
#[derive(Debug)]
pub(crate) enum Effect {
    Broadcast { event: String, payload: Value },
    Send { conn: ConnId, msg: ServerMessage },
}

/// The effects of the message being handled, shared by the context and its connections (so
/// `conn.send` works through a shared reference). Only the instance's task touches it.
pub(crate) type EffectQueue = Arc<Mutex<Vec<Effect>>>;

/// How many events' subscribers a context keeps at most.
const MAX_AUDIENCES: usize = 4;

/// The connections subscribed to one event.
#[derive(Debug)]
struct Audience {
    event: String,
    targets: Arc<[(ConnId, Outlet)]>,
}

/// The actor's side of a hook or action: its state and connections, and what it can do.
///
/// Nothing a context sends leaves before the state changes made so far are committed.
///
/// ```
/// use flame_stateful::{ActorCtx, StatefulActor};
///
/// fn bump<A: StatefulActor<State = i64>>(ctx: &mut ActorCtx<A>) {
///     *ctx.state_mut() += 1; // marks the state dirty: it is committed before any reply
///     ctx.broadcast("count", *ctx.state());
/// }
/// ```
pub struct ActorCtx<A: StatefulActor> {
    pub(crate) id: ActorId,
    pub(crate) state: A::State,
    pub(crate) dirty: bool,
    pub(crate) connections: HashMap<u64, Connection<A>>,
    /// The subscribers of recently broadcast events, so that a broadcast does not look at
    /// every connection's subscriptions; forgotten whenever a connection comes, goes, or
    /// may have changed.
    audiences: Vec<Audience>,
    pub(crate) effects: EffectQueue,
    pub(crate) new_alarms: Vec<Alarm>,
    pub(crate) shutdown: bool,
    pub(crate) kv: KvSpace,
}

impl<A: StatefulActor> std::fmt::Debug for ActorCtx<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorCtx")
            .field("id", &self.id)
            .field("dirty", &self.dirty)
            .field("connections", &self.connections.len())
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<A: StatefulActor> ActorCtx<A> {
    pub(crate) fn new(id: ActorId, state: A::State, kv: KvSpace) -> Self {
        Self {
            kv,
            id,
            state,
            dirty: false,
            connections: HashMap::new(),
            audiences: Vec::new(),
            effects: Arc::new(Mutex::new(Vec::new())),
            new_alarms: Vec::new(),
            shutdown: false,
        }
    }

    /// The actor's kind name.
    pub fn name(&self) -> &str {
        &self.id.name
    }

    /// The actor's key.
    pub fn key(&self) -> &str {
        &self.id.key
    }

    /// The actor's id (kind name and key).
    pub fn id(&self) -> &ActorId {
        &self.id
    }

    /// The current state.
    pub fn state(&self) -> &A::State {
        &self.state
    }

    /// The state, to change; marks it dirty, so it is committed before the reply (and any
    /// event) goes out.
    pub fn state_mut(&mut self) -> &mut A::State {
        self.dirty = true;
        &mut self.state
    }

    /// The actor's ordered key-value space, for what grows (histories, logs, indexes):
    /// its writes are committed with this message's state change. See [`Kv`].
    pub fn kv(&mut self) -> Kv<'_> {
        Kv::new(&mut self.kv)
    }

    /// Sends `event` to every connection subscribed to it, once the changes made so far are
    /// committed. A payload that cannot be serialized is logged and dropped.
    pub fn broadcast(&self, event: &str, payload: impl Serialize) {
        match serde_json::to_value(payload) {
            Ok(payload) => self.effects.lock().push(Effect::Broadcast {
                event: event.to_owned(),
                payload,
            }),
            Err(e) => {
                tracing::error!(actor = %self.id, event, error = %e, "could not serialize a broadcast payload");
            }
        }
    }

    /// The open connections.
    pub fn connections(&self) -> impl Iterator<Item = &Connection<A>> {
        self.connections.values()
    }

    /// One open connection.
    pub fn connection(&self, id: ConnId) -> Option<&Connection<A>> {
        self.connections.get(&id.get())
    }

    /// One open connection, to change its state or subscriptions.
    pub fn connection_mut(&mut self, id: ConnId) -> Option<&mut Connection<A>> {
        // its subscriptions may change
        self.audiences.clear();
        self.connections.get_mut(&id.get())
    }

    pub(crate) fn insert_connection(&mut self, connection: Connection<A>) {
        self.audiences.clear();
        self.connections.insert(connection.id().get(), connection);
    }

    pub(crate) fn remove_connection(&mut self, id: ConnId) -> Option<Connection<A>> {
        self.audiences.clear();
        self.connections.remove(&id.get())
    }

    /// The connections subscribed to `event`, with their outlets.
    pub(crate) fn audience(&mut self, event: &str) -> Arc<[(ConnId, Outlet)]> {
        if let Some(audience) = self.audiences.iter().find(|a| a.event == event) {
            return audience.targets.clone();
        }
        let targets: Arc<[(ConnId, Outlet)]> = self
            .connections
            .values()
            .filter(|c| c.is_subscribed(event))
            .map(|c| (c.id(), c.outlet().clone()))
            .collect();
        if self.audiences.len() >= MAX_AUDIENCES {
            self.audiences.remove(0);
        }
        self.audiences.push(Audience {
            event: event.to_owned(),
            targets: targets.clone(),
        });
        targets
    }

    /// Calls `method` with `args` (anything that serializes to a JSON array, such as a tuple;
    /// `()` for none) after `delay`. The alarm is committed with the current changes and is
    /// delivered at least once, also after a restart. Returns the alarm's id.
    ///
    /// # Errors
    ///
    /// `invalid_arguments` when `args` is not an array (or `()`), or when `delay` reaches
    /// past what the clock can represent.
    pub fn schedule_after(
        &mut self,
        delay: Duration,
        method: &str,
        args: impl Serialize,
    ) -> Result<u64, ActorError> {
        let at = SystemTime::now().checked_add(delay).ok_or_else(|| {
            ActorError::with_code(
                crate::protocol::ErrorCode::InvalidArguments,
                format!("a delay of {delay:?} reaches past what the clock can represent"),
            )
        })?;
        self.schedule_at(at, method, args)
    }

    /// Calls `method` with `args` at `at` (at once if that is past). See
    /// [`schedule_after`](ActorCtx::schedule_after).
    ///
    /// # Errors
    ///
    /// `invalid_arguments` when `args` is not an array (or `()`).
    pub fn schedule_at(
        &mut self,
        at: SystemTime,
        method: &str,
        args: impl Serialize,
    ) -> Result<u64, ActorError> {
        let args = match serde_json::to_value(args)? {
            Value::Array(args) => args,
            Value::Null => Vec::new(),
            other => {
                return Err(ActorError::with_code(
                    crate::protocol::ErrorCode::InvalidArguments,
                    format!("scheduled arguments must be an array or a tuple, not {other}"),
                ));
            }
        };
        let id = rand::random::<u64>();
        self.new_alarms.push(Alarm {
            id,
            at_ms: millis(at),
            method: method.to_owned(),
            args,
        });
        Ok(id)
    }

    /// Destroys the actor for good once the current message is handled: its changes are
    /// committed, every connection gets a `close` (`actor_destroyed`) and `on_disconnect`,
    /// and a tombstone is written, so its key can never come back.
    pub fn shutdown(&mut self) {
        self.shutdown = true;
    }
}
