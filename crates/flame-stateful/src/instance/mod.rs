//! One actor instance: a tokio task that owns the actor, its state and its connections, and
//! handles the messages of its bounded mailbox one at a time (so the state needs no lock).
//!
//! - [`messages`]: what the mailbox carries.
//! - [`ledger`]: the durability rule. After each message a changed state is serialized and
//!   staged; staged changes go to the committer as one write when no other write of this
//!   instance is in flight; every reply and event is released only once the changes before
//!   it are committed.
//! - [`start`]: loading (or initializing) the state and running `on_start`.
//! - [`connect`]: connections coming and going.
//! - this file: the main loop, one message at a time, and what follows a message (staging,
//!   `on_state_change`, releasing).
//! - [`teardown`]: the one way out, for every reason an instance ends.
//! - [`hibernate`]: an idle instance with connections leaves memory but keeps them.
//!
//! A panic restores the last snapshot (what the store has, or is about to have) and runs
//! `on_start` again; the connections stay.

mod connect;
mod hibernate;
mod ledger;
mod messages;
mod start;
mod teardown;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use flame_actor::Actor;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use self::hibernate::Hibernated;
use self::ledger::{CommitLedger, LedgerLimits};
use self::teardown::Exit;
use crate::commit::{CommitMsg, CommitRequest};
use crate::connection::ConnId;
use crate::context::Effect;
use crate::lifecycle::{Outcome, guarded};
use crate::outbound::Outbound;
use crate::protocol::{ErrorCode, ServerMessage, WireError};
use crate::rpc::{Actions, Rpc};
use crate::schedule::SchedulerCmd;
use crate::store::{ActorId, StoreError};
use crate::system::{Kind, Shared};
use crate::transport::fan_out::{FanOut, fan_out, note_refusal, offer_or_fan_out};
use crate::versioned::{self, serialize_state};

pub(crate) use self::messages::{
    AlarmDelivery, Call, Connect, DisconnectRequest, EventRequest, Msg, Reply,
};
pub(crate) use self::start::run;

pub(crate) type Factory<A> = Arc<dyn Fn(&ActorId) -> A + Send + Sync>;

/// What the registry hands a new instance.
#[derive(Debug)]
pub(crate) struct Spawn {
    pub(crate) kind: Arc<Kind>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) key: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) rx: mpsc::Receiver<Msg>,
    /// Dropped when the instance's task ends: whoever waits for a retiring instance to be
    /// gone (a new activation of the same key, a destroy, a shutdown) is woken then.
    pub(crate) alive: watch::Sender<()>,
    /// Shared with the registry: whether the instance is awake, how many connections it holds.
    pub(crate) presence: Arc<Presence>,
}

/// What the registry can see of an instance without asking its task: read by
/// [`ActorSystem::live_keys`](crate::ActorSystem::live_keys) and the loaded / hibernating
/// counts, written only by the instance.
#[derive(Debug)]
pub(crate) struct Presence {
    /// False while the instance hibernates.
    pub(crate) awake: AtomicBool,
    /// The client connections the instance holds; a hibernating instance keeps its own.
    pub(crate) connections: AtomicUsize,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            awake: AtomicBool::new(true),
            connections: AtomicUsize::new(0),
        }
    }
}

impl Presence {
    /// Publishes how many connections the instance holds now; a plain store, once per
    /// connect or disconnect, never on the message path.
    pub(crate) fn publish_connections(&self, count: usize) {
        self.connections.store(count, Ordering::Relaxed);
    }
}

/// Something to do once the changes before it are committed.
#[derive(Debug)]
enum Release {
    Effect(Effect),
    Reply(Reply, Result<Value, WireError>),
    Connected {
        conn: ConnId,
        reply: oneshot::Sender<Result<(), WireError>>,
    },
    Done(oneshot::Sender<()>),
    /// An alarm was handled and its deletion is durable.
    AlarmDone(oneshot::Sender<Result<(), WireError>>),
}

/// Roughly how many bytes a JSON value holds, for back-pressure (not exact, and need not
/// be: it only has to grow with the value).
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
        Value::String(s) => 8 + s.len(),
        Value::Array(items) => 8 + items.iter().map(value_bytes).sum::<usize>(),
        Value::Object(map) => {
            8 + map
                .iter()
                .map(|(k, v)| k.len() + value_bytes(v))
                .sum::<usize>()
        }
    }
}

