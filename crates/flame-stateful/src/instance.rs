//! One actor instance: a tokio task that owns the actor, its state and its connections, and
//! handles the messages of its bounded mailbox one at a time (so the state needs no lock).
//!
//! The durability rule lives here. After each message, a changed state is serialized (the
//! *snapshot*) and staged; staged changes go to the committer as one write when no other
//! write of this instance is in flight. Every reply and event is tagged with the version of
//! the state it depends on and released only once that version is committed. A panic
//! restores the last snapshot (what the store has, or is about to have) and runs `on_start`
//! again; the connections stay.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::actor::{ConnectOptions, InitCtx};
use super::commit::{CommitMsg, CommitRequest};
use super::connection::{ConnId, Connection};
use super::context::{ActorCtx, Effect};
use super::error::{ActorError, SystemError};
use super::lifecycle::{Outcome, guarded};
use super::outbound::{Outbound, Outlet, Refused};
use super::rpc::{Actions, Rpc};
use super::schedule::SchedulerCmd;
use super::system::{Kind, Shared};
use crate::protocol::{ErrorCode, ServerMessage, WireError};
use crate::store::{ActorId, ActorWrite, Alarm, StoreError};
use flame_actor::Actor;

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
    Alarm(Box<Alarm>),
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

impl Msg {
    pub(crate) fn call(call: Call) -> Self {
        Msg::Call(Box::new(call))
    }
}

/// Where the answer of a call goes.
#[derive(Debug)]
pub(crate) enum Reply {
    Direct(oneshot::Sender<Result<Value, WireError>>),
    Conn { conn: ConnId, id: u64 },
}

impl Msg {
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
            _ => {}
        }
    }
}

/// Something to do once a version of the state is committed.
#[derive(Debug)]
enum Release {
    Effect(Effect),
    Reply(Reply, Result<Value, WireError>),
    Connected {
        conn: ConnId,
        reply: oneshot::Sender<Result<(), WireError>>,
    },
    Done(oneshot::Sender<()>),
}

#[derive(Debug)]
struct InFlight {
    version: u64,
    ack: oneshot::Receiver<Result<(), StoreError>>,
    alarms: Vec<Alarm>,
}

/// Why the main loop ended.
enum Exit {
    /// Idle: already retired.
    Unloaded,
    Destroy(Option<oneshot::Sender<Result<(), SystemError>>>),
    Stop(Option<oneshot::Sender<()>>),
    Failed(String),
}

/// A scratch buffer bigger than this is not kept for the next change: the state is big,
/// and keeping it would double what an idle actor holds.
const MAX_KEPT_SCRATCH: usize = 16 * 1024;

pub(crate) type Factory<A> = Arc<dyn Fn(&ActorId) -> A + Send + Sync>;

/// What the registry hands a new instance.
#[derive(Debug)]
pub(crate) struct Spawn {
    pub(crate) kind: Arc<Kind>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) key: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) rx: mpsc::Receiver<Msg>,
}

