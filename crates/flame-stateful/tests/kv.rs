//! Each actor's ordered key-value space: written with the message's state change, released
//! under the same rule, visible at once, discarded with a failed message, bounded, deleted
//! with the actor; checked against a model on a real redb file.

use std::collections::BTreeMap;
use std::time::Duration;

use flame_protocol::ErrorCode;
use flame_stateful::store::{ActorId, ActorStore, KvScan, RedbStore};
use flame_stateful::{ActorConfig, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use flame_test_support::{ControlledStore, caller, until};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A log: a counter in `State`, the entries in the key-value space.
#[derive(Default)]
struct Journal;

impl StatefulActor for Journal {
    type State = u64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<u64, ActorError> {
        Ok(0)
    }
}

fn entry_key(n: u64) -> String {
    format!("e/{n:08}")
}

#[actions]
impl Journal {
    /// Appends `text`; returns its number.
    async fn append(&self, rpc: &mut Rpc<Self>, text: String) -> Result<u64, ActorError> {
        let n = *rpc.state();
        *rpc.state_mut() += 1;
        rpc.kv().put(entry_key(n), &text)?;
        Ok(n)
    }

    async fn put(&self, rpc: &mut Rpc<Self>, key: String, value: Value) -> Result<(), ActorError> {
        rpc.kv().put(key, &value)
    }

    async fn delete(&self, rpc: &mut Rpc<Self>, key: String) -> Result<(), ActorError> {
        rpc.kv().delete(key)
    }

    /// Writes and reads back in one turn, then panics: nothing of it may stay.
    async fn put_then_panic(&self, rpc: &mut Rpc<Self>, key: String) -> Result<(), ActorError> {
        *rpc.state_mut() += 100;
        rpc.kv().put(&key, &"doomed")?;
        let seen: Option<String> = rpc.kv().get(&key).await?;
        assert_eq!(seen.as_deref(), Some("doomed"));
        panic!("after writing {key}");
    }

    /// Writes `count` keys of `size` bytes each, and bumps the state.
    async fn write_many(
        &self,
        rpc: &mut Rpc<Self>,
        count: usize,
        size: usize,
    ) -> Result<(), ActorError> {
        *rpc.state_mut() += 1;
        for i in 0..count {
            // the error is ignored on purpose: the turn is discarded all the same
            let _ = rpc.kv().put_raw(format!("m/{i:06}"), vec![b'x'; size]);
        }
        Ok(())
    }

    async fn get(&self, rpc: &mut Rpc<Self>, key: String) -> Result<Option<Value>, ActorError> {
        rpc.kv().get(key).await
    }

    async fn count(&self, rpc: &mut Rpc<Self>) -> u64 {
        *rpc.state()
    }

    /// The keys `prefix` selects, `page` at a time, following the cursors to the end.
    async fn keys(
        &self,
        rpc: &mut Rpc<Self>,
        prefix: String,
        page: usize,
        reverse: bool,
    ) -> Result<Vec<String>, ActorError> {
        let mut scan = KvScan::prefix(prefix.as_bytes()).limit(page);
        if reverse {
            scan = scan.reverse();
        }
        let mut keys = Vec::new();
        loop {
            let result = rpc.kv().scan(scan).await?;
            keys.extend(
                result
                    .entries
                    .iter()
                    .map(|(k, _)| String::from_utf8_lossy(k).into_owned()),
            );
            match result.next {
                Some(next) => scan = next,
                None => return Ok(keys),
            }
        }
    }

    async fn destroy_me(&self, rpc: &mut Rpc<Self>) {
        rpc.shutdown();
    }
}

fn config() -> ActorConfig {
    ActorConfig {
        max_kv_key_size: 64,
        max_kv_value_size: 1024,
        max_kv_writes_per_turn: 16,
        max_kv_bytes_per_turn: 8 * 1024,
        kv_cache_bytes: 512,
        ..ActorConfig::default()
    }
}

async fn system(store: impl ActorStore) -> ActorSystem {
    ActorSystem::builder()
        .config(config())
        .store(store)
        .register_default::<Journal>("journal")
        .build()
        .await
        .expect("the system starts")
}

async fn call(
    system: &ActorSystem,
    key: &str,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, flame_protocol::WireError> {
    system.call("journal", key, method, args, caller()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_in_the_store_with_the_state_before_the_answer() {
    let store = ControlledStore::new();
    let system = system(store.clone()).await;
    assert_eq!(
        call(&system, "a", "append", vec![json!("first")]).await,
        Ok(json!(0))
    );

    store.hold();
    let pending = {
        let system = system.clone();
        tokio::spawn(async move { call(&system, "a", "append", vec![json!("second")]).await })
    };
    until("the append is being written", || store.waiting() == 1).await;
    // read-your-writes: the actor sees its own uncommitted entry
    let reading = {
        let system = system.clone();
        tokio::spawn(async move { call(&system, "a", "get", vec![json!(entry_key(1))]).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(!pending.is_finished(), "answered before the commit");
    store.release();
    assert_eq!(pending.await.unwrap(), Ok(json!(1)));
    assert_eq!(reading.await.unwrap(), Ok(json!("second")));

    let write = store
        .committed()
        .into_iter()
        .find(|w| w.kv.iter().any(|op| op.key == entry_key(1).as_bytes()))
        .expect("the entry was written");
    assert_eq!(
        write.state.as_deref(),
        Some(b"2".as_slice()),
        "in the same write as the state"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn scans_page_through_committed_and_uncommitted_entries_both_ways() {
    let store = ControlledStore::new();
    let system = system(store.clone()).await;
    for i in 0..10 {
        call(&system, "a", "put", vec![json!(format!("p/{i}")), json!(i)])
            .await
            .unwrap();
    }
    call(&system, "a", "put", vec![json!("q/other"), json!(0)])
        .await
        .unwrap();
    call(&system, "a", "delete", vec![json!("p/3")])
        .await
        .unwrap();
    let expected: Vec<String> = [0, 1, 2, 4, 5, 6, 7, 8, 9]
        .iter()
        .map(|i| format!("p/{i}"))
        .collect();
    for page in [1, 2, 3, 100] {
        let keys = call(
            &system,
            "a",
            "keys",
            vec![json!("p/"), json!(page), json!(false)],
        )
        .await
        .unwrap();
        assert_eq!(keys, json!(expected), "page of {page}");
        let mut reversed = expected.clone();
        reversed.reverse();
        let keys = call(
            &system,
            "a",
            "keys",
            vec![json!("p/"), json!(page), json!(true)],
        )
        .await
        .unwrap();
        assert_eq!(keys, json!(reversed), "reversed, page of {page}");
    }
    // the same from the store alone, after a restart
    system.shutdown().await;
    let system = self::system(store.clone()).await;
    let keys = call(
        &system,
        "a",
        "keys",
        vec![json!("p/"), json!(2), json!(false)],
    )
    .await
    .unwrap();
    assert_eq!(keys, json!(expected));
    system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_action_leaves_none_of_its_writes() {
    let store = ControlledStore::new();
    let system = system(store.clone()).await;
    call(&system, "a", "append", vec![json!("kept")])
        .await
        .unwrap();
    let err = call(&system, "a", "put_then_panic", vec![json!("x")])
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::InternalError), "{err:?}");
    assert_eq!(
        call(&system, "a", "get", vec![json!("x")]).await,
        Ok(Value::Null)
    );
    assert_eq!(call(&system, "a", "count", vec![]).await, Ok(json!(1)));
    assert!(
        store
            .committed()
            .iter()
            .all(|w| w.kv.iter().all(|op| op.key != b"x"))
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_write_over_a_limit_fails_the_call_and_changes_nothing() {
    let store = ControlledStore::new();
    let system = system(store.clone()).await;
    call(&system, "a", "append", vec![json!("kept")])
        .await
        .unwrap();
    let before = store.committed().len();
    for (count, size, what) in [
        (1, 2000, "a value over 1 KiB"),
        (17, 1, "17 writes"),
        (10, 1000, "10 KB in a turn"),
    ] {
        let err = call(&system, "a", "write_many", vec![json!(count), json!(size)])
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::StorageLimit), "{what}: {err:?}");
    }
    let long_key = "k".repeat(65);
    let err = call(&system, "a", "put", vec![json!(long_key), json!(1)])
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::StorageLimit), "{err:?}");
    assert_eq!(store.committed().len(), before, "nothing was written");
    assert_eq!(
        call(&system, "a", "count", vec![]).await,
        Ok(json!(1)),
        "the state change went too"
    );
    // within the limits it works
    call(&system, "a", "write_many", vec![json!(16), json!(100)])
        .await
        .unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn destroying_an_actor_deletes_its_key_value_space() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open_dir(dir.path()).unwrap();
    let system = system(store.clone()).await;
    call(&system, "a", "append", vec![json!("one")])
        .await
        .unwrap();
    call(&system, "b", "append", vec![json!("other actor")])
        .await
        .unwrap();
    call(&system, "a", "destroy_me", vec![]).await.unwrap();
    let id = ActorId::new("journal", "a");
    // the answer goes out before the tombstone is written; wait for it
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.load(&id).await.unwrap().destroyed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tombstone was never written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(store.kv_scan(&id, &KvScan::all()).await.unwrap().is_empty());
    let other = store
        .kv_scan(&ActorId::new("journal", "b"), &KvScan::all())
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    system.shutdown().await;
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u16),
    Delete(u8),
    /// The next commit fails: the call that made it is answered `internal_error`.
    FailNext,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..24, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0u8..24).prop_map(Op::Delete),
        1 => Just(Op::FailNext),
        1 => Just(Op::Restart),
    ]
}

/// The key-value space against a `BTreeMap`, on redb, with failed commits and restarts:
/// after every step the actor's scans and reads agree with the model of what its callers
/// were told.
#[test]
fn the_key_value_space_follows_a_model_through_failures_and_restarts() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..40))| {
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let redb = RedbStore::open_dir(dir.path()).unwrap();
            let store = ControlledStoreOver::new(redb);
            let mut system = system(store.clone()).await;
            let mut model: BTreeMap<String, u16> = BTreeMap::new();
            let mut fail_next = false;
            for op in ops {
                let (method, args, change) = match op {
                    Op::Put(k, v) => ("put", vec![json!(format!("k/{k:02}")), json!(v)], Some((k, Some(v)))),
                    Op::Delete(k) => ("delete", vec![json!(format!("k/{k:02}"))], Some((k, None))),
                    Op::FailNext => { fail_next = true; continue; }
                    Op::Restart => {
                        system.shutdown().await;
                        system = self::system(store.clone()).await;
                        continue;
                    }
                };
                if std::mem::take(&mut fail_next) {
                    store.fail_next();
                }
                let result = call(&system, "a", method, args).await;
                if let (Ok(_), Some((k, v))) = (result, change) {
                    let key = format!("k/{k:02}");
                    match v {
                        Some(v) => model.insert(key, v),
                        None => model.remove(&key),
                    };
                }
                let keys = call(&system, "a", "keys", vec![json!("k/"), json!(5), json!(false)]).await.unwrap();
                let expected: Vec<&String> = model.keys().collect();
                prop_assert_eq!(keys, json!(expected));
                for (key, value) in &model {
                    prop_assert_eq!(call(&system, "a", "get", vec![json!(key)]).await.unwrap(), json!(value));
                }
            }
            // the store's counter of the actor's bytes follows every commit
            let bytes: usize = model.iter().map(|(k, v)| k.len() + v.to_string().len()).sum();
            let counted = store.inner.kv_bytes(&ActorId::new("journal", "a")).await.unwrap();
            prop_assert_eq!(counted, bytes as u64);
            system.shutdown().await;
            Ok(())
        })?;
    });
}

