//! Durability: restarts on redb, crashes, group commit, concurrency.

use flame_test_support as common;

use std::sync::Arc;
use std::time::Duration;

use common::{Log, SlowStore, caller, connect, next, redb_system};
use flame_protocol::{ErrorCode, ServerMessage};
use flame_stateful::store::MemoryStore;
use serde_json::json;

#[tokio::test]
async fn state_survives_a_restart_and_on_initialize_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let c = caller();
    for _ in 0..3 {
        system
            .call("counter", "a", "increment", vec![json!(2)], c.clone())
            .await
            .unwrap();
    }
    system.shutdown().await;
    drop(system);

    // a new system on the same file
    let system = redb_system(&log, dir.path()).await;
    assert_eq!(
        system.call("counter", "a", "get", vec![], c.clone()).await,
        Ok(json!(6))
    );
    assert_eq!(log.count("initialize:a"), 1, "{:?}", log.entries());
    assert_eq!(log.count("start:"), 2);
    assert_eq!(log.entries().last().map(String::as_str), Some("start:6"));
    system.shutdown().await;
    drop(system);

    // and once more, with a fresh key alongside
    let system = redb_system(&log, dir.path()).await;
    assert_eq!(
        system
            .call("counter", "a", "increment", vec![json!(1)], c.clone())
            .await,
        Ok(json!(7))
    );
    assert_eq!(
        system.call("counter", "b", "get", vec![], c).await,
        Ok(json!(0))
    );
    assert_eq!(log.count("initialize:"), 2);
    system.shutdown().await;
}

#[tokio::test]
async fn an_acknowledged_change_is_in_the_store_before_the_reply() {
    // A memory store shared with the test, behind slow commits: read it after each answer.
    let memory = MemoryStore::new();
    let store = SlowStore::new(
        memory.clone(),
        Default::default(),
        Duration::from_millis(10),
    );
    let log = Log::default();
    let system = common::system_with(&log, store.clone(), common::config()).await;
    let c = caller();
    let id = flame_stateful::store::ActorId::new("counter", "a");
    for i in 1..=20 {
        let out = system
            .call("counter", "a", "increment", vec![json!(1)], c.clone())
            .await
            .unwrap();
        assert_eq!(out, json!(i));
        let stored = flame_stateful::store::ActorStore::load(&memory, &id)
            .await
            .unwrap();
        let state: serde_json::Value = serde_json::from_slice(&stored.state.unwrap()).unwrap();
        assert_eq!(state, json!({"count": i}));
    }
    system.shutdown().await;
}

/// A memory store whose commits fail while `failing` is set (a full disk).
#[derive(Debug, Clone)]
struct FlakyStore {
    inner: MemoryStore,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl flame_stateful::store::ActorStore for FlakyStore {
    fn load<'a>(
        &'a self,
        actor: &'a flame_stateful::store::ActorId,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<flame_stateful::store::StoredActor, flame_stateful::store::StoreError>,
    > {
        self.inner.load(actor)
    }
    fn commit(
        &self,
        writes: Vec<flame_stateful::store::ActorWrite>,
    ) -> futures_util::future::BoxFuture<'_, Result<(), flame_stateful::store::StoreError>> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
            return Box::pin(std::future::ready(Err(
                flame_stateful::store::StoreError::backend(full),
            )));
        }
        self.inner.commit(writes)
    }
    fn load_alarms(
        &self,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<
            Vec<(flame_stateful::store::ActorId, flame_stateful::store::Alarm)>,
            flame_stateful::store::StoreError,
        >,
    > {
        self.inner.load_alarms()
    }

    fn kv_get<'a>(
        &'a self,
        actor: &'a flame_stateful::store::ActorId,
        key: &'a [u8],
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Option<Arc<[u8]>>, flame_stateful::store::StoreError>,
    > {
        self.inner.kv_get(actor, key)
    }

    fn kv_scan<'a>(
        &'a self,
        actor: &'a flame_stateful::store::ActorId,
        scan: &'a flame_stateful::store::KvScan,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Vec<flame_stateful::store::KvEntry>, flame_stateful::store::StoreError>,
    > {
        self.inner.kv_scan(actor, scan)
    }
}

