//! The test [`Counter`] actor, its [`Log`], and actor systems on memory, redb and a slow store.

use std::sync::Arc;
use std::time::Duration;

use flame_actor::Actor;
use flame_protocol::ServerMessage;
use flame_stateful::store::{
    ActorId, ActorStore, ActorWrite, Alarm, KvScan, MemoryStore, StoreError, StoredActor,
};
use flame_stateful::{
    ActorConfig, ActorCtx, ActorError, ActorSystem, ConnectOptions, Connection, ConnectionHandle,
    InitCtx, Rpc, StatefulActor, actions,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// What the hooks did, in order, across instances and systems.
#[derive(Clone, Default, Debug)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.lock().push(s.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().clone()
    }
    pub fn count(&self, prefix: &str) -> usize {
        self.0
            .lock()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
    pub fn clear(&self) {
        self.0.lock().clear();
    }
}

#[derive(Debug)]
pub struct TestCaller(pub &'static str);

impl Actor for TestCaller {
    fn actor_type(&self) -> &str {
        self.0
    }
}

pub fn caller() -> Arc<dyn Actor> {
    Arc::new(TestCaller("test"))
}

pub struct Counter {
    pub log: Log,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CounterState {
    pub count: i64,
}

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    pub token: String,
}

#[derive(Default)]
pub struct ConnState {
    pub user: String,
}

impl StatefulActor for Counter {
    type State = CounterState;
    type ConnParams = Params;
    type ConnState = ConnState;

    async fn on_initialize(&self, ctx: &InitCtx) -> Result<CounterState, ActorError> {
        self.log.push(format!("initialize:{}", ctx.key()));
        Ok(CounterState { count: 0 })
    }

    async fn on_start(&self, ctx: &mut ActorCtx<Self>) -> Result<(), ActorError> {
        self.log.push(format!("start:{}", ctx.state().count));
        Ok(())
    }

    async fn on_state_change(&self, ctx: &mut ActorCtx<Self>) {
        self.log.push(format!("state_change:{}", ctx.state().count));
        ctx.broadcast("count", ctx.state().count);
    }

    async fn on_before_connect(
        &self,
        _ctx: &mut ActorCtx<Self>,
        opts: &ConnectOptions<Params>,
    ) -> Result<ConnState, ActorError> {
        self.log
            .push(format!("before_connect:{}", opts.params.token));
        if opts.params.token == "bad" {
            return Err(ActorError::unauthorized("invalid auth token"));
        }
        Ok(ConnState {
            user: opts.params.token.clone(),
        })
    }

    async fn on_connect(
        &self,
        _ctx: &mut ActorCtx<Self>,
        conn: &Connection<Self>,
    ) -> Result<(), ActorError> {
        self.log.push(format!("connect:{}", conn.state().user));
        if conn.state().user == "fail-connect" {
            return Err(ActorError::new("test.refused", "refused in on_connect"));
        }
        conn.send("welcome", &conn.state().user);
        Ok(())
    }

    async fn on_disconnect(&self, _ctx: &mut ActorCtx<Self>, conn: &Connection<Self>) {
        self.log.push(format!("disconnect:{}", conn.state().user));
    }
}

#[actions]
impl Counter {
    async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> Result<i64, ActorError> {
        self.log.push(format!("increment:{by}"));
        rpc.state_mut().count += by;
        Ok(rpc.state().count)
    }

    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        rpc.state().count
    }

    async fn panic_after_increment(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
        rpc.state_mut().count += by;
        panic!("boom after adding {by}");
    }

    async fn fail_after_increment(&self, rpc: &mut Rpc<Self>, by: i64) -> Result<i64, ActorError> {
        rpc.state_mut().count += by;
        Err(ActorError::new(
            "test.failed",
            "this action fails on purpose",
        ))
    }

    async fn internal_failure(&self) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("a secret detail"))
    }

    async fn slow(&self, rpc: &mut Rpc<Self>, ms: u64) -> i64 {
        rpc.state_mut().count += 1000;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        rpc.state().count
    }

    async fn whoami(&self, rpc: &mut Rpc<Self>) -> (String, Option<u64>, Option<String>) {
        (
            rpc.caller().actor_type().to_owned(),
            rpc.conn_id().map(|c| c.get()),
            rpc.conn().map(|c| c.state().user.clone()),
        )
    }

    /// Subscribes (or unsubscribes) the calling connection from inside an action.
    async fn follow(&self, rpc: &mut Rpc<Self>, event: String, on: bool) -> bool {
        match rpc.conn_mut() {
            Some(conn) if on => conn.subscribe(event),
            Some(conn) => conn.unsubscribe(&event),
            None => return false,
        }
        true
    }

    async fn notify_me(&self, rpc: &mut Rpc<Self>, text: String) -> bool {
        match rpc.conn() {
            Some(conn) => {
                conn.send("direct", text);
                true
            }
            None => false,
        }
    }

    async fn destroy_me(&self, rpc: &mut Rpc<Self>) -> &'static str {
        rpc.shutdown();
        "bye"
    }

    async fn schedule_increment(
        &self,
        rpc: &mut Rpc<Self>,
        delay_ms: u64,
        by: i64,
    ) -> Result<u64, ActorError> {
        rpc.schedule_after(Duration::from_millis(delay_ms), "increment", (by,))
    }

    async fn echo(&self, a: String, b: Option<i64>) -> (String, Option<i64>) {
        (a, b)
    }

    #[action(name = "renamed")]
    async fn original_name(&self) -> &'static str {
        "renamed"
    }

    #[action(skip)]
    #[allow(dead_code)]
    async fn not_an_action(&self) {}
}