impl Release {
    fn bytes(&self) -> usize {
        64 + match self {
            Release::Effect(Effect::Broadcast { event, payload }) => {
                event.len() + value_bytes(payload)
            }
            Release::Effect(Effect::Send { msg, .. }) => match msg {
                ServerMessage::Event { event, payload } => event.len() + value_bytes(payload),
                _ => 0,
            },
            Release::Reply(_, Ok(output)) => value_bytes(output),
            Release::Reply(_, Err(e)) => e.code.len() + e.message.len(),
            Release::Connected { .. } | Release::Done(_) | Release::AlarmDone(_) => 0,
        }
    }
}

fn unavailable(message: &str) -> WireError {
    WireError::new(ErrorCode::Unavailable, message)
}

fn destroyed_error(id: &ActorId) -> WireError {
    WireError::new(
        ErrorCode::ActorDestroyed,
        format!("the actor {id} was destroyed"),
    )
}

/// Fails every message still in a (closed) mailbox.
fn drain(rx: &mut mpsc::Receiver<Msg>, error: &WireError) {
    rx.close();
    while let Ok(msg) = rx.try_recv() {
        msg.fail(error);
    }
}

struct Instance<A: Actions> {
    actor: A,
    factory: Factory<A>,
    rpc: Rpc<A>,
    shared: Arc<Shared>,
    kind: Arc<Kind>,
    generation: u64,
    ledger: CommitLedger<Release>,
    /// The answer of the committer for the write in flight.
    ack: Option<oneshot::Receiver<Result<(), StoreError>>>,
    /// Connections to disconnect (their client is gone or too slow).
    broken: Vec<ConnId>,
    /// Staging the current message's changes failed (the state does not serialize, a
    /// storage limit): its caller gets this error instead of its answer.
    stage_failed: Option<WireError>,
    failed: Option<String>,
    active: bool,
    quiet_ticks: u8,
    /// Held for the task's life; see [`Spawn::alive`].
    alive: watch::Sender<()>,
    /// See [`Spawn::presence`].
    presence: Arc<Presence>,
    /// Cluster mode: the epoch of this activation, carried by every write.
    epoch: Option<u64>,
    /// Cluster mode: a write was fenced (or the lease lost): the instance deactivates, and
    /// its connections close with a transient code.
    fenced: bool,
}

/// What the callers of a fenced write are told: transient, try again (the actor's new
/// owner answers).
fn moved() -> WireError {
    unavailable("the actor moved to another node; try again")
}

/// What an idle check decided.
enum Idle {
    Busy,
    /// Out of the registry: the instance ends.
    Unloaded,
    /// Connections (or handles) remain: the actor leaves memory, its task waits.
    Hibernate,
}

impl<T> Outcome<Result<T, crate::error::ActorError>> {
    fn describe(&self) -> String {
        match self {
            Outcome::Done(Ok(_)) => String::from("ok"),
            Outcome::Done(Err(e)) => e.to_string(),
            Outcome::Panicked(msg) => format!("panicked: {msg}"),
            Outcome::TimedOut => String::from("timed out"),
        }
    }
}

impl<A: Actions> Instance<A> {
    fn id(&self) -> &ActorId {
        &self.rpc.ctx.id
    }

    fn ledger_limits(shared: &Shared) -> LedgerLimits {
        LedgerLimits {
            max_batch: shared.config.max_batch,
            max_pending_bytes: shared.config.max_pending_bytes,
        }
    }

    async fn start(&mut self) -> Result<(), String> {
        let limit = self.shared.config.hook_timeout;
        match guarded(limit, self.actor.on_start(&mut self.rpc.ctx)).await {
            Outcome::Done(Ok(())) => Ok(()),
            outcome => {
                self.discard_changes();
                Err(outcome.describe())
            }
        }
    }

    /// Forgets what the current message changed: the state goes back to the snapshot.
    fn discard_changes(&mut self) {
        let ctx = &mut self.rpc.ctx;
        ctx.effects.lock().clear();
        ctx.new_alarms.clear();
        ctx.kv.discard_turn();
        ctx.shutdown = false;
        if ctx.dirty {
            ctx.dirty = false;
            match versioned::read_current::<A>(self.ledger.snapshot()) {
                Ok(state) => ctx.state = state,
                Err(e) => {
                    tracing::error!(actor = %ctx.id, error = %e, "could not restore the state");
                    self.failed = Some(String::from("the state could not be restored"));
                }
            }
        }
    }