struct Instance<A: Actions> {
    actor: A,
    factory: Factory<A>,
    rpc: Rpc<A>,
    shared: Arc<Shared>,
    kind: Arc<Kind>,
    generation: u64,
    /// The latest serialized state: committed, or handed to the committer, or staged.
    snapshot: Vec<u8>,
    /// Where the next snapshot is serialized before it replaces `snapshot` (the two swap,
    /// so a change allocates nothing once both have grown to the state's size).
    scratch: Vec<u8>,
    /// The staged write is to carry `snapshot` (copied in when it is flushed, once per
    /// batch rather than once per change).
    state_staged: bool,
    /// Bumped whenever a change is staged.
    version: u64,
    committed: u64,
    staged: Option<ActorWrite>,
    in_flight: Option<InFlight>,
    outbox: VecDeque<(u64, Release)>,
    /// Connections to disconnect (their client is gone or too slow).
    broken: Vec<ConnId>,
    /// Serializing the state failed while handling the current message.
    stage_failed: bool,
    failed: Option<String>,
    active: bool,
    quiet_ticks: u8,
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

/// Sends a connection whose outlet refused a message (its client does not keep up, or is
/// gone) to `broken`, to be disconnected.
fn note_refusal(
    actor: &ActorId,
    conn: ConnId,
    offered: Result<(), Refused>,
    broken: &mut Vec<ConnId>,
) {
    match offered {
        Ok(()) => {}
        Err(Refused::Full) => {
            tracing::warn!(%actor, %conn, "the client does not keep up; closing its connection");
            broken.push(conn);
        }
        Err(Refused::Closed) => broken.push(conn),
    }
}

/// Offers `msg` to each of `targets`; the connections to disconnect.
fn offer_all(actor: &ActorId, targets: &[(ConnId, Outlet)], msg: &Outbound) -> Vec<ConnId> {
    let mut broken = Vec::new();
    for (conn, outlet) in targets {
        note_refusal(actor, *conn, outlet.offer_shared(msg), &mut broken);
    }
    broken
}

/// A broadcast to at least this many connections is shared out among the runtime's worker
/// threads; a smaller one is written by the actor's task alone.
const PARALLEL_FAN_OUT: usize = 512;

/// A broadcast too big for the actor's task alone, and how many parts it is split into.
struct FanOut {
    targets: Arc<[(ConnId, Outlet)]>,
    msg: Outbound,
    parts: usize,
}

/// Offers a broadcast to its targets: by the actor's task for a small audience (`None`),
/// or, for a big one, a [`FanOut`] to hand to [`fan_out`], since giving a message to a
/// socket costs a system call and the runtime has more than one worker thread.
fn offer_or_fan_out(
    actor: &ActorId,
    targets: Arc<[(ConnId, Outlet)]>,
    msg: Outbound,
    broken: &mut Vec<ConnId>,
) -> Option<FanOut> {
    if targets.len() >= PARALLEL_FAN_OUT {
        // one part per worker, each of at least half the threshold: on a machine with many
        // cores, a part is still worth its task
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let parts = workers.min(targets.len() / (PARALLEL_FAN_OUT / 2));
        if parts > 1 {
            return Some(FanOut {
                targets,
                msg,
                parts,
            });
        }
    }
    broken.extend(offer_all(actor, &targets, &msg));
    None
}

/// How many targets a part of a big broadcast takes at a time.
const FAN_OUT_CHUNK: usize = 64;

/// Splits a broadcast among its parts' tasks and returns once every target has it (or
/// refused it), so that the actor's next message to any of them comes after.
///
/// The parts take the targets a chunk at a time, from one counter, rather than a fixed
/// half each: a worker thread that shares its CPU (with another process, or with the
/// kernel's work for the sockets) does fewer chunks instead of holding up the broadcast,
/// and a part that never gets a worker in time leaves its share to the others.
async fn fan_out(
    actor: &ActorId,
    FanOut {
        targets,
        msg,
        parts,
    }: FanOut,
) -> Vec<ConnId> {
    let next = Arc::new(AtomicUsize::new(0));
    // All parts are spawned, none is run here: tokio keeps the last task a worker spawns
    // for that worker, and would not let another worker steal it while this one is busy.
    let parts: Vec<_> = (0..parts)
        .map(|_| {
            let (targets, msg, actor, next) =
                (targets.clone(), msg.clone(), actor.clone(), next.clone());
            tokio::spawn(async move {
                let mut broken = Vec::new();
                loop {
                    let start = next.fetch_add(FAN_OUT_CHUNK, Ordering::Relaxed);
                    if start >= targets.len() {
                        break broken;
                    }
                    let end = (start + FAN_OUT_CHUNK).min(targets.len());
                    broken.extend(offer_all(&actor, &targets[start..end], &msg));
                }
            })
        })
        .collect();
    let mut broken = Vec::new();
    for part in parts {
        match part.await {
            Ok(part) => broken.extend(part),
            Err(error) => tracing::error!(%actor, %error, "a part of a broadcast failed"),
        }
    }
    broken
}

/// Fails every message still in a (closed) mailbox.
fn drain(rx: &mut mpsc::Receiver<Msg>, error: &WireError) {
    rx.close();
    while let Ok(msg) = rx.try_recv() {
        msg.fail(error);
    }
}

/// Gives up on starting: leaves the registry and fails whatever is queued.
fn fail_start(
    kind: &Kind,
    key: &str,
    generation: u64,
    rx: &mut mpsc::Receiver<Msg>,
    error: &WireError,
    destroyed: bool,
) {
    kind.retire(key, generation, destroyed);
    drain(rx, error);
}

/// The instance's task.
pub(crate) async fn run<A: Actions>(spawn: Spawn, factory: Factory<A>) {
    // Boxed: loading and starting happen once, and inline their futures would be part of
    // the task's size for the instance's whole life.
    if let Some((instance, rx)) = Box::pin(load_and_start(spawn, factory)).await {
        instance.main_loop(rx).await;
    }
}

/// Loads (or initializes) the state and runs `on_start`; `None` when the instance cannot
/// start (its mailbox is drained with the reason).
async fn load_and_start<A: Actions>(
    spawn: Spawn,
    factory: Factory<A>,
) -> Option<(Box<Instance<A>>, mpsc::Receiver<Msg>)> {
    let Spawn {
        kind,
        shared,
        key,
        generation,
        mut rx,
    } = spawn;
    let id = ActorId {
        name: kind.name.clone(),
        key,
    };
    let (actor, state, snapshot) = match load_state(&shared, &id, &factory).await {
        Ok(loaded) => loaded,
        Err(failure) => {
            fail_start(
                &kind,
                &id.key,
                generation,
                &mut rx,
                &failure.error,
                failure.destroyed,
            );
            return None;
        }
    };

    let mut instance = Box::new(Instance {
        actor,
        factory,
        rpc: Rpc {
            ctx: ActorCtx::new(id, state),
            caller: shared.scheduler_caller.clone(),
            conn: None,
        },
        shared,
        kind,
        generation,
        snapshot,
        scratch: Vec::new(),
        state_staged: false,
        version: 0,
        committed: 0,
        staged: None,
        in_flight: None,
        outbox: VecDeque::new(),
        broken: Vec::new(),
        stage_failed: false,
        failed: None,
        active: true,
        quiet_ticks: 0,
    });
    if let Err(reason) = instance.start().await {
        tracing::error!(actor = %instance.id(), reason, "on_start failed");
        instance.settle(None, None).await;
        instance.drain_commits().await;
        let id = instance.id().clone();
        fail_start(
            &instance.kind,
            &id.key,
            generation,
            &mut rx,
            &unavailable("the actor could not be started"),
            false,
        );
        return None;
    }
    instance.settle(None, None).await;
    instance.flush();
    tracing::debug!(actor = %instance.id(), "started");
    Some((instance, rx))
}

/// Why an instance could not load its state: what its queued callers are told.
struct StartFailure {
    error: WireError,
    /// The actor was destroyed: its key never comes back.
    destroyed: bool,
}

impl StartFailure {
    fn unavailable(message: &str) -> Self {
        Self {
            error: unavailable(message),
            destroyed: false,
        }
    }
}

/// The actor value, its state and the state serialized: as stored, or made by
/// `on_initialize` and committed before anything else happens.
async fn load_state<A: Actions>(
    shared: &Shared,
    id: &ActorId,
    factory: &Factory<A>,
) -> Result<(A, A::State, Vec<u8>), StartFailure> {
    let stored = shared.load(id).await.map_err(|e| {
        tracing::error!(actor = %id, error = %e, "could not load the actor");
        StartFailure::unavailable("the actor could not be loaded")
    })?;
    if stored.destroyed {
        return Err(StartFailure {
            error: destroyed_error(id),
            destroyed: true,
        });
    }
    let actor = factory(id);
    if let Some(bytes) = stored.state {
        let state = serde_json::from_slice::<A::State>(&bytes).map_err(|e| {
            tracing::error!(actor = %id, error = %e, "the stored state does not deserialize");
            StartFailure::unavailable("the actor's state could not be read")
        })?;
        return Ok((actor, state, bytes.to_vec()));
    }
    let not_initialized = || StartFailure::unavailable("the actor could not be initialized");
    let init = InitCtx::new(id.clone());
    let state = match guarded(shared.config.hook_timeout, actor.on_initialize(&init)).await {
        Outcome::Done(Ok(state)) => state,
        outcome => {
            tracing::error!(actor = %id, outcome = ?outcome.describe(), "on_initialize failed");
            return Err(not_initialized());
        }
    };
    let bytes = serde_json::to_vec(&state).map_err(|e| {
        tracing::error!(actor = %id, error = %e, "the initial state does not serialize");
        not_initialized()
    })?;
    let mut write = ActorWrite::new(id.clone());
    write.state = Some(Arc::from(bytes.as_slice()));
    shared.commit_now(write).await.map_err(|e| {
        tracing::error!(actor = %id, error = %e, "could not commit the initial state");
        not_initialized()
    })?;
    tracing::debug!(actor = %id, "initialized");
    Ok((actor, state, bytes))
}

impl<T> Outcome<Result<T, ActorError>> {
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
        ctx.shutdown = false;
        if ctx.dirty {
            ctx.dirty = false;
            match serde_json::from_slice::<A::State>(&self.snapshot) {
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

    fn staged_mut(&mut self) -> &mut ActorWrite {
        let id = &self.rpc.ctx.id;
        self.staged
            .get_or_insert_with(|| ActorWrite::new(id.clone()))
    }

    /// Stages what the context changed. Returns whether the state changed.
    fn stage(&mut self) -> bool {
        let mut state_changed = false;
        let mut staged_any = false;
        if self.rpc.ctx.dirty {
            self.rpc.ctx.dirty = false;
            self.scratch.clear();
            match serde_json::to_writer(&mut self.scratch, &self.rpc.ctx.state) {
                Ok(()) => {
                    std::mem::swap(&mut self.snapshot, &mut self.scratch);
                    if self.scratch.capacity() > MAX_KEPT_SCRATCH {
                        self.scratch = Vec::new();
                    }
                    self.staged_mut();
                    self.state_staged = true;
                    state_changed = true;
                    staged_any = true;
                }
                Err(e) => {
                    tracing::error!(actor = %self.id(), error = %e, "the state does not serialize; the change is discarded");
                    self.rpc.ctx.dirty = true;
                    self.discard_changes();
                    self.stage_failed = true;
                    return false;
                }
            }
        }
        if !self.rpc.ctx.new_alarms.is_empty() {
            let alarms = std::mem::take(&mut self.rpc.ctx.new_alarms);
            self.staged_mut().put_alarms.extend(alarms);
            staged_any = true;
        }
        if staged_any {
            self.version += 1;
        }
        state_changed
    }

    /// After a message: stage the changes, run `on_state_change`, queue the effects.
    /// `first` goes before the effects, `last` after them.
    async fn settle(&mut self, first: Option<Release>, last: Option<Release>) {
        if self.stage() {
            let limit = self.shared.config.hook_timeout;
            match guarded(limit, self.actor.on_state_change(&mut self.rpc.ctx)).await {
                Outcome::Done(()) => {}
                Outcome::Panicked(msg) => Box::pin(self.crash("on_state_change", &msg)).await,
                Outcome::TimedOut => {
                    tracing::warn!(actor = %self.id(), "on_state_change timed out");
                    self.discard_changes();
                }
            }
            self.stage();
        }
        let stage_failed = std::mem::take(&mut self.stage_failed);
        if let Some(fan) = first.and_then(|release| self.release(release)) {
            self.wait_fan_out(fan).await;
        }
        let effects = std::mem::take(&mut *self.rpc.ctx.effects.lock());
        for effect in effects {
            if let Some(fan) = self.release(Release::Effect(effect)) {
                self.wait_fan_out(fan).await;
            }
        }
        if let Some(mut release) = last {
            if stage_failed && let Release::Reply(_, result) = &mut release {
                *result = Err(WireError::internal());
            }
            if let Some(fan) = self.release(release) {
                self.wait_fan_out(fan).await;
            }
        }
    }

    /// Delivers `release` now if everything before it is committed, else queues it. A
    /// broadcast too big for this task comes back, for [`wait_fan_out`](Self::wait_fan_out)
    /// before anything else is delivered.
    #[must_use]
    fn release(&mut self, release: Release) -> Option<FanOut> {
        if self.committed >= self.version && self.outbox.is_empty() {
            self.deliver(release)
        } else {
            self.outbox.push_back((self.version, release));
            None
        }
    }

    /// Runs a big broadcast's parts and waits for them.
    async fn wait_fan_out(&mut self, fan: FanOut) {
        // boxed: neither the idle task nor each message's future carries it
        let broken = Box::pin(fan_out(&self.rpc.ctx.id, fan)).await;
        self.broken.extend(broken);
    }

    fn send_to(&mut self, conn: ConnId, msg: impl Into<Outbound>) {
        if let Some(c) = self.rpc.ctx.connections.get(&conn.get()) {
            let offered = c.outlet().offer(msg.into());
            note_refusal(&self.rpc.ctx.id, conn, offered, &mut self.broken);
        }
    }

    /// Hands `release` over; a broadcast too big for this task comes back, to be awaited
    /// before anything else is delivered.
    #[must_use]
    fn deliver(&mut self, release: Release) -> Option<FanOut> {
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
        }
        None
    }

    /// Hands the staged changes to the committer, unless a write is already in flight.
    fn flush(&mut self) {
        if self.in_flight.is_some() {
            return;
        }
        let Some(mut write) = self.staged.take() else {
            return;
        };
        if std::mem::take(&mut self.state_staged) {
            write.state = Some(Arc::from(self.snapshot.as_slice()));
        }
        let alarms = write.put_alarms.clone();
        let (ack, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(CommitMsg::Write(request))) = self
            .shared
            .committer
            .send(CommitMsg::Write(CommitRequest { write, ack }))
        {
            let _ = request.ack.send(Err(StoreError::Closed));
        }
        self.in_flight = Some(InFlight {
            version: self.version,
            ack: rx,
            alarms,
        });
    }

    async fn on_ack(&mut self, result: Result<(), StoreError>) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        match result {
            Ok(()) => {
                self.committed = in_flight.version;
                for alarm in in_flight.alarms {
                    let _ = self
                        .shared
                        .scheduler
                        .send(SchedulerCmd::Add(self.rpc.ctx.id.clone(), alarm));
                }
                while let Some((version, _)) = self.outbox.front() {
                    if *version > self.committed {
                        break;
                    }
                    if let Some((_, release)) = self.outbox.pop_front()
                        && let Some(fan) = self.deliver(release)
                    {
                        self.wait_fan_out(fan).await;
                    }
                }
                self.flush();
            }
            Err(e) => {
                tracing::error!(actor = %self.id(), error = %e, "a commit failed; answering with internal_error and reloading the last committed state");
                self.staged = None;
                self.state_staged = false;
                for (_, release) in std::mem::take(&mut self.outbox) {
                    match release {
                        Release::Reply(reply, _) => {
                            // a reply: nothing to wait for
                            let _ = self.deliver(Release::Reply(reply, Err(WireError::internal())));
                        }
                        Release::Connected { conn, reply } => {
                            let _ = reply.send(Err(WireError::internal()));
                            self.broken.push(conn);
                        }
                        Release::Done(done) => {
                            let _ = done.send(());
                        }
                        Release::Effect(_) => {}
                    }
                }
                self.committed = self.version;
                Box::pin(self.reload()).await;
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
        let Some(bytes) = stored.state else {
            self.failed = Some(String::from("the actor's state is gone"));
            return;
        };
        self.snapshot = bytes.to_vec();
        self.rpc.ctx.dirty = true;
        self.discard_changes();
        self.actor = (self.factory)(self.id());
        if let Err(reason) = self.start().await {
            tracing::error!(actor = %self.id(), reason, "on_start failed after a reload");
            self.failed = Some(String::from("the actor could not be restarted"));
        }
    }

    /// Sends everything staged and waits until all of it is committed.
    async fn drain_commits(&mut self) {
        loop {
            self.flush();
            let Some(in_flight) = self.in_flight.as_mut() else {
                return;
            };
            let result = (&mut in_flight.ack)
                .await
                .unwrap_or(Err(StoreError::Closed));
            self.on_ack(result).await;
        }
    }

    async fn call(
        &mut self,
        method: &str,
        args: Vec<Value>,
        caller: Arc<dyn Actor>,
        conn: Option<ConnId>,
    ) -> Result<Value, WireError> {
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

    async fn on_disconnect(&mut self, conn: Connection<A>) {
        let limit = self.shared.config.hook_timeout;
        match guarded(limit, self.actor.on_disconnect(&mut self.rpc.ctx, &conn)).await {
            Outcome::Done(()) => {}
            Outcome::Panicked(message) => Box::pin(self.crash("on_disconnect", &message)).await,
            Outcome::TimedOut => {
                tracing::warn!(actor = %self.id(), conn = %conn.id(), "on_disconnect timed out");
            }
        }
        tracing::debug!(actor = %self.id(), conn = %conn.id(), "disconnected");
    }

    async fn connect(&mut self, connect: Connect) {
        let Connect {
            conn,
            params,
            caller,
            outlet,
            reply,
        } = connect;
        let text = if params.trim().is_empty() {
            "null"
        } else {
            params.as_str()
        };
        let params: A::ConnParams = match serde_json::from_str(text) {
            Ok(params) => params,
            Err(e) => {
                let _ = reply.send(Err(WireError::new(
                    ErrorCode::InvalidParams,
                    format!("invalid connection params: {e}"),
                )));
                return;
            }
        };
        let opts = ConnectOptions {
            params,
            caller,
            conn_id: conn,
        };
        let limit = self.shared.config.connect_timeout;
        let outcome = guarded(
            limit,
            self.actor.on_before_connect(&mut self.rpc.ctx, &opts),
        )
        .await;
        let refused = |e: &ActorError| {
            if e.is_public() {
                e.to_wire()
            } else {
                WireError::new(ErrorCode::ConnectionRejected, "the connection was rejected")
            }
        };
        let conn_state = match outcome {
            Outcome::Done(Ok(state)) => state,
            Outcome::Done(Err(e)) => {
                tracing::debug!(actor = %self.id(), conn = %conn, error = %e, "on_before_connect refused a connection");
                self.settle(None, None).await;
                let _ = reply.send(Err(refused(&e)));
                return;
            }
            Outcome::Panicked(message) => {
                Box::pin(self.crash("on_before_connect", &message)).await;
                let _ = reply.send(Err(WireError::internal()));
                return;
            }
            Outcome::TimedOut => {
                self.rpc.ctx.dirty = true;
                self.discard_changes();
                let _ = reply.send(Err(WireError::new(
                    ErrorCode::ConnectionRejected,
                    "on_before_connect timed out",
                )));
                return;
            }
        };
        let ConnectOptions { params, caller, .. } = opts;
        let effects = self.rpc.ctx.effects.clone();
        let connection = Connection::new(conn, params, conn_state, caller, outlet, effects);
        let outcome = guarded(limit, self.actor.on_connect(&mut self.rpc.ctx, &connection)).await;
        let error = match outcome {
            Outcome::Done(Ok(())) => None,
            Outcome::Done(Err(e)) => Some(refused(&e)),
            Outcome::Panicked(message) => {
                Box::pin(self.crash("on_connect", &message)).await;
                Some(WireError::internal())
            }
            Outcome::TimedOut => Some(WireError::new(
                ErrorCode::ConnectionRejected,
                "on_connect timed out",
            )),
        };
        match error {
            None => {
                tracing::debug!(actor = %self.id(), conn = %conn, "connected");
                self.rpc.ctx.insert_connection(connection);
                // settle stages on_connect's changes before it queues `Connected`, so the
                // answer waits for them to commit, and `init` goes out before any event
                self.settle(Some(Release::Connected { conn, reply }), None)
                    .await;
            }
            Some(error) => {
                let mut connection = connection;
                connection.attached.disarm();
                Box::pin(self.on_disconnect(connection)).await;
                self.settle(None, None).await;
                let _ = reply.send(Err(error));
            }
        }
    }

    async fn disconnect_broken(&mut self) {
        while let Some(conn) = self.broken.pop() {
            if let Some(connection) = self.rpc.ctx.remove_connection(conn) {
                Box::pin(self.on_disconnect(connection)).await;
                self.settle(None, None).await;
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
            Msg::Alarm(alarm) => {
                let alarm = *alarm;
                let caller = self.shared.scheduler_caller.clone();
                if let Err(e) = self.call(&alarm.method, alarm.args, caller, None).await {
                    tracing::warn!(actor = %self.id(), method = alarm.method, error = %e, "a scheduled call failed");
                }
                self.staged_mut().delete_alarms.push(alarm.id);
                self.version += 1;
                self.settle(None, None).await;
            }
            Msg::Connect(connect) => Box::pin(self.connect(*connect)).await,
            Msg::Subscribe { conn, event } => {
                if let Some(c) = self.rpc.ctx.connection_mut(conn) {
                    c.subscribe(String::from(event));
                }
            }
            Msg::Unsubscribe { conn, event } => {
                if let Some(c) = self.rpc.ctx.connection_mut(conn) {
                    c.unsubscribe(&event);
                }
            }
            Msg::Disconnect { conn, done } => {
                if let Some(connection) = self.rpc.ctx.remove_connection(conn) {
                    Box::pin(self.on_disconnect(connection)).await;
                }
                self.settle(None, done.map(Release::Done)).await;
            }
            Msg::Destroy { done } => return Some(Exit::Destroy(Some(done))),
            Msg::Stop { done } => return Some(Exit::Stop(done)),
        }
        if self.rpc.ctx.shutdown {
            return Some(Exit::Destroy(None));
        }
        self.failed.take().map(Exit::Failed)
    }

    /// Handles `first` and whatever else is in the mailbox, up to `max_batch` messages, then
    /// hands the changes to the committer; `Some` ends the main loop.
    async fn handle_batch(
        &mut self,
        first: Msg,
        rx: &mut mpsc::Receiver<Msg>,
        max_batch: usize,
    ) -> Option<Exit> {
        let mut next = Some(first);
        let mut exit = None;
        let mut handled = 0;
        while let Some(msg) = next.take() {
            exit = self.handle(msg).await;
            handled += 1;
            if exit.is_some() || handled >= max_batch {
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

    async fn main_loop(mut self: Box<Self>, mut rx: mpsc::Receiver<Msg>) {
        let period = (self.shared.config.idle_timeout / 2).max(Duration::from_millis(5));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max_batch = self.shared.config.max_batch.max(1);
        let exit = loop {
            enum Event {
                Ack(Result<(), StoreError>),
                Msg(Option<Msg>),
                Tick,
            }
            let waiting = self.in_flight.is_some();
            let event = tokio::select! {
                biased;
                result = async {
                    match self.in_flight.as_mut() {
                        Some(in_flight) => (&mut in_flight.ack).await,
                        None => std::future::pending().await,
                    }
                }, if waiting => Event::Ack(result.unwrap_or(Err(StoreError::Closed))),
                msg = rx.recv() => Event::Msg(msg),
                _ = tick.tick() => Event::Tick,
            };
            match event {
                // boxed, like a batch: one allocation per commit, and the idle task does not
                // carry what delivering after a commit needs
                Event::Ack(result) => Box::pin(self.on_ack(result)).await,
                Event::Msg(None) => break Exit::Stop(None),
                Event::Msg(Some(msg)) => {
                    self.active = true;
                    // Boxed: handling messages is the instance's biggest future. Boxed, an
                    // idle instance's task holds only what waiting needs, for the price of
                    // one allocation per batch of messages.
                    if let Some(exit) = Box::pin(self.handle_batch(msg, &mut rx, max_batch)).await {
                        break exit;
                    }
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
                    if self.idle_check(&rx) {
                        break Exit::Unloaded;
                    }
                }
            }
            if let Some(reason) = self.failed.take() {
                break Exit::Failed(reason);
            }
        };
        Box::pin(self.exit(exit, rx)).await;
    }

    fn idle_check(&mut self, rx: &mpsc::Receiver<Msg>) -> bool {
        if std::mem::take(&mut self.active) {
            self.quiet_ticks = 0;
            return false;
        }
        self.quiet_ticks = self.quiet_ticks.saturating_add(1);
        if self.quiet_ticks < 2
            || !self.rpc.ctx.connections.is_empty()
            || self.in_flight.is_some()
            || self.staged.is_some()
            || !self.outbox.is_empty()
        {
            return false;
        }
        let unloaded = self
            .kind
            .retire_if_idle(&self.rpc.ctx.id.key, self.generation, rx);
        if unloaded {
            tracing::debug!(actor = %self.id(), "unloaded (idle)");
        }
        unloaded
    }

    /// Closes every connection (after `on_disconnect`) with `code` and `reason`.
    async fn close_all(&mut self, code: ErrorCode, reason: &str) {
        let conns: Vec<ConnId> = self
            .rpc
            .ctx
            .connections
            .values()
            .map(Connection::id)
            .collect();
        for conn in conns {
            if let Some(connection) = self.rpc.ctx.remove_connection(conn) {
                connection.outlet().close(code.as_str(), reason);
                Box::pin(self.on_disconnect(connection)).await;
            }
        }
    }

    async fn exit(mut self: Box<Self>, exit: Exit, mut rx: mpsc::Receiver<Msg>) {
        let id = self.rpc.ctx.id.clone();
        match exit {
            Exit::Unloaded => drain(&mut rx, &unavailable("the actor was unloaded")),
            Exit::Destroy(done) => {
                self.kind.retire(&id.key, self.generation, true);
                rx.close();
                self.drain_commits().await;
                let mut write = ActorWrite::new(id.clone());
                write.destroy = true;
                let result = self.shared.commit_now(write).await;
                let _ = self
                    .shared
                    .scheduler
                    .send(SchedulerCmd::RemoveActor(id.clone()));
                match &result {
                    Ok(()) => tracing::info!(actor = %id, "destroyed"),
                    Err(e) => {
                        tracing::error!(actor = %id, error = %e, "could not write the tombstone")
                    }
                }
                self.close_all(ErrorCode::ActorDestroyed, "the actor was destroyed")
                    .await;
                drain(&mut rx, &destroyed_error(&id));
                if let Some(done) = done {
                    let _ = done.send(result.map_err(SystemError::from));
                }
            }
            Exit::Stop(done) => {
                self.kind.retire(&id.key, self.generation, false);
                drain(&mut rx, &unavailable("the actor system is shutting down"));
                self.close_all(ErrorCode::Unavailable, "the actor system is shutting down")
                    .await;
                self.settle(None, None).await;
                self.drain_commits().await;
                tracing::debug!(actor = %id, "stopped");
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
            Exit::Failed(reason) => {
                self.kind.retire(&id.key, self.generation, false);
                drain(&mut rx, &unavailable(&reason));
                self.close_all(ErrorCode::InternalError, &reason).await;
                self.settle(None, None).await;
                self.drain_commits().await;
                tracing::error!(actor = %id, reason, "the actor stopped after a failure");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a big broadcast take its targets a chunk at a time: every target gets
    /// the message exactly once, however many parts there are and whichever worker runs
    /// them, and the targets that are gone come back to be disconnected.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fan_out_gives_every_target_the_message_once() {
        // not a multiple of the chunk, and more parts than workers
        let count = 10 * FAN_OUT_CHUNK + 7;
        let mut receivers = Vec::new();
        let targets: Arc<[(ConnId, Outlet)]> = (0..count)
            .map(|i| {
                let (tx, rx) = mpsc::channel(4);
                receivers.push(rx);
                (ConnId(i as u64), Outlet::Channel(tx))
            })
            .collect();
        // every 100th client is gone
        for rx in receivers.iter_mut().step_by(100) {
            rx.close();
        }
        let msg = Outbound::shared_event("tick".into(), serde_json::json!(1));
        let broken = fan_out(
            &ActorId::new("room", "a"),
            FanOut {
                targets,
                msg,
                parts: 5,
            },
        )
        .await;

        let mut broken: Vec<u64> = broken.into_iter().map(ConnId::get).collect();
        broken.sort_unstable();
        let gone: Vec<u64> = (0..count as u64).step_by(100).collect();
        assert_eq!(broken, gone);
        for (i, rx) in receivers.iter_mut().enumerate() {
            if i % 100 == 0 {
                continue;
            }
            let got = rx.try_recv().expect("every open target has the message");
            assert_eq!(
                got.text().as_str(),
                r#"{"v":1,"type":"event","event":"tick","payload":1}"#
            );
            assert!(rx.try_recv().is_err(), "target {i} got the message twice");
        }
    }
}
