//! [`ActorSystem`]: registers actor kinds by name, gets or creates instances by (name, key),
//! routes calls and connections to them, and owns the committer and the scheduler.
//! What operators do with stored actors (inspect, repair) is in [`operator`].

mod operator;

pub use self::operator::StoredState;

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::cluster::{ClusterConfig, Directory};
use super::commit::{CommitMsg, CommitRequest, CommitStats, Counters, run_committer};
use super::commit_record::CommitRecord;
use super::config::ActorConfig;
use super::connection::{ConnId, ConnectionHandle, ConnectionSender};
use super::error::SystemError;
use super::forward::{Forwarded, ForwardedCall, Forwarder};
use super::instance::{self, Call, Connect, Factory, Msg, Presence, Reply, Spawn};
use super::outbound::Outlet;
use super::rpc::Actions;
use super::schedule::{SchedulerActor, SchedulerCmd, run_scheduler};
use crate::protocol::{ErrorCode, WireError};
use crate::store::{ActorId, ActorStore, ActorWrite, StoreError, StoredActor};
use crate::versioned::{self, StateError};
use flame_actor::Actor;

/// What every instance shares.
pub(crate) struct Shared {
    pub(crate) config: ActorConfig,
    store: RwLock<Option<Arc<dyn ActorStore>>>,
    pub(crate) committer: mpsc::UnboundedSender<CommitMsg>,
    pub(crate) scheduler: mpsc::UnboundedSender<SchedulerCmd>,
    pub(crate) scheduler_caller: Arc<dyn Actor>,
    pub(crate) counters: Arc<Counters>,
    runtime: tokio::runtime::Handle,
    /// Cluster mode: the directory and the link to the other nodes.
    pub(crate) cluster: Option<Arc<ClusterLink>>,
    /// The system, for instances that hand their queued messages back to it.
    pub(crate) system: OnceLock<Weak<SystemInner>>,
}