    /// A hook or action panicked: restore the last snapshot, make a new actor, run `on_start`.
    async fn crash(&mut self, what: &str, message: &str) {
        tracing::error!(actor = %self.id(), what, panic = message, "the actor panicked; restarting it from its last committed state");
        // Panics leave `dirty` as it was; restore unconditionally.
        self.rpc.ctx.dirty = true;
        self.discard_changes();
        self.actor = (self.factory)(self.id());
        if let Err(reason) = self.start().await {
            tracing::error!(actor = %self.id(), reason, "on_start failed after a crash");
            self.failed = Some(String::from("the actor could not be restarted"));
        }
    }

    /// Stages what the context changed. Returns whether the state changed.
    fn stage(&mut self) -> bool {
        let ops = match self.rpc.ctx.kv.take_turn() {
            Ok(ops) => ops,
            Err(violation) => {
                tracing::warn!(actor = %self.id(), violation, "a message broke a storage limit; its changes are discarded");
                self.rpc.ctx.dirty = true;
                self.discard_changes();
                self.stage_failed = Some(WireError::new(ErrorCode::StorageLimit, violation));
                return false;
            }
        };
        let mut state_changed = false;
        if self.rpc.ctx.dirty {
            self.rpc.ctx.dirty = false;
            let state = &self.rpc.ctx.state;
            let version = A::STATE_VERSION;
            match self
                .ledger
                .stage_state(|buf| serialize_state(version, state, buf))
            {
                Ok(()) => state_changed = true,
                Err(e) => {
                    tracing::error!(actor = %self.id(), error = %e, "the state does not serialize and read back; the change is discarded");
                    self.rpc.ctx.dirty = true;
                    self.discard_changes();
                    self.stage_failed = Some(WireError::internal());
                    return false;
                }
            }
        }
        if !ops.is_empty() {
            let version = self.ledger.next_version();
            self.rpc.ctx.kv.staged(&ops, version);
            self.ledger.stage_kv(ops);
        }
        let alarms = std::mem::take(&mut self.rpc.ctx.new_alarms);
        self.ledger.stage_alarms(alarms);
        state_changed
    }

    /// After a message: stage the changes, run `on_state_change`, queue the effects.
    /// `first` goes before the effects, `last` after them.
    ///
    /// `on_state_change` observes a change; it cannot undo it. When it panics or times
    /// out, its own changes and events are discarded (a panic restarts the actor from the
    /// new state), while the change that triggered it stands: the caller is answered as
    /// the action said, and the action's own events go out.
    async fn settle(&mut self, first: Option<Release>, last: Option<Release>) {
        self.rpc.ctx.kv.measure_turn().await;
        if self.stage() {
            let action_effects = std::mem::take(&mut *self.rpc.ctx.effects.lock());
            let shutdown = self.rpc.ctx.shutdown;
            let limit = self.shared.config.hook_timeout;
            match guarded(limit, self.actor.on_state_change(&mut self.rpc.ctx)).await {
                Outcome::Done(()) => {}
                Outcome::Panicked(msg) => Box::pin(self.crash("on_state_change", &msg)).await,
                Outcome::TimedOut => {
                    tracing::warn!(actor = %self.id(), "on_state_change timed out; its changes are discarded");
                    self.rpc.ctx.dirty = true;
                    self.discard_changes();
                }
            }
            self.rpc.ctx.kv.measure_turn().await;
            self.stage();
            let mut effects = self.rpc.ctx.effects.lock();
            let hook_effects = std::mem::replace(&mut *effects, action_effects);
            effects.extend(hook_effects);
            drop(effects);
            self.rpc.ctx.shutdown |= shutdown;
        }
        let stage_failed = std::mem::take(&mut self.stage_failed);
        if let Some(release) = first {
            self.release(release).await;
        }
        let effects = std::mem::take(&mut *self.rpc.ctx.effects.lock());
        for effect in effects {
            self.release(Release::Effect(effect)).await;
        }
        if let Some(mut release) = last {
            if let (Some(error), Release::Reply(_, result)) = (stage_failed, &mut release) {
                *result = Err(error);
            }
            self.release(release).await;
        }
        self.ledger.end_message();
    }

