//! What flame's own tests share (not published): the test [`Counter`], which records every
//! hook in a [`Log`]; actor systems on memory, redb and a slow store; and, in [`net`], an
//! actor system served on a loopback port with a raw WebSocket client.
#![allow(missing_docs, missing_debug_implementations, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

pub mod net;
pub mod raw;

use flame_actor::Actor;
use flame_protocol::ServerMessage;
use flame_stateful::store::{
    ActorId, ActorStore, ActorWrite, Alarm, MemoryStore, StoreError, StoredActor,
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
}