/// Cluster mode's parts, shared by every instance.
#[derive(Debug)]
pub(crate) struct ClusterLink {
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) forwarder: Forwarder,
    pub(crate) secret: Arc<str>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("store", &self.store.read())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The store, unless the system has shut down.
    pub(crate) fn store(&self) -> Option<Arc<dyn ActorStore>> {
        self.store.read().clone()
    }

    pub(crate) async fn load(&self, id: &ActorId) -> Result<StoredActor, StoreError> {
        let store = self.store.read().clone().ok_or(StoreError::Closed)?;
        store.load(id).await
    }

    /// Commits `write` (in cluster mode, fenced by `epoch`) through the committer and waits
    /// until it is durable.
    pub(crate) async fn commit_now(
        &self,
        write: ActorWrite,
        epoch: Option<u64>,
    ) -> Result<(), StoreError> {
        let (ack, rx) = oneshot::channel();
        self.committer
            .send(CommitMsg::Write(CommitRequest { write, epoch, ack }))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

type SpawnFn = Box<dyn Fn(Spawn) + Send + Sync>;

/// A kind's state handling, without its types: what operators' calls need.
#[derive(Debug, Clone, Copy)]
struct StateCodec {
    /// Whether stored bytes load (migrating them if needed, writing nothing).
    check: fn(&ActorId, &[u8]) -> Result<(), StateError>,
    /// A JSON value as a stored state of the current version, if it is one.
    encode: fn(&ActorId, Value) -> Result<Vec<u8>, StateError>,
}

/// One registered kind and its live instances.
pub(crate) struct Kind {
    pub(crate) name: Arc<str>,
    /// The kind's action names.
    actions: &'static [&'static str],
    codec: StateCodec,
    slots: Mutex<Slots>,
    spawn: SpawnFn,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("live", &self.slots.lock().live.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Slots {
    live: HashMap<Arc<str>, Slot>,
    /// Cluster mode: keys another node owns, as the directory last said.
    remote: HashMap<Arc<str>, Remote>,
    /// Destroyed keys seen by this process (the store has them all).
    destroyed: HashSet<Arc<str>>,
    /// Keys an operator is writing to ([`ActorSystem::repair_state`]): no activation starts.
    held: HashSet<Arc<str>>,
}

/// One key held in memory, as [`ActorSystem::live_keys`] lists it.
///
/// ```
/// fn show(k: &flame_stateful::LiveKey) -> String {
///     format!(
///         "{} hibernating={} mailbox={} connections={}",
///         k.key, k.hibernating, k.mailbox, k.connections
///     )
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveKey {
    /// The actor's key.
    pub key: String,
    /// Its actor is out of memory while its connections stay open.
    pub hibernating: bool,
    /// Messages waiting in its mailbox.
    pub mailbox: usize,
    /// The client connections it holds (a hibernating actor keeps its connections, so they
    /// count here too).
    pub connections: usize,
}

struct Slot {
    tx: mpsc::Sender<Msg>,
    generation: u64,
    /// The instance is on its way out: a new activation waits until it is gone.
    retiring: bool,
    /// Ends (with an error) when the instance's task has ended.
    gone: watch::Receiver<()>,
    /// `awake` is false while the instance hibernates: its actor is out of memory, its task
    /// and mailbox (and connections) are not. `connections`: how many it holds, either way.
    presence: Arc<Presence>,
}

/// Cluster mode: the node that owns an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    pub(crate) node: Arc<str>,
    pub(crate) address: Arc<str>,
}

/// Where a message for (name, key) can go right now.
enum Route {
    Live(mpsc::Sender<Msg>),
    /// Cluster mode: another node owns it.
    Remote(Remote),
    /// Wait for the retiring instance to be gone, then ask again. Its closed mailbox comes
    /// along for [`ActorSystem::get`], whose handle then finds the successor on its first call.
    Retiring(watch::Receiver<()>, mpsc::Sender<Msg>),
}

/// Waits until the instance that held `gone` has ended.
async fn wait_gone(mut gone: watch::Receiver<()>) {
    // no value is ever sent: this returns when the sender, held by the instance's task, is
    // dropped
    while gone.changed().await.is_ok() {}
}

impl Kind {
    /// The instance is on its way out (stop intake): later senders wait for it to be gone
    /// and then start a new activation, so that two instances of one key never write at
    /// the same time.
    pub(crate) fn begin_retire(&self, key: &str, generation: u64) {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.live.get_mut(key)
            && slot.generation == generation
        {
            slot.retiring = true;
        }
    }

    /// Cluster mode: the activation found the actor owned by `remote`; the instance leaves
    /// the registry and later messages go there.
    pub(crate) fn moved_away(&self, key: &Arc<str>, generation: u64, remote: Remote) {
        let mut slots = self.slots.lock();
        if slots
            .live
            .get(key)
            .is_some_and(|s| s.generation == generation)
        {
            slots.live.remove(key);
        }
        slots.remote.insert(key.clone(), remote);
    }

    /// Cluster mode: `remote` did not take a call for `key`: ask the directory again.
    fn forget_remote(&self, key: &str, remote: &Remote) {
        let mut slots = self.slots.lock();
        if slots.remote.get(key) == Some(remote) {
            slots.remote.remove(key);
        }
    }

    /// Leaves the registry (if this generation is still the live one).
    pub(crate) fn retire(&self, key: &str, generation: u64, destroyed: bool) {
        let mut slots = self.slots.lock();
        if slots
            .live
            .get(key)
            .is_some_and(|s| s.generation == generation)
        {
            slots.live.remove(key);
        }
        if destroyed {
            slots.destroyed.insert(key.into());
        }
    }

    /// Leaves the registry if nobody but the registry can send to the instance and its
    /// mailbox is empty: then no message can be lost.
    pub(crate) fn retire_if_idle(
        &self,
        key: &str,
        generation: u64,
        rx: &mpsc::Receiver<Msg>,
    ) -> bool {
        let mut slots = self.slots.lock();
        let idle =
            slots.live.get(key).is_some_and(|s| {
                s.generation == generation && !s.retiring && s.tx.strong_count() == 1
            }) && rx.is_empty();
        if idle {
            slots.live.remove(key);
        }
        idle
    }
}

/// The actor system's shared inside.
pub(crate) struct SystemInner {
    pub(crate) shared: Arc<Shared>,
    kinds: HashMap<String, Arc<Kind>>,
    /// The name each actor type was first registered under, for typed handles.
    names: HashMap<TypeId, Arc<str>>,
    next_conn: AtomicU64,
    next_generation: AtomicU64,
    shutting_down: AtomicBool,
}

impl fmt::Debug for SystemInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystem")
            .field("kinds", &self.kinds.values().collect::<Vec<_>>())
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

fn not_found(name: &str) -> WireError {
    WireError::new(
        ErrorCode::ActorNotFound,
        format!("no actor kind is registered as `{name}`"),
    )
}

fn unavailable() -> WireError {
    WireError::new(ErrorCode::Unavailable, "the actor system is shutting down")
}

impl SystemInner {
    fn kind(&self, name: &str) -> Result<&Arc<Kind>, WireError> {
        self.kinds.get(name).ok_or_else(|| not_found(name))
    }

    /// The mailbox of (name, key), creating the instance if needed, or the retiring
    /// instance to wait for, or (cluster mode) the node that owns it. `here`: a call another
    /// node forwarded, which must not go elsewhere (the instance asks the directory itself).
    fn route(&self, name: &str, key: &str, here: bool) -> Result<Route, WireError> {
        let kind = self.kind(name)?;
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(unavailable());
        }
        let mut slots = kind.slots.lock();
        if let Some(slot) = slots.live.get(key) {
            return Ok(if slot.retiring {
                Route::Retiring(slot.gone.clone(), slot.tx.clone())
            } else {
                Route::Live(slot.tx.clone())
            });
        }
        if slots.destroyed.contains(key) {
            return Err(WireError::new(
                ErrorCode::ActorDestroyed,
                format!("the actor {name}/{key} was destroyed"),
            ));
        }
        if slots.held.contains(key) {
            return Err(WireError::new(
                ErrorCode::Unavailable,
                format!("the state of {name}/{key} is being repaired"),
            ));
        }
        if here {
            slots.remote.remove(key);
        } else if let Some(remote) = slots.remote.get(key) {
            return Ok(Route::Remote(remote.clone()));
        }
        let (tx, rx) = mpsc::channel(self.shared.config.mailbox_capacity.max(1));
        let (alive, gone) = watch::channel(());
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let key: Arc<str> = key.into();
        let presence = Arc::new(Presence::default());
        slots.live.insert(
            key.clone(),
            Slot {
                tx: tx.clone(),
                generation,
                retiring: false,
                gone,
                presence: presence.clone(),
            },
        );
        (kind.spawn)(Spawn {
            kind: kind.clone(),
            shared: self.shared.clone(),
            key,
            generation,
            rx,
            alive,
            presence,
        });
        Ok(Route::Live(tx))
    }

    /// Where a message for (name, key) goes: a local mailbox (creating the instance if
    /// needed, after a retiring instance of the key is gone), or the owning node.
    async fn target(&self, name: &str, key: &str, here: bool) -> Result<Route, WireError> {
        loop {
            match self.route(name, key, here)? {
                Route::Retiring(gone, _) => wait_gone(gone).await,
                route => return Ok(route),
            }
        }
    }

    /// Sends `msg` to (name, key); if the instance went away meanwhile, to its successor;
    /// in cluster mode, to the node that owns it. The local mailbox it went to, if any.
    pub(crate) async fn send(
        &self,
        name: &str,
        key: &str,
        mut msg: Msg,
    ) -> Result<Option<mpsc::Sender<Msg>>, WireError> {
        let here = msg.is_forwarded();
        for _ in 0..3 {
            match self.target(name, key, here).await? {
                Route::Live(tx) | Route::Retiring(_, tx) => match post(&tx, msg).await {
                    Ok(()) => return Ok(Some(tx)),
                    Err(returned) => msg = returned,
                },
                Route::Remote(remote) => match self.forward(&remote, name, key, msg).await {
                    Ok(()) => return Ok(None),
                    Err(returned) => {
                        if let Ok(kind) = self.kind(name) {
                            kind.forget_remote(key, &remote);
                        }
                        msg = returned;
                    }
                },
            }
        }
        let error = WireError::new(ErrorCode::Unavailable, "the actor could not be reached");
        msg.fail(&error);
        Err(error)
    }

    /// Cluster mode: hands `msg` to the node that owns the actor. Calls are forwarded and
    /// answered; an alarm is left to the owner (it has the actor's alarms); anything else
    /// is answered `unavailable`. `Err`: the call was not delivered, ask again.
    async fn forward(&self, remote: &Remote, name: &str, key: &str, msg: Msg) -> Result<(), Msg> {
        let Some(link) = self.shared.cluster.as_ref() else {
            msg.fail(&unavailable());
            return Ok(());
        };
        match msg {
            Msg::Call(call) if matches!(call.reply, Reply::Direct(_)) => {
                let Call {
                    method,
                    args,
                    caller,
                    conn,
                    reply,
                    forwarded,
                } = *call;
                let who = caller
                    .clone()
                    .unwrap_or_else(|| self.shared.scheduler_caller.clone());
                let wire = ForwardedCall {
                    name: name.to_owned(),
                    key: key.to_owned(),
                    method: method.to_string(),
                    args,
                    caller: link.forwarder.identity.encode(&*who),
                };
                match link.forwarder.call(&remote.address, &wire).await {
                    Forwarded::Answered(result) => {
                        if let Reply::Direct(tx) = reply {
                            let _ = tx.send(result);
                        }
                        Ok(())
                    }
                    Forwarded::NotDelivered => {
                        tracing::debug!(actor.name = name, actor.key = key, node = %remote.node, "a forwarded call was not delivered; asking the directory again");
                        Err(Msg::call(Call {
                            method,
                            args: wire.args,
                            caller,
                            conn,
                            reply,
                            forwarded,
                        }))
                    }
                }
            }
            Msg::Alarm(delivery) => {
                // the owner loaded the actor's alarms when it activated it
                if let Some(done) = delivery.done {
                    let _ = done.send(Ok(()));
                }
                Ok(())
            }
            msg => {
                msg.fail(&WireError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "{name}/{key} lives on node {}; connect to that node (only calls are forwarded)",
                        remote.node
                    ),
                ));
                Ok(())
            }
        }
    }

    /// Cluster mode: the node lost its lease; every local instance stops (its connections
    /// close with `unavailable`, a transient code) and the owners it knew are forgotten.
    fn stop_all(&self) {
        for kind in self.kinds.values() {
            let mut slots = kind.slots.lock();
            slots.remote.clear();
            for slot in slots.live.values() {
                let tx = slot.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Stop { done: None }).await;
                });
            }
        }
    }
}