pub fn config() -> ActorConfig {
    ActorConfig {
        rpc_timeout: Duration::from_millis(300),
        ..ActorConfig::default()
    }
}

pub async fn memory_system(log: &Log) -> ActorSystem {
    system_with(log, MemoryStore::new(), config()).await
}

pub async fn system_with(log: &Log, store: impl ActorStore, config: ActorConfig) -> ActorSystem {
    let log = log.clone();
    ActorSystem::builder()
        .config(config)
        .store(store)
        .register("counter", move |_| Counter { log: log.clone() })
        .build()
        .await
        .expect("the system starts")
}

pub async fn redb_system(log: &Log, dir: &std::path::Path) -> ActorSystem {
    let log = log.clone();
    ActorSystem::builder()
        .config(config())
        .data_dir(dir)
        .register("counter", move |_| Counter { log: log.clone() })
        .build()
        .await
        .expect("the system starts")
}

/// The next outbound message, within a second.
pub async fn next(conn: &mut ConnectionHandle) -> Option<ServerMessage> {
    tokio::time::timeout(Duration::from_secs(1), conn.recv())
        .await
        .expect("a message within a second")
}

/// Connects and reads the `init` and `welcome` messages.
pub async fn connect(system: &ActorSystem, key: &str, token: &str) -> ConnectionHandle {
    let params = format!(r#"{{"token":"{token}"}}"#);
    let mut conn = system
        .connect("counter", key, &params, caller())
        .await
        .expect("connects");
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Init {
            conn_id: conn.id().get()
        })
    );
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Event {
            event: "welcome".into(),
            payload: token.into()
        })
    );
    conn
}

/// A store whose commits take `delay`, counting them.
#[derive(Debug, Clone)]
pub struct SlowStore {
    inner: MemoryStore,
    commits: Arc<Mutex<u32>>,
    delay: Duration,
}

impl SlowStore {
    pub fn new(inner: MemoryStore, commits: Arc<Mutex<u32>>, delay: Duration) -> Self {
        Self {
            inner,
            commits,
            delay,
        }
    }
}

type StoreFuture<'a, T> = futures_util::future::BoxFuture<'a, Result<T, StoreError>>;