#[tokio::test]
async fn a_failed_commit_answers_internal_error_and_reloads_the_committed_state() {
    let store = FlakyStore {
        inner: MemoryStore::new(),
        failing: Arc::default(),
    };
    let log = Log::default();
    let system = common::system_with(&log, store.clone(), common::config()).await;
    let c = caller();
    let increment = || system.call("counter", "a", "increment", vec![json!(1)], c.clone());
    assert_eq!(increment().await, Ok(json!(1)));

    store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = increment().await.unwrap_err();
    assert!(err.is(ErrorCode::InternalError), "{err:?}");
    store
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);

    // the change that failed to commit is gone, and the actor started again from the store
    assert_eq!(
        system.call("counter", "a", "get", vec![], c.clone()).await,
        Ok(json!(1))
    );
    assert_eq!(log.count("start:"), 2, "{:?}", log.entries());
    assert_eq!(log.entries().last().map(String::as_str), Some("start:1"));
    assert_eq!(increment().await, Ok(json!(2)));
    let stored = flame_stateful::store::ActorStore::load(
        &store.inner,
        &flame_stateful::store::ActorId::new("counter", "a"),
    )
    .await
    .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&stored.state.unwrap()).unwrap();
    assert_eq!(state, json!({"count": 2}));
    system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_rpc_restarts_from_the_last_committed_state() {
    let log = Log::default();
    let system = common::memory_system(&log).await;
    let mut watcher = connect(&system, "a", "watcher").await;
    watcher.subscribe("count").await.unwrap();
    let crasher = connect(&system, "a", "crasher").await;

    assert_eq!(crasher.rpc("increment", vec![json!(5)]).await, Ok(json!(5)));
    assert_eq!(
        next(&mut watcher).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(5)
        })
    );

    let err = crasher
        .rpc("panic_after_increment", vec![json!(100)])
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::InternalError), "{err:?}");
    // on_start ran again, with the last committed state
    assert_eq!(log.count("start:"), 2);
    assert_eq!(log.entries().last().map(String::as_str), Some("start:5"));

    // both connections are still there; the half-done change is gone
    assert_eq!(crasher.rpc("get", vec![]).await, Ok(json!(5)));
    assert_eq!(watcher.rpc("increment", vec![json!(1)]).await, Ok(json!(6)));
    assert_eq!(
        next(&mut watcher).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(6)
        })
    );
    assert_eq!(log.count("disconnect:"), 0);
    system.shutdown().await;
    assert_eq!(log.count("disconnect:"), 2);
}

#[tokio::test]
async fn concurrent_rpcs_on_one_actor_lose_no_increments() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let tasks = 16;
    let per_task = 50;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let system = system.clone();
        handles.push(tokio::spawn(async move {
            let c = caller();
            for _ in 0..per_task {
                system
                    .call("counter", "hot", "increment", vec![json!(1)], c.clone())
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let expected = tasks * per_task;
    assert_eq!(
        system.call("counter", "hot", "get", vec![], caller()).await,
        Ok(json!(expected))
    );
    let stats = system.commit_stats();
    // one actor batches its own changes while a commit is in flight
    assert!(stats.transactions < expected as u64, "{stats:?}");
    system.shutdown().await;
    drop(system);
    let system = redb_system(&log, dir.path()).await;
    assert_eq!(
        system.call("counter", "hot", "get", vec![], caller()).await,
        Ok(json!(expected))
    );
    system.shutdown().await;
}

#[tokio::test]
async fn many_actors_share_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let actors = 64;
    // create them first, so initial commits do not count
    for i in 0..actors {
        system
            .call("counter", &format!("k{i}"), "get", vec![], caller())
            .await
            .unwrap();
    }
    let before = system.commit_stats();
    let mut handles = Vec::new();
    for i in 0..actors {
        let system = system.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("k{i}");
            for _ in 0..5 {
                system
                    .call("counter", &key, "increment", vec![json!(1)], caller())
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let after = system.commit_stats();
    let writes = after.writes - before.writes;
    let transactions = after.transactions - before.transactions;
    assert_eq!(
        writes,
        actors as u64 * 5,
        "one write per increment: {after:?}"
    );
    assert!(
        transactions * 2 < writes,
        "group commit: {transactions} transactions for {writes} writes"
    );
    for i in 0..actors {
        let n = system
            .call("counter", &format!("k{i}"), "get", vec![], caller())
            .await
            .unwrap();
        assert_eq!(n, json!(5));
    }
    system.shutdown().await;
}

#[tokio::test]
async fn events_wait_for_the_commit() {
    // A store whose commits are slow: the event must not arrive before the commit finished.
    let commits = Arc::new(parking_lot::Mutex::new(0));
    let store = SlowStore::new(
        MemoryStore::new(),
        commits.clone(),
        Duration::from_millis(150),
    );
    let log = Log::default();
    let system = common::system_with(&log, store, common::config()).await;
    let mut conn = connect(&system, "a", "w").await;
    conn.subscribe("count").await.unwrap();
    let before = *commits.lock();
    let sender = conn.sender();
    sender
        .send(flame_protocol::ClientMessage::Rpc {
            id: 1,
            method: "increment".into(),
            args: vec![json!(1)],
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(conn.try_recv(), None, "nothing before the commit");
    let event = next(&mut conn).await;
    assert_eq!(*commits.lock(), before + 1);
    assert_eq!(
        event,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(1)
        })
    );
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::RpcOk {
            id: 1,
            output: json!(1)
        })
    );
    system.shutdown().await;
}