/// A store over redb whose next commit can be made to fail (before redb sees it).
#[derive(Debug, Clone)]
struct ControlledStoreOver {
    inner: RedbStore,
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ControlledStoreOver {
    fn new(inner: RedbStore) -> Self {
        Self {
            inner,
            fail: Default::default(),
        }
    }
    fn fail_next(&self) {
        self.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

type StoreFuture<'a, T> =
    futures_util::future::BoxFuture<'a, Result<T, flame_stateful::store::StoreError>>;

impl ActorStore for ControlledStoreOver {
    fn load<'a>(
        &'a self,
        actor: &'a ActorId,
    ) -> StoreFuture<'a, flame_stateful::store::StoredActor> {
        self.inner.load(actor)
    }
    fn commit(&self, writes: Vec<flame_stateful::store::ActorWrite>) -> StoreFuture<'_, ()> {
        if self.fail.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async {
                Err(flame_stateful::store::StoreError::backend(
                    std::io::Error::other("injected"),
                ))
            });
        }
        self.inner.commit(writes)
    }
    fn load_alarms(&self) -> StoreFuture<'_, Vec<(ActorId, flame_stateful::store::Alarm)>> {
        self.inner.load_alarms()
    }
    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> StoreFuture<'a, Option<std::sync::Arc<[u8]>>> {
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