/// Cluster mode: stops every instance each time the node loses its lease.
async fn watch_lease(mut losses: watch::Receiver<u64>, system: Weak<SystemInner>) {
    while losses.changed().await.is_ok() {
        let Some(system) = system.upgrade() else {
            return;
        };
        tracing::warn!("this node lost its lease: stopping every local actor");
        system.stop_all();
    }
}

/// Cluster mode: activates, now and then, the actors with a due alarm that no live node
/// owns (their owner died), so the alarms run.
async fn claim_orphaned_alarms(
    directory: Arc<dyn Directory>,
    every: std::time::Duration,
    system: Weak<SystemInner>,
) {
    let mut tick = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if system.strong_count() == 0 {
            return;
        }
        let orphans = match directory.orphaned_alarms().await {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::debug!(error = %e, "could not look for orphaned alarms");
                continue;
            }
        };
        let Some(system) = system.upgrade() else {
            return;
        };
        for actor in orphans {
            // the activation takes ownership (one node wins) and loads the actor's alarms;
            // an owner this node remembers for it is dead by now, so it is not asked
            if system.route(&actor.name, &actor.key, true).is_ok() {
                tracing::debug!(actor = %actor, "claimed an actor with orphaned alarms");
            }
        }
    }
}

impl Drop for SystemInner {
    fn drop(&mut self) {
        for kind in self.kinds.values() {
            for slot in kind.slots.lock().live.values() {
                let _ = slot.tx.try_send(Msg::Stop { done: None });
            }
        }
    }
}

/// Builds an [`ActorSystem`]: config, store, kinds.
///
/// ```
/// use flame_stateful::{ActorConfig, ActorSystem};
/// use flame_stateful::store::MemoryStore;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder()
///     .config(ActorConfig::default())
///     .store(MemoryStore::new())
///     .build()
///     .await?;
/// assert_eq!(system.kinds().count(), 0);
/// # Ok::<(), flame_stateful::SystemError>(()) }).unwrap();
/// ```
pub struct ActorSystemBuilder {
    config: ActorConfig,
    store: Option<Arc<dyn ActorStore>>,
    cluster: Option<ClusterConfig>,
    kinds: Vec<(String, SpawnFn, &'static [&'static str], StateCodec, TypeId)>,
}