    /// Delivers `release` now if everything before it is committed, else queues it.
    async fn release(&mut self, release: Release) {
        if let Some(release) = self.ledger.release(release, Release::bytes) {
            self.deliver(release).await;
        }
    }

    fn send_to(&mut self, conn: ConnId, msg: impl Into<Outbound>) {
        if let Some(c) = self.rpc.ctx.connections.get(&conn.get()) {
            let offered = c.outlet().offer(msg.into());
            note_refusal(&self.rpc.ctx.id, conn, offered, &mut self.broken);
        }
    }

    /// Hands `release` over; a big broadcast is awaited, so that nothing after it reaches
    /// any of its targets first.
    async fn deliver(&mut self, release: Release) {
        if let Some(fan) = self.deliver_now(release) {
            // boxed: neither the idle task nor each message's future carries it
            let broken = Box::pin(fan_out(&self.rpc.ctx.id, fan)).await;
            self.broken.extend(broken);
        }
    }

    #[must_use]
    fn deliver_now(&mut self, release: Release) -> Option<FanOut> {
        match release {
            Release::Effect(Effect::Broadcast { event, payload }) => {
                let targets = self.rpc.ctx.audience(&event);
                if targets.is_empty() {
                    return None;
                }
                // encoded once; every target shares the text and the payload
                let shared = Outbound::shared_event(event, payload);
                return offer_or_fan_out(&self.rpc.ctx.id, targets, shared, &mut self.broken);
            }
            Release::Effect(Effect::Send { conn, msg }) => self.send_to(conn, msg),
            Release::Reply(reply, Ok(_)) if !self.may_acknowledge() => {
                // a node that cannot vouch for its lease answers nothing it read
                self.fenced = true;
                self.failed
                    .get_or_insert_with(|| String::from("the node lost its lease"));
                return self.deliver_now(Release::Reply(reply, Err(moved())));
            }
            Release::Reply(Reply::Direct(tx), result) => {
                let _ = tx.send(result);
            }
            Release::Reply(Reply::Conn { conn, id }, result) => {
                let msg = match result {
                    Ok(output) => ServerMessage::RpcOk { id, output },
                    Err(e) => ServerMessage::RpcError {
                        id,
                        code: e.code,
                        message: e.message,
                    },
                };
                self.send_to(conn, msg);
            }
            Release::Connected { conn, reply } => {
                self.send_to(
                    conn,
                    ServerMessage::Init {
                        conn_id: conn.get(),
                    },
                );
                if reply.send(Ok(())).is_err() {
                    // The caller gave up waiting: nobody holds the other end.
                    self.broken.push(conn);
                }
            }
            Release::Done(done) => {
                let _ = done.send(());
            }
            Release::AlarmDone(done) => {
                let _ = done.send(Ok(()));
            }
        }
        None
    }

    /// Cluster mode: whether the node may still vouch for its lease (always, alone).
    fn may_acknowledge(&self) -> bool {
        self.shared
            .cluster
            .as_ref()
            .is_none_or(|c| c.directory.may_acknowledge())
    }

    /// Tells whoever waits for `release` that the change it followed was not committed.
    fn fail_release(&mut self, release: Release, error: &WireError) {
        match release {
            Release::Reply(reply, _) => {
                // a reply: nothing to wait for
                let _ = self.deliver_now(Release::Reply(reply, Err(error.clone())));
            }
            Release::Connected { conn, reply } => {
                let _ = reply.send(Err(error.clone()));
                self.broken.push(conn);
            }
            Release::Done(done) => {
                let _ = done.send(());
            }
            Release::AlarmDone(done) => {
                let _ = done.send(Err(error.clone()));
            }
            Release::Effect(_) => {}
        }
    }

    /// Hands the staged changes to the committer, unless a write is already in flight.
    fn flush(&mut self) {
        let Some(write) = self.ledger.take_write() else {
            return;
        };
        let (ack, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(CommitMsg::Write(request))) =
            self.shared.committer.send(CommitMsg::Write(CommitRequest {
                write,
                epoch: self.epoch,
                ack,
            }))
        {
            let _ = request.ack.send(Err(StoreError::Closed));
        }
        self.ack = Some(rx);
    }