/// `ActorConfig::max_kv_bytes_per_actor` is kept exactly (an overwrite counts the
/// difference, a delete frees its entry) and stays exact across restarts on redb; a message
/// that would pass it changes nothing, one that shrinks the space always goes through.
#[tokio::test]
async fn the_bytes_an_actor_holds_are_bounded_exactly_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    let start = |limit: u64| {
        let path = path.clone();
        async move {
            ActorSystem::builder()
                .config(ActorConfig {
                    max_kv_bytes_per_actor: limit,
                    ..config()
                })
                .store(RedbStore::open(&path).unwrap())
                .register_default::<Journal>("journal")
                .build()
                .await
                .unwrap()
        }
    };
    let refused = |result: Result<Value, flame_protocol::WireError>, total: u64| {
        let error = result.unwrap_err();
        assert!(error.is(ErrorCode::StorageLimit), "{error:?}");
        assert!(
            error.message.contains(&format!("hold {total} bytes")),
            "{error:?}"
        );
    };
    // a JSON string of `n` x's is n + 2 bytes
    let text = |n: usize| json!("x".repeat(n));

    let system = start(1000).await;
    // ten entries of 8 + 92 bytes: exactly the limit
    call(&system, "a", "write_many", vec![json!(10), json!(92)])
        .await
        .unwrap();
    refused(
        call(&system, "a", "write_many", vec![json!(1), json!(93)]).await,
        1001,
    );
    assert_eq!(call(&system, "a", "count", vec![]).await, Ok(json!(1)));
    // the same size again: an overwrite is not counted twice
    call(&system, "a", "write_many", vec![json!(1), json!(92)])
        .await
        .unwrap();
    call(&system, "a", "delete", vec![json!("m/000009")])
        .await
        .unwrap();
    call(&system, "a", "put", vec![json!("z"), text(97)])
        .await
        .unwrap();
    refused(
        call(&system, "a", "put", vec![json!("y"), text(0)]).await,
        1003,
    );
    system.shutdown().await;

    // a restart knows the total without being told
    let system = start(1000).await;
    refused(
        call(&system, "a", "put", vec![json!("y"), text(0)]).await,
        1003,
    );
    call(&system, "a", "delete", vec![json!("z")])
        .await
        .unwrap();
    call(&system, "a", "put", vec![json!("y"), text(97)])
        .await
        .unwrap();
    refused(
        call(&system, "a", "put", vec![json!("x"), text(0)]).await,
        1003,
    );
    system.shutdown().await;

    // a lower limit: what shrinks the space still goes through
    let system = start(500).await;
    call(&system, "a", "delete", vec![json!("y")])
        .await
        .unwrap();
    refused(
        call(&system, "a", "put", vec![json!("w"), text(0)]).await,
        903,
    );
    system.shutdown().await;

    let store = RedbStore::open(&path).unwrap();
    let id = ActorId::new("journal", "a");
    let entries = store.kv_scan(&id, &KvScan::all()).await.unwrap();
    let sum: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert_eq!(sum, 900);
    assert_eq!(
        store.kv_bytes(&id).await.unwrap(),
        900,
        "the store's counter"
    );
}