impl fmt::Debug for ActorSystemBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystemBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("cluster", &self.cluster)
            .field(
                "kinds",
                &self.kinds.iter().map(|(n, ..)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ActorSystemBuilder {
    /// Sets the limits and timeouts.
    pub fn config(mut self, config: ActorConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps the embedded store in `dir` (shorthand for setting `ActorConfig::data_dir`).
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.data_dir = dir.into();
        self
    }

    /// Uses `store` instead of the embedded redb file.
    pub fn store(self, store: impl ActorStore) -> Self {
        self.shared_store(Arc::new(store))
    }

    /// Uses a shared `store` instead of the embedded redb file.
    pub fn shared_store(mut self, store: Arc<dyn ActorStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Cluster mode: this system is one node of several sharing the store; `cluster`'s
    /// directory decides where each actor lives and fences every write (see
    /// [`cluster`](crate::cluster)). flame-postgres makes one from a database URL.
    pub fn cluster(mut self, cluster: ClusterConfig) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Registers the actor kind `A` as `name`; `factory` makes the actor object of each
    /// instance (again after a crash).
    pub fn register<A: Actions>(
        mut self,
        name: &str,
        factory: impl Fn(&ActorId) -> A + Send + Sync + 'static,
    ) -> Self {
        const {
            assert!(
                A::STATE_VERSION >= 1,
                "StatefulActor::STATE_VERSION starts at 1"
            )
        };
        let factory: Factory<A> = Arc::new(factory);
        let spawn: SpawnFn = Box::new(move |spawn: Spawn| {
            let runtime = spawn.shared.runtime.clone();
            runtime.spawn(instance::run::<A>(spawn, factory.clone()));
        });
        let codec = StateCodec {
            check: versioned::check::<A>,
            encode: versioned::encode_value::<A>,
        };
        self.kinds
            .push((name.to_owned(), spawn, A::ACTIONS, codec, TypeId::of::<A>()));
        self
    }

    /// Registers the actor kind `A` as `name`, made with `A::default()`.
    pub fn register_default<A: Actions + Default>(self, name: &str) -> Self {
        self.register(name, |_: &ActorId| A::default())
    }

    /// Opens the store (the redb file in `data_dir` unless one was given), starts the
    /// committer and the scheduler, and loads the pending alarms. Call it inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// A kind registered twice, or a store that cannot be opened or read.
    pub async fn build(self) -> Result<ActorSystem, SystemError> {
        let config = self.config;
        let store: Arc<dyn ActorStore> = match self.store {
            Some(store) => store,
            #[cfg(feature = "redb")]
            None => Arc::new(crate::store::RedbStore::open_dir(&config.data_dir)?),
            #[cfg(not(feature = "redb"))]
            None => return Err(SystemError::NoStore),
        };
        let alarms = store.load_alarms().await?;
        let orphan_scan = self
            .cluster
            .as_ref()
            .map_or(std::time::Duration::from_secs(1), |c| c.orphan_scan);
        let cluster = self.cluster.map(|c| {
            Arc::new(ClusterLink {
                directory: c.directory.clone(),
                forwarder: Forwarder::new(&c),
                secret: c.secret.clone(),
            })
        });

        let counters = Arc::new(Counters::default());
        let (committer, commit_rx) = mpsc::unbounded_channel();
        tokio::spawn(run_committer(
            store.clone(),
            cluster.as_ref().map(|c| c.directory.clone()),
            commit_rx,
            config.group_commit_window,
            config.max_commit_batch,
            counters.clone(),
        ));
        let (scheduler, sched_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            store: RwLock::new(Some(store)),
            committer,
            scheduler: scheduler.clone(),
            scheduler_caller: Arc::new(SchedulerActor),
            counters,
            runtime: tokio::runtime::Handle::current(),
            cluster,
            system: OnceLock::new(),
        });

        let mut kinds = HashMap::new();
        let mut names = HashMap::new();
        for (name, spawn, actions, codec, type_id) in self.kinds {
            if kinds.contains_key(&name) {
                return Err(SystemError::DuplicateKind(name));
            }
            names
                .entry(type_id)
                .or_insert_with(|| Arc::from(name.as_str()));
            let kind = Kind {
                name: name.as_str().into(),
                actions,
                codec,
                slots: Mutex::new(Slots::default()),
                spawn,
            };
            kinds.insert(name, Arc::new(kind));
        }
        let inner = Arc::new(SystemInner {
            shared,
            kinds,
            names,
            next_conn: AtomicU64::new(1),
            next_generation: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
        });
        let _ = inner.shared.system.set(Arc::downgrade(&inner));
        tokio::spawn(run_scheduler(sched_rx, Arc::downgrade(&inner)));
        if let Some(link) = &inner.shared.cluster {
            tokio::spawn(watch_lease(
                link.directory.lease_losses(),
                Arc::downgrade(&inner),
            ));
            tokio::spawn(claim_orphaned_alarms(
                link.directory.clone(),
                orphan_scan,
                Arc::downgrade(&inner),
            ));
        }
        let pending = alarms.len();
        for (actor, alarm) in alarms {
            let _ = scheduler.send(SchedulerCmd::Add(actor, alarm));
        }
        tracing::info!(
            kinds = inner.kinds.len(),
            pending_alarms = pending,
            "actor system started"
        );
        Ok(ActorSystem { inner })
    }
}

/// The stateful actor runtime: kinds by name, instances by (name, key), one task and a
/// bounded mailbox per instance, group commit to the store, scheduled calls.
///
/// Cheap to clone. Call [`shutdown`](ActorSystem::shutdown) to stop every instance and
/// release the store before the program (or a test) opens it again.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::Actor;
/// use flame_stateful::{actions, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
/// use flame_stateful::store::MemoryStore;
///
/// #[derive(Default)]
/// struct Counter;
///
/// impl StatefulActor for Counter {
///     type State = i64;
///     type ConnParams = ();
///     type ConnState = ();
///     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
/// }
///
/// #[actions]
/// impl Counter {
///     async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
///         *rpc.state_mut() += by;
///         *rpc.state()
///     }
/// }
///
/// #[derive(Debug)]
/// struct Job;
/// impl Actor for Job { fn actor_type(&self) -> &str { "job" } }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder()
///     .store(MemoryStore::new())
///     .register_default::<Counter>("counter")
///     .build()
///     .await?;
/// let caller: Arc<dyn Actor> = Arc::new(Job);
/// let n = system.call("counter", "a", "increment", vec![5.into()], caller.clone()).await?;
/// assert_eq!(n, 5);
/// // a connection: what the WebSocket transport does for each client
/// let conn = system.connect("counter", "a", "null", caller).await?;
/// assert_eq!(conn.rpc("increment", vec![1.into()]).await?, 6);
/// system.shutdown().await;
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct ActorSystem {
    inner: Arc<SystemInner>,
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl ActorSystem {
    /// Starts building a system.
    pub fn builder() -> ActorSystemBuilder {
        ActorSystemBuilder {
            config: ActorConfig::default(),
            store: None,
            cluster: None,
            kinds: Vec::new(),
        }
    }

    /// The limits and timeouts in force.
    pub fn config(&self) -> &ActorConfig {
        &self.inner.shared.config
    }

    /// The registered kind names.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.inner.kinds.keys().map(String::as_str)
    }

    /// The name the actor type `A` was first registered under, if it was.
    ///
    /// ```
    /// # use flame_stateful::{ActorError, ActorSystem, InitCtx, StatefulActor, actions};
    /// # use flame_stateful::store::MemoryStore;
    /// # #[derive(Default)] struct Counter;
    /// # impl StatefulActor for Counter {
    /// #     type State = i64; type ConnParams = (); type ConnState = ();
    /// #     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
    /// # }
    /// # #[actions] impl Counter {}
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = ActorSystem::builder()
    ///     .store(MemoryStore::new())
    ///     .register_default::<Counter>("counter")
    ///     .build()
    ///     .await?;
    /// assert_eq!(system.name_of::<Counter>(), Some("counter"));
    /// # Ok::<(), flame_stateful::SystemError>(()) }).unwrap();
    /// ```
    pub fn name_of<A: Actions>(&self) -> Option<&str> {
        self.inner.names.get(&TypeId::of::<A>()).map(|n| &**n)
    }

    /// A handle to the instance (name, key), created (and initialized, if new) on first use.
    /// Calls through it come from `caller`. A handle keeps its instance loaded.
    ///
    /// # Errors
    ///
    /// `actor_not_found`, `actor_destroyed`, `unavailable`.
    pub fn get(
        &self,
        name: &str,
        key: &str,
        caller: Arc<dyn Actor>,
    ) -> Result<ActorRef, WireError> {
        let tx = match self.inner.route(name, key, false)? {
            Route::Live(tx) | Route::Retiring(_, tx) => Some(tx),
            // the owner is another node: calls through the handle go there
            Route::Remote(_) => None,
        };
        let actions = self.inner.kinds.get(name).map_or(&[][..], |k| k.actions);
        Ok(ActorRef {
            system: self.clone(),
            id: ActorId::new(name, key),
            caller,
            actions,
            tx,
        })
    }

    /// Calls the action `method` of (name, key) without a connection (the stateless HTTP
    /// RPC, a background job).
    ///
    /// # Errors
    ///
    /// The action's error, or `actor_not_found`, `actor_destroyed`, `unavailable`.
    pub async fn call(
        &self,
        name: &str,
        key: &str,
        method: &str,
        args: Vec<Value>,
        caller: Arc<dyn Actor>,
    ) -> Result<Value, WireError> {
        self.call_from(name, key, method, args, caller, false).await
    }

    /// Whether this system is one node of a cluster, and the secret its nodes share.
    pub(crate) fn cluster_secret(&self) -> Option<&str> {
        self.inner.shared.cluster.as_ref().map(|c| &*c.secret)
    }

    /// Cluster mode: the address of the node that owns (name, key), as this node last
    /// learned it (`None`: local, or not known).
    pub(crate) fn remote_address(&self, name: &str, key: &str) -> Option<String> {
        let kind = self.inner.kinds.get(name)?;
        let slots = kind.slots.lock();
        slots.remote.get(key).map(|r| r.address.to_string())
    }

    /// Cluster mode: the node at `address` could not be reached for (name, key): ask the
    /// directory again next time.
    pub(crate) fn forget_owner(&self, name: &str, key: &str, address: &str) {
        if let Some(kind) = self.inner.kinds.get(name) {
            let mut slots = kind.slots.lock();
            if slots
                .remote
                .get(key)
                .is_some_and(|r| &*r.address == address)
            {
                slots.remote.remove(key);
            }
        }
    }

    /// How callers' identities travel between nodes (cluster mode).
    pub(crate) fn identity_codec(&self) -> Option<&Arc<dyn crate::cluster::IdentityCodec>> {
        self.inner
            .shared
            .cluster
            .as_ref()
            .map(|c| &c.forwarder.identity)
    }

    /// [`call`](Self::call), for a call another node forwarded (`forwarded`): it runs here
    /// or is refused with [`NOT_THE_OWNER`], never forwarded again.
    pub(crate) async fn call_from(
        &self,
        name: &str,
        key: &str,
        method: &str,
        args: Vec<Value>,
        caller: Arc<dyn Actor>,
        forwarded: bool,
    ) -> Result<Value, WireError> {
        let kind = self.inner.kind(name)?;
        if !kind.actions.contains(&method) {
            // refused before any instance is loaded, or created: a request for an action
            // that does not exist leaves nothing behind
            return Err(crate::__private::not_found(method).to_wire());
        }
        let (reply, rx) = oneshot::channel();
        let msg = Msg::call(Call {
            method: action_name(kind.actions, method),
            args,
            caller: Some(caller),
            conn: None,
            reply: Reply::Direct(reply),
            forwarded,
        });
        self.inner.send(name, key, msg).await?;
        rx.await.map_err(|_| lost())?
    }

    /// Connects `caller` to (name, key) with `params` (JSON text; empty means `null`):
    /// runs `on_before_connect` and `on_connect`, and returns the connection once they
    /// succeeded and their changes are committed. The first outbound message is `init`.
    ///
    /// # Errors
    ///
    /// `params_too_long`, `invalid_params`, the hooks' errors (`unauthorized`,
    /// `connection_rejected`, ...), `actor_not_found`, `actor_destroyed`, `unavailable`.
    pub async fn connect(
        &self,
        name: &str,
        key: &str,
        params: &str,
        caller: Arc<dyn Actor>,
    ) -> Result<ConnectionHandle, WireError> {
        let capacity = self.inner.shared.config.outbound_capacity.max(1);
        let (outbound, outbound_rx) = mpsc::channel(capacity);
        let sender = self
            .connect_outlet(name, key, params, caller, Outlet::Channel(outbound))
            .await?;
        Ok(ConnectionHandle::new(sender, outbound_rx))
    }

    /// [`connect`](Self::connect) for a transport that takes the connection's messages
    /// through `outlet` rather than reading a channel.
    pub(crate) async fn connect_outlet(
        &self,
        name: &str,
        key: &str,
        params: &str,
        caller: Arc<dyn Actor>,
        outlet: Outlet,
    ) -> Result<ConnectionSender, WireError> {
        let config = &self.inner.shared.config;
        if params.len() > config.max_params_size {
            return Err(WireError::new(
                ErrorCode::ParamsTooLong,
                format!(
                    "connection params are {} bytes, the limit is {}",
                    params.len(),
                    config.max_params_size
                ),
            ));
        }
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Connect(Box::new(Connect {
            conn,
            params: params.to_owned(),
            caller,
            outlet,
            reply,
        }));
        let tx = self.inner.send(name, key, msg).await?;
        rx.await.map_err(|_| lost())??;
        let tx = tx.ok_or_else(lost)?;
        Ok(ConnectionSender::new(conn, tx, config.max_message_size).with_limits(config))
    }

    /// Destroys (name, key) for good, loaded or not: its connections are closed
    /// (`actor_destroyed`), a tombstone is committed, and the key can never come back.
    /// Destroying a destroyed actor is fine.
    ///
    /// # Errors
    ///
    /// An unknown kind, or the store failed.
    pub async fn destroy(&self, name: &str, key: &str) -> Result<(), SystemError> {
        let kind = self
            .inner
            .kinds
            .get(name)
            .ok_or_else(|| SystemError::UnknownKind(name.to_owned()))?;
        for _ in 0..3 {
            let route = {
                let mut slots = kind.slots.lock();
                if slots.destroyed.contains(key) {
                    return Ok(());
                }
                match slots.live.get(key) {
                    Some(slot) if slot.retiring => {
                        Some(Route::Retiring(slot.gone.clone(), slot.tx.clone()))
                    }
                    Some(slot) => Some(Route::Live(slot.tx.clone())),
                    // cluster mode: only the owner's activation may write the tombstone
                    None if self.inner.shared.cluster.is_some() => None,
                    None => {
                        // no activation can start while the key is marked destroyed
                        slots.destroyed.insert(key.into());
                        None
                    }
                }
            };
            let route = match route {
                Some(route) => route,
                None if self.inner.shared.cluster.is_some() => {
                    let (done, rx) = oneshot::channel();
                    self.inner
                        .send(name, key, Msg::Destroy { done })
                        .await
                        .map_err(|e| SystemError::Unavailable(e.message))?;
                    return rx.await.unwrap_or_else(|_| {
                        Err(SystemError::Unavailable("the actor stopped".into()))
                    });
                }
                None => return self.destroy_unloaded(kind, name, key).await,
            };
            match route {
                // a retiring instance may still write: the tombstone comes after it
                Route::Retiring(gone, _) => wait_gone(gone).await,
                Route::Remote(_) => {
                    return Err(SystemError::Unavailable(format!(
                        "{name}/{key} lives on another node: destroy it there"
                    )));
                }
                Route::Live(tx) => {
                    let (done, rx) = oneshot::channel();
                    if tx.send(Msg::Destroy { done }).await.is_ok() {
                        return rx.await.unwrap_or_else(|_| {
                            Err(SystemError::Unavailable("the actor stopped".into()))
                        });
                    }
                }
            }
        }
        Err(SystemError::Unavailable(
            "the actor could not be reached".into(),
        ))
    }

    /// Writes the tombstone of an actor that is not loaded (the key is already marked
    /// destroyed in the registry, and unmarked if the write fails).
    async fn destroy_unloaded(
        &self,
        kind: &Kind,
        name: &str,
        key: &str,
    ) -> Result<(), SystemError> {
        let id = ActorId::new(name, key);
        let mut write = ActorWrite::new(id.clone());
        write.destroy = true;
        if let Err(e) = self.inner.shared.commit_now(write, None).await {
            kind.slots.lock().destroyed.remove(key);
            return Err(e.into());
        }
        let _ = self
            .inner
            .shared
            .scheduler
            .send(SchedulerCmd::RemoveActor(id.clone()));
        tracing::info!(actor = %id, "destroyed");
        Ok(())
    }

    /// Whether (name, key) is loaded right now: its actor and state are in memory (not
    /// unloaded, not hibernating).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = flame_stateful::ActorSystem::builder()
    ///     .store(flame_stateful::store::MemoryStore::new())
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(!system.is_loaded("counter", "a"));
    /// # })
    /// ```
    pub fn is_loaded(&self, name: &str, key: &str) -> bool {
        self.slot_is(name, key, true)
    }

    /// Whether (name, key) hibernates right now: its actor is out of memory while its
    /// connections stay open ([`ActorConfig::hibernation`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = flame_stateful::ActorSystem::builder()
    ///     .store(flame_stateful::store::MemoryStore::new())
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(!system.is_hibernating("counter", "a"));
    /// # })
    /// ```
    pub fn is_hibernating(&self, name: &str, key: &str) -> bool {
        self.slot_is(name, key, false)
    }

    fn slot_is(&self, name: &str, key: &str, awake: bool) -> bool {
        self.inner.kinds.get(name).is_some_and(|k| {
            k.slots
                .lock()
                .live
                .get(key)
                .is_some_and(|slot| slot.presence.awake.load(Ordering::Acquire) == awake)
        })
    }

    /// How many instances are loaded right now (hibernating ones not counted).
    pub fn loaded_count(&self) -> usize {
        self.count_slots(true)
    }

    /// How many instances hibernate right now.
    pub fn hibernating_count(&self) -> usize {
        self.count_slots(false)
    }

    fn count_slots(&self, awake: bool) -> usize {
        self.inner
            .kinds
            .values()
            .map(|k| {
                k.slots
                    .lock()
                    .live
                    .values()
                    .filter(|slot| slot.presence.awake.load(Ordering::Acquire) == awake)
                    .count()
            })
            .sum()
    }

    /// Alarms delivered and handled by their actor since the system started.
    pub fn alarms_fired(&self) -> u64 {
        self.inner
            .shared
            .counters
            .alarms_fired
            .load(Ordering::Relaxed)
    }

    /// Messages waiting in the mailboxes of all loaded instances right now.
    pub fn mailbox_depth(&self) -> usize {
        self.inner
            .kinds
            .values()
            .map(|k| {
                k.slots
                    .lock()
                    .live
                    .values()
                    .map(|slot| slot.tx.max_capacity() - slot.tx.capacity())
                    .sum::<usize>()
            })
            .sum()
    }

    /// The keys of `name` held in memory right now (loaded or hibernating), in key order,
    /// starting after `after` (a cursor: the last key of the previous page), at most `limit`
    /// of them (and never more than [`MAX_INSPECT_PAGE`](Self::MAX_INSPECT_PAGE)). Empty for
    /// an unknown kind.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use flame_stateful::{actions, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
    /// # use flame_stateful::store::MemoryStore;
    /// # #[derive(Default)] struct Counter;
    /// # impl StatefulActor for Counter {
    /// #     type State = i64; type ConnParams = (); type ConnState = ();
    /// #     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
    /// # }
    /// # #[actions] impl Counter {
    /// #     async fn increment(&self, rpc: &mut Rpc<Self>) -> i64 { *rpc.state_mut() += 1; *rpc.state() }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = ActorSystem::builder()
    ///     .store(MemoryStore::new())
    ///     .register_default::<Counter>("counter")
    ///     .build()
    ///     .await?;
    /// let caller = Arc::new(flame_actor::BackendActor::new("ops"));
    /// for key in ["b", "a", "c"] {
    ///     system.call("counter", key, "increment", vec![], caller.clone()).await?;
    /// }
    /// let page = system.live_keys("counter", None, 2);
    /// assert_eq!(page.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// let next = system.live_keys("counter", Some("b"), 2);
    /// assert_eq!(next[0].key, "c");
    /// system.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn live_keys(&self, name: &str, after: Option<&str>, limit: usize) -> Vec<LiveKey> {
        let Some(kind) = self.inner.kinds.get(name) else {
            return Vec::new();
        };
        let limit = limit.min(Self::MAX_INSPECT_PAGE);
        let slots = kind.slots.lock();
        // A bounded selection of the smallest keys after the cursor, without sorting the
        // whole registry: a max-heap of at most `limit` entries.
        let mut heap: std::collections::BinaryHeap<&Arc<str>> =
            std::collections::BinaryHeap::with_capacity(limit + 1);
        for key in slots.live.keys() {
            if after.is_some_and(|after| &**key <= after) {
                continue;
            }
            heap.push(key);
            if heap.len() > limit {
                heap.pop();
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .filter_map(|key| {
                let slot = slots.live.get(key)?;
                Some(LiveKey {
                    key: key.to_string(),
                    hibernating: !slot.presence.awake.load(Ordering::Acquire),
                    connections: slot.presence.connections.load(Ordering::Relaxed),
                    mailbox: slot.tx.max_capacity() - slot.tx.capacity(),
                })
            })
            .collect()
    }

    /// The committer's counters: with many actors writing at once, `transactions` stays
    /// well below `writes`.
    pub fn commit_stats(&self) -> CommitStats {
        self.inner.shared.counters.snapshot()
    }

    /// The committer's last store transactions, newest first: at most
    /// [`RECENT_COMMITS`](crate::RECENT_COMMITS), each with when it started, its writes, the
    /// actors it wrote, how long the store took and whether its writers were told "done".
    /// See [`CommitRecord`] for an example.
    pub fn recent_commits(&self) -> Vec<CommitRecord> {
        self.inner.shared.counters.recent.snapshot()
    }

    /// Stops every instance (connections get `close` with `unavailable` and
    /// `on_disconnect` runs; everything is committed), stops the committer and releases the
    /// store. Calls after it fail with `unavailable`.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
        let mut waiting = Vec::new();
        for kind in self.inner.kinds.values() {
            let slots: Vec<_> = kind
                .slots
                .lock()
                .live
                .values()
                .map(|s| (s.tx.clone(), s.gone.clone()))
                .collect();
            for (tx, gone) in slots {
                // a retiring instance refuses the message, and is waited for all the same
                let _ = tx.send(Msg::Stop { done: None }).await;
                waiting.push(gone);
            }
        }
        for gone in waiting {
            wait_gone(gone).await;
        }
        let (done, rx) = oneshot::channel();
        if self
            .inner
            .shared
            .committer
            .send(CommitMsg::Shutdown(done))
            .is_ok()
        {
            let _ = rx.await;
        }
        self.inner.shared.store.write().take();
        if let Some(link) = &self.inner.shared.cluster {
            // the others may take this node's actors at once rather than after its lease
            link.directory.leave().await;
        }
        tracing::info!("actor system stopped");
    }
}

/// Puts `msg` in a mailbox: at once when it has room, without the waiting future of `send`
/// (tokio hands freed room to waiting senders first, so this jumps no queue), else once it
/// has. The message comes back if the instance is gone.
async fn post(tx: &mpsc::Sender<Msg>, msg: Msg) -> Result<(), Msg> {
    match tx.try_send(msg) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(msg)) => tx.send(msg).await.map_err(|e| e.0),
        Err(mpsc::error::TrySendError::Closed(msg)) => Err(msg),
    }
}