    /// The committer answered for the write in flight. On success, releases what it
    /// unblocked and sends what was staged meanwhile; on failure, fails every waiting
    /// release and (when `reload`) reloads the committed state and restarts the actor.
    /// Returns whether the write was committed.
    async fn on_ack(&mut self, result: Result<(), StoreError>, reload: bool) -> bool {
        self.ack = None;
        match result {
            Ok(()) => {
                let alarms = self.ledger.committed();
                self.rpc.ctx.kv.committed(self.ledger.committed_version());
                for alarm in alarms {
                    let _ = self
                        .shared
                        .scheduler
                        .send(SchedulerCmd::Add(self.rpc.ctx.id.clone(), alarm));
                }
                while let Some(release) = self.ledger.next_due() {
                    self.deliver(release).await;
                }
                self.flush();
                true
            }
            Err(e) if e.is_fenced() => {
                // Never acknowledged: another activation owns the actor (or may, soon).
                // This one deactivates rather than reload: its state is not the latest.
                tracing::warn!(actor = %self.id(), error = %e, "a write was fenced; the actor deactivates here");
                let error = moved();
                for release in self.ledger.failed() {
                    self.fail_release(release, &error);
                }
                self.rpc.ctx.kv.reset();
                self.fenced = true;
                self.failed
                    .get_or_insert_with(|| String::from("another node owns the actor"));
                false
            }
            Err(e) => {
                tracing::error!(actor = %self.id(), error = %e, "a commit failed; answering with internal_error and reloading the last committed state");
                for release in self.ledger.failed() {
                    self.fail_release(release, &WireError::internal());
                }
                self.rpc.ctx.kv.reset();
                if reload && !self.fenced {
                    Box::pin(self.reload()).await;
                }
                false
            }
        }
    }