impl ActorStore for SlowStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> StoreFuture<'a, StoredActor> {
        self.inner.load(actor)
    }
    fn commit(&self, writes: Vec<ActorWrite>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            *self.commits.lock() += 1;
            self.inner.commit(writes).await
        })
    }
    fn load_alarms(&self) -> StoreFuture<'_, Vec<(ActorId, Alarm)>> {
        self.inner.load_alarms()
    }
    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> StoreFuture<'a, Option<Arc<[u8]>>> {
        self.inner.kv_get(actor, key)
    }
    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> StoreFuture<'a, Vec<flame_stateful::store::KvEntry>> {
        self.inner.kv_scan(actor, scan)
    }
}

/// A memory store whose commits the test holds back or makes fail, and which records every
/// write it committed.
#[derive(Debug, Clone, Default)]
pub struct ControlledStore {
    pub inner: MemoryStore,
    control: Arc<Mutex<Control>>,
    released: Arc<tokio::sync::Notify>,
}

#[derive(Debug, Default)]
struct Control {
    held: bool,
    /// Commits that wait while `held`.
    waiting: usize,
    /// The next this many commits fail.
    failures: u32,
    /// Every load fails while set.
    failing_loads: bool,
    committed: Vec<ActorWrite>,
}

impl ControlledStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Commits wait from now on, until [`release`](Self::release).
    pub fn hold(&self) {
        self.control.lock().held = true;
    }

    /// Lets every held commit (and later ones) through.
    pub fn release(&self) {
        self.control.lock().held = false;
        self.released.notify_waiters();
    }

    /// How many commits are waiting.
    pub fn waiting(&self) -> usize {
        self.control.lock().waiting
    }

    /// The next `n` commits fail (a backend error), writing nothing.
    pub fn fail_next(&self, n: u32) {
        self.control.lock().failures = n;
    }

    /// Every load fails (a backend error) while `on` is set.
    pub fn fail_loads(&self, on: bool) {
        self.control.lock().failing_loads = on;
    }

    /// Every write committed so far.
    pub fn committed(&self) -> Vec<ActorWrite> {
        self.control.lock().committed.clone()
    }

    /// Whether anything was ever committed for (kind, key).
    pub fn ever_wrote(&self, name: &str, key: &str) -> bool {
        let id = ActorId::new(name, key);
        self.control.lock().committed.iter().any(|w| w.actor == id)
    }

    /// The stored state of (kind, key), as JSON.
    pub async fn state(&self, name: &str, key: &str) -> Option<serde_json::Value> {
        let stored = self
            .inner
            .load(&ActorId::new(name, key))
            .await
            .expect("the memory store loads");
        stored
            .state
            .map(|bytes| serde_json::from_slice(&bytes).expect("a stored state is JSON"))
    }

    /// What the store holds of (kind, key).
    pub async fn stored(&self, name: &str, key: &str) -> StoredActor {
        self.inner
            .load(&ActorId::new(name, key))
            .await
            .expect("the memory store loads")
    }
}

impl ActorStore for ControlledStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> StoreFuture<'a, StoredActor> {
        if self.control.lock().failing_loads {
            return Box::pin(async {
                Err(StoreError::backend(std::io::Error::other(
                    "injected load failure",
                )))
            });
        }
        self.inner.load(actor)
    }
    fn commit(&self, writes: Vec<ActorWrite>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let released = self.released.notified();
                {
                    let mut control = self.control.lock();
                    if !control.held {
                        break;
                    }
                    control.waiting += 1;
                }
                released.await;
                self.control.lock().waiting -= 1;
            }
            {
                let mut control = self.control.lock();
                if control.failures > 0 {
                    control.failures -= 1;
                    return Err(StoreError::backend(std::io::Error::other(
                        "injected: the commit failed",
                    )));
                }
                control.committed.extend(writes.iter().cloned());
            }
            self.inner.commit(writes).await
        })
    }
    fn load_alarms(&self) -> StoreFuture<'_, Vec<(ActorId, Alarm)>> {
        self.inner.load_alarms()
    }
    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> StoreFuture<'a, Option<Arc<[u8]>>> {
        self.inner.kv_get(actor, key)
    }
    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> StoreFuture<'a, Vec<flame_stateful::store::KvEntry>> {
        self.inner.kv_scan(actor, scan)
    }
}

/// Waits (at most 10 s) until `check` holds.
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