/// `method` as one of `actions` (borrowed, no allocation), or owned when it is not one.
fn action_name(actions: &'static [&'static str], method: &str) -> Cow<'static, str> {
    match actions.iter().find(|name| **name == method) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(method.to_owned()),
    }
}

fn lost() -> WireError {
    WireError::new(
        ErrorCode::Unavailable,
        "the actor stopped before it answered",
    )
}

/// A handle to one instance; calls through it come from the caller it was made with.
///
/// A handle keeps its instance loaded; get a new one from the system when you need it
/// rather than keeping one forever.
#[derive(Debug, Clone)]
pub struct ActorRef {
    system: ActorSystem,
    id: ActorId,
    caller: Arc<dyn Actor>,
    actions: &'static [&'static str],
    /// `None`: another node owns the instance (cluster mode).
    tx: Option<mpsc::Sender<Msg>>,
}

impl ActorRef {
    /// Which actor.
    pub fn id(&self) -> &ActorId {
        &self.id
    }

    /// Who calls.
    pub fn caller(&self) -> &Arc<dyn Actor> {
        &self.caller
    }

    /// The same instance, called by `caller`.
    pub fn with_caller(&self, caller: Arc<dyn Actor>) -> Self {
        Self {
            caller,
            ..self.clone()
        }
    }