    /// Reloads the state from the store after a failed commit, and restarts the actor.
    async fn reload(&mut self) {
        let stored = match self.shared.load(&self.rpc.ctx.id).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(actor = %self.id(), error = %e, "could not reload the actor");
                self.failed = Some(String::from("the actor could not be reloaded"));
                return;
            }
        };
        match stored.state {
            Some(bytes) => match versioned::decode::<A>(self.id(), &bytes) {
                Ok(decoded) => {
                    self.ledger.reset_snapshot(decoded.bytes);
                    if decoded.migrated {
                        // the store still has the older version (the write of the migration
                        // was what failed): write it again
                        let snapshot = self.ledger.snapshot().to_vec();
                        let _ = self.ledger.stage_state(|buf| {
                            buf.extend_from_slice(&snapshot);
                            Ok::<(), std::convert::Infallible>(())
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(actor = %self.id(), error = %e, "could not reload the actor's state");
                    self.failed = Some(String::from("the actor's state could not be read"));
                    return;
                }
            },
            None if stored.destroyed => {
                self.failed = Some(String::from("the actor was destroyed"));
                return;
            }
            // its first write failed: the actor is new again, as if never initialized
            None => {
                let init = crate::actor::InitCtx::new(self.id().clone());
                let limit = self.shared.config.hook_timeout;
                let mut snapshot = Vec::new();
                let initialized = match guarded(limit, self.actor.on_initialize(&init)).await {
                    Outcome::Done(Ok(state)) => {
                        serialize_state(A::STATE_VERSION, &state, &mut snapshot).is_ok()
                    }
                    _ => false,
                };
                if !initialized {
                    self.failed = Some(String::from("the actor could not be initialized"));
                    return;
                }
                self.ledger.restart_provisional(snapshot);
            }
        }
        self.rpc.ctx.dirty = true;
        self.discard_changes();
        self.actor = (self.factory)(self.id());
        if let Err(reason) = self.start().await {
            tracing::error!(actor = %self.id(), reason, "on_start failed after a reload");
            self.failed = Some(String::from("the actor could not be restarted"));
        }
    }

    /// Sends everything staged and waits until all of it is committed and released (or
    /// failed, without a reload: for an instance on its way out). Returns whether every
    /// write was committed.
    async fn settle_ledger(&mut self) -> bool {
        let mut all_committed = true;
        loop {
            self.flush();
            let Some(ack) = self.ack.as_mut() else {
                return all_committed;
            };
            let result = ack.await.unwrap_or(Err(StoreError::Closed));
            all_committed &= self.on_ack(result, false).await;
        }
    }

    async fn call(
        &mut self,
        method: &str,
        args: Vec<Value>,
        caller: Arc<dyn Actor>,
        conn: Option<ConnId>,
    ) -> Result<Value, WireError> {
        if A::ACTIONS.contains(&method) {
            self.ledger.accept();
        }
        self.rpc.caller = caller;
        self.rpc.conn = conn;
        let limit = self.shared.config.rpc_timeout;
        let outcome = guarded(limit, self.actor.dispatch(&mut self.rpc, method, args)).await;
        self.rpc.conn = None;
        match outcome {
            Outcome::Done(Ok(output)) => Ok(output),
            Outcome::Done(Err(e)) => {
                if !e.is_public() {
                    tracing::error!(actor = %self.id(), method, error = %e, "an action failed");
                }
                Err(e.to_wire())
            }
            Outcome::Panicked(message) => {
                Box::pin(self.crash(method, &message)).await;
                Err(WireError::internal())
            }
            Outcome::TimedOut => {
                tracing::warn!(actor = %self.id(), method, "an action timed out; its changes are discarded");
                self.rpc.ctx.dirty = true;
                self.discard_changes();
                Err(WireError::new(
                    ErrorCode::RpcTimeout,
                    format!("`{method}` did not finish in {limit:?}"),
                ))
            }
        }
    }

    /// Handles one message; `Some` ends the main loop.
    async fn handle(&mut self, msg: Msg) -> Option<Exit> {
        match msg {
            Msg::Call(call) => {
                let Call {
                    method,
                    args,
                    caller,
                    conn,
                    reply,
                    forwarded: _,
                } = *call;
                let caller = match (caller, conn) {
                    (Some(caller), _) => caller,
                    (None, Some(conn)) => match self.rpc.ctx.connections.get(&conn.get()) {
                        Some(c) => c.caller().clone(),
                        None => {
                            if let Reply::Direct(tx) = reply {
                                let _ = tx.send(Err(WireError::new(
                                    ErrorCode::ConnectionClosed,
                                    "the connection is closed",
                                )));
                            }
                            return None;
                        }
                    },
                    (None, None) => self.shared.scheduler_caller.clone(),
                };
                let result = self.call(&method, args, caller, conn).await;
                self.settle(None, Some(Release::Reply(reply, result))).await;
            }
            Msg::Alarm(delivery) => {
                let AlarmDelivery { alarm, done } = *delivery;
                self.ledger.accept();
                let caller = self.shared.scheduler_caller.clone();
                if let Err(e) = self.call(&alarm.method, alarm.args, caller, None).await {
                    tracing::warn!(actor = %self.id(), method = alarm.method, error = %e, "a scheduled call failed");
                }
                self.ledger.stage_alarm_done(alarm.id);
                self.settle(None, done.map(Release::AlarmDone)).await;
            }
            Msg::Connect(connect) => Box::pin(self.connect(*connect)).await,
            Msg::Subscribe(request) => {
                let EventRequest { conn, event } = *request;
                if let Some(c) = self.rpc.ctx.connection_mut(conn) {
                    c.subscribe(event);
                }
            }
            Msg::Unsubscribe(request) => {
                if let Some(c) = self.rpc.ctx.connection_mut(request.conn) {
                    c.unsubscribe(&request.event);
                }
            }
            Msg::Disconnect(request) => {
                let DisconnectRequest { conn, done } = *request;
                if let Some(connection) = self.remove_connection(conn) {
                    Box::pin(self.on_disconnect(connection)).await;
                }
                self.settle(None, done.map(Release::Done)).await;
            }
            Msg::Destroy { done } => return Some(Exit::Destroy(Some(done))),
            Msg::Stop { done } => return Some(Exit::Stop(done)),
        }
        if std::mem::take(&mut self.rpc.ctx.shutdown) {
            return Some(Exit::Destroy(None));
        }
        self.failed.take().map(Exit::Failed)
    }

    /// Handles `first` and whatever else is in the mailbox, up to `max_batch` messages and
    /// as long as the ledger takes more, then hands the changes to the committer; `Some`
    /// ends the main loop.
    async fn handle_batch(&mut self, first: Msg, rx: &mut mpsc::Receiver<Msg>) -> Option<Exit> {
        let max_batch = self.shared.config.max_batch.max(1);
        let mut next = Some(first);
        let mut exit = None;
        let mut handled = 0;
        while let Some(msg) = next.take() {
            exit = self.handle(msg).await;
            handled += 1;
            if exit.is_some() || handled >= max_batch || !self.ledger.can_accept() {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !self.broken.is_empty() {
            Box::pin(self.disconnect_broken()).await;
        }
        self.flush();
        exit
    }

    /// Runs the instance until it ends (`None`), or until it hibernates: then what its
    /// task keeps while the actor is out of memory.
    async fn main_loop(
        mut self: Box<Self>,
        mut rx: mpsc::Receiver<Msg>,
    ) -> Option<(Box<Hibernated<A>>, mpsc::Receiver<Msg>)> {
        let period = (self.shared.config.idle_timeout / 2).max(Duration::from_millis(5));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            enum Event {
                Ack(Result<(), StoreError>),
                Msg(Option<Msg>),
                Tick,
            }
            let writing = self.ack.is_some();
            // back-pressure: while the ledger is full, messages wait in the mailbox (and
            // senders wait for room in it)
            let accepting = self.ledger.can_accept();
            let event = tokio::select! {
                biased;
                result = async {
                    match self.ack.as_mut() {
                        Some(ack) => ack.await,
                        None => std::future::pending().await,
                    }
                }, if writing => Event::Ack(result.unwrap_or(Err(StoreError::Closed))),
                msg = rx.recv(), if accepting => Event::Msg(msg),
                _ = tick.tick() => Event::Tick,
            };
            let exit = match event {
                // boxed, like a batch: one allocation per commit, and the idle task does not
                // carry what delivering after a commit needs
                Event::Ack(result) => {
                    Box::pin(self.on_ack(result, true)).await;
                    None
                }
                Event::Msg(None) => Some(Exit::Stop(None)),
                Event::Msg(Some(msg)) => {
                    self.active = true;
                    // Boxed: handling messages is the instance's biggest future. Boxed, an
                    // idle instance's task holds only what waiting needs, for the price of
                    // one allocation per batch of messages.
                    Box::pin(self.handle_batch(msg, &mut rx)).await
                }
                Event::Tick => {
                    for c in self.rpc.ctx.connections.values() {
                        if c.outlet().is_closed() {
                            self.broken.push(c.id());
                        }
                    }
                    if !self.broken.is_empty() {
                        Box::pin(self.disconnect_broken()).await;
                    }
                    self.flush();
                    match self.idle_check(&rx) {
                        Idle::Busy => None,
                        Idle::Unloaded => Some(Exit::Unloaded),
                        Idle::Hibernate => return Some((Box::new((*self).hibernate()), rx)),
                    }
                }
            };
            let exit = exit.or_else(|| self.failed.take().map(Exit::Failed));
            if let Some(exit) = exit {
                match Box::pin(self.exit(exit, &mut rx)).await {
                    teardown::Ended::Gone => return None,
                    teardown::Ended::StillHere => continue,
                }
            }
        }
    }

    fn idle_check(&mut self, rx: &mpsc::Receiver<Msg>) -> Idle {
        if std::mem::take(&mut self.active) {
            self.quiet_ticks = 0;
            return Idle::Busy;
        }
        self.quiet_ticks = self.quiet_ticks.saturating_add(1);
        if self.quiet_ticks < 2
            || self.ack.is_some()
            || !self.ledger.is_settled()
            || !self.broken.is_empty()
            || !rx.is_empty()
        {
            return Idle::Busy;
        }
        if self.rpc.ctx.connections.is_empty()
            && self
                .kind
                .retire_if_idle(&self.rpc.ctx.id.key, self.generation, rx)
        {
            self.ledger.discard_provisional();
            tracing::debug!(actor = %self.id(), "unloaded (idle)");
            return Idle::Unloaded;
        }
        if self.shared.config.hibernation {
            return Idle::Hibernate;
        }
        Idle::Busy
    }
}