    /// Calls the action `method` with positional `args`.
    ///
    /// # Errors
    ///
    /// The action's error, or `actor_destroyed`, `unavailable`.
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Value, WireError> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::call(Call {
            method: action_name(self.actions, method),
            args,
            caller: Some(self.caller.clone()),
            conn: None,
            reply: Reply::Direct(reply),
            forwarded: false,
        });
        let posted = match &self.tx {
            Some(tx) => post(tx, msg).await,
            None => Err(msg),
        };
        if let Err(msg) = posted {
            // the instance went away (destroyed, stopped, crashed): ask the system again
            self.system
                .inner
                .send(&self.id.name, &self.id.key, msg)
                .await?;
        }
        rx.await.map_err(|_| lost())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::{Actions, ActorError, InitCtx, Rpc, StatefulActor, actions};

    #[derive(Default)]
    struct Counter;

    impl StatefulActor for Counter {
        type State = i64;
        type ConnParams = ();
        type ConnState = ();
        async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
            Ok(0)
        }
    }

    #[actions]
    impl Counter {
        async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
            *rpc.state_mut() += by;
            *rpc.state()
        }
    }

    async fn counter_system() -> ActorSystem {
        ActorSystem::builder()
            .store(MemoryStore::new())
            .register_default::<Counter>("counter")
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_actor_ref_calls_known_and_unknown_methods() {
        assert!(matches!(
            action_name(Counter::ACTIONS, "increment"),
            Cow::Borrowed("increment")
        ));
        assert!(matches!(
            action_name(Counter::ACTIONS, "nope"),
            Cow::Owned(_)
        ));
        let system = counter_system().await;
        let caller: Arc<dyn Actor> = Arc::new(flame_actor::BackendActor::new("test"));
        let counter = system.get("counter", "a", caller).unwrap();
        assert_eq!(
            counter.call("increment", vec![2.into()]).await,
            Ok(Value::from(2))
        );
        let err = counter.call("nope", vec![]).await.unwrap_err();
        assert!(err.is(ErrorCode::ActionNotFound), "{err:?}");
        assert!(err.message.contains("nope"), "{err:?}");
        system.shutdown().await;
    }

    /// A full mailbox makes callers wait for room (`post`'s slow path), and none
    /// is lost; through an `ActorRef` and through `ActorSystem::call` alike.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_wait_for_room_in_a_full_mailbox() {
        let system = ActorSystem::builder()
            .store(MemoryStore::new())
            .config(crate::ActorConfig {
                mailbox_capacity: 1,
                ..Default::default()
            })
            .register_default::<Counter>("counter")
            .build()
            .await
            .unwrap();
        let caller: Arc<dyn Actor> = Arc::new(flame_actor::BackendActor::new("test"));
        let counter = system.get("counter", "a", caller.clone()).unwrap();
        let mut calls = Vec::new();
        for i in 0..200 {
            let counter = counter.clone();
            let system = system.clone();
            let caller = caller.clone();
            calls.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    counter.call("increment", vec![1.into()]).await
                } else {
                    system
                        .call("counter", "a", "increment", vec![1.into()], caller)
                        .await
                }
            }));
        }
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap().unwrap().as_i64().unwrap());
        }
        answers.sort_unstable();
        assert_eq!(answers, (1..=200).collect::<Vec<i64>>());
        system.shutdown().await;
    }

    /// What every loaded actor pays for, idle or not: its task's future and its mailbox,
    /// whose first block holds 32 messages. The budget is 4 KiB per idle actor in all.
    #[tokio::test]
    async fn an_idle_instance_is_small() {
        assert!(
            std::mem::size_of::<Msg>() <= 16,
            "a mailbox message is {} bytes",
            std::mem::size_of::<Msg>()
        );
        let system = counter_system().await;
        let inner = &system.inner;
        let (_tx, rx) = mpsc::channel(1);
        let spawn = Spawn {
            kind: inner.kinds["counter"].clone(),
            shared: inner.shared.clone(),
            key: "k".into(),
            generation: 0,
            rx,
            alive: watch::channel(()).0,
            presence: Arc::new(Presence::default()),
        };
        let factory: Factory<Counter> = Arc::new(|_: &ActorId| Counter);
        let task = instance::run::<Counter>(spawn, factory);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1024, "an instance's task future is {size} bytes");
        drop(task);
        system.shutdown().await;
    }
}
