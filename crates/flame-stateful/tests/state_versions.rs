//! Versioned state: three versions of one state type, each stored by a real run of its code
//! on a redb file; migrations run before `on_start`, once per stored version, and their write
//! obeys the durability rule; a state that cannot be read leaves the key unavailable until an
//! operator repairs it; a state newer than the code is refused.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use flame_protocol::ErrorCode;
use flame_stateful::store::{ActorId, ActorStore, ActorWrite, RedbStore};
use flame_stateful::{
    ActorCtx, ActorError, ActorSystem, InitCtx, Rpc, StateError, StatefulActor, SystemError,
    actions,
};
use flame_test_support::{ControlledStore, caller, until};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Migrations that ran: (the document's title, from version, to version).
static MIGRATIONS: Mutex<Vec<(String, u32, u32)>> = Mutex::new(Vec::new());
static STARTS: AtomicUsize = AtomicUsize::new(0);

fn migrations_of(title: &str) -> Vec<(u32, u32)> {
    MIGRATIONS
        .lock()
        .iter()
        .filter(|(t, ..)| t == title)
        .map(|(_, from, to)| (*from, *to))
        .collect()
}

// Version 1: the tags are one comma-separated string.
#[derive(Clone, Serialize, Deserialize)]
struct DocV1State {
    title: String,
    tags: String,
}

#[derive(Default)]
struct DocV1;

impl StatefulActor for DocV1 {
    type State = DocV1State;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, init: &InitCtx) -> Result<DocV1State, ActorError> {
        Ok(DocV1State {
            title: init.key().to_owned(),
            tags: String::new(),
        })
    }
}

#[actions]
impl DocV1 {
    async fn tag(&self, rpc: &mut Rpc<Self>, tag: String) -> String {
        let tags = &mut rpc.state_mut().tags;
        if !tags.is_empty() {
            tags.push(',');
        }
        tags.push_str(&tag);
        tags.clone()
    }
}

// Version 2: the tags are a list.
#[derive(Clone, Serialize, Deserialize)]
struct DocV2State {
    title: String,
    tags: Vec<String>,
}

fn v1_to_v2(stored: Value) -> Result<DocV2State, ActorError> {
    let v1: DocV1State = serde_json::from_value(stored)?;
    let tags = v1
        .tags
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(DocV2State {
        title: v1.title,
        tags,
    })
}

#[derive(Default)]
struct DocV2;

impl StatefulActor for DocV2 {
    type State = DocV2State;
    type ConnParams = ();
    type ConnState = ();
    const STATE_VERSION: u32 = 2;

    fn migrate(from_version: u32, stored: Value) -> Result<DocV2State, ActorError> {
        let state = match from_version {
            1 => v1_to_v2(stored)?,
            v => return Err(ActorError::internal(format!("unknown version {v}"))),
        };
        MIGRATIONS
            .lock()
            .push((state.title.clone(), from_version, 2));
        Ok(state)
    }

    async fn on_initialize(&self, init: &InitCtx) -> Result<DocV2State, ActorError> {
        Ok(DocV2State {
            title: init.key().to_owned(),
            tags: Vec::new(),
        })
    }
}

#[actions]
impl DocV2 {
    async fn tag(&self, rpc: &mut Rpc<Self>, tag: String) -> Vec<String> {
        rpc.state_mut().tags.push(tag);
        rpc.state().tags.clone()
    }

    async fn tags(&self, rpc: &mut Rpc<Self>) -> Vec<String> {
        rpc.state().tags.clone()
    }
}

// Version 3: `title` is renamed `name`, the tags are a set, and a revision is counted.
#[derive(Clone, Serialize, Deserialize)]
struct DocV3State {
    name: String,
    tags: BTreeSet<String>,
    revision: u64,
}

#[derive(Default)]
struct DocV3;

impl StatefulActor for DocV3 {
    type State = DocV3State;
    type ConnParams = ();
    type ConnState = ();
    const STATE_VERSION: u32 = 3;

    fn migrate(from_version: u32, stored: Value) -> Result<DocV3State, ActorError> {
        // each step once: 1 -> 2 -> 3
        let v2 = match from_version {
            1 => v1_to_v2(stored)?,
            2 => serde_json::from_value(stored)?,
            v => return Err(ActorError::internal(format!("unknown version {v}"))),
        };
        MIGRATIONS.lock().push((v2.title.clone(), from_version, 3));
        Ok(DocV3State {
            name: v2.title,
            tags: v2.tags.into_iter().collect(),
            revision: 0,
        })
    }

    async fn on_initialize(&self, init: &InitCtx) -> Result<DocV3State, ActorError> {
        Ok(DocV3State {
            name: init.key().to_owned(),
            tags: BTreeSet::new(),
            revision: 0,
        })
    }

    /// Sees the migrated state, never the stored one.
    async fn on_start(&self, ctx: &mut ActorCtx<Self>) -> Result<(), ActorError> {
        assert!(!ctx.state().name.is_empty());
        STARTS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[actions]
impl DocV3 {
    async fn tag(&self, rpc: &mut Rpc<Self>, tag: String) -> Value {
        let state = rpc.state_mut();
        state.tags.insert(tag);
        state.revision += 1;
        json!({ "tags": state.tags, "revision": state.revision })
    }

    async fn show(&self, rpc: &mut Rpc<Self>) -> Value {
        serde_json::to_value(rpc.state()).unwrap_or_default()
    }
}

async fn system_on<A: flame_stateful::Actions + Default>(path: &Path) -> ActorSystem {
    ActorSystem::builder()
        .store(RedbStore::open(path).unwrap())
        .register_default::<A>("doc")
        .build()
        .await
        .unwrap()
}

async fn call(system: &ActorSystem, key: &str, method: &str, args: Vec<Value>) -> Value {
    system
        .call("doc", key, method, args, caller())
        .await
        .unwrap_or_else(|e| panic!("{key}.{method}: {e:?}"))
}

async fn raw_state(path: &Path, key: &str) -> Vec<u8> {
    let store = RedbStore::open(path).unwrap();
    let stored = store.load(&ActorId::new("doc", key)).await.unwrap();
    stored.state.expect("a stored state").to_vec()
}

#[tokio::test]
async fn three_versions_migrate_in_a_chain_once_per_stored_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");

    // run 1: the version-1 code stores two documents
    let v1 = system_on::<DocV1>(&path).await;
    call(&v1, "chain-a", "tag", vec!["x".into()]).await;
    assert_eq!(call(&v1, "chain-a", "tag", vec!["y".into()]).await, "x,y");
    call(&v1, "chain-b", "tag", vec!["z".into()]).await;
    v1.shutdown().await;
    // version 1 is stored as plain JSON, exactly as before versions existed
    assert_eq!(
        raw_state(&path, "chain-a").await,
        br#"{"title":"chain-a","tags":"x,y"}"#
    );

    // run 2: version 2 migrates chain-a when it loads, before anything else
    let v2 = system_on::<DocV2>(&path).await;
    assert_eq!(
        call(&v2, "chain-a", "tags", vec![]).await,
        json!(["x", "y"])
    );
    assert_eq!(migrations_of("chain-a"), vec![(1, 2)]);
    let stored = v2.state("doc", "chain-a").await.unwrap().unwrap();
    assert_eq!(
        stored.version, 2,
        "the migration was written before the answer"
    );
    v2.shutdown().await;
    assert!(raw_state(&path, "chain-a").await.starts_with(b"\0v2\n"));

    // the same code again: nothing left to migrate
    let v2 = system_on::<DocV2>(&path).await;
    call(&v2, "chain-a", "tag", vec!["w".into()]).await;
    v2.shutdown().await;
    assert_eq!(migrations_of("chain-a"), vec![(1, 2)]);

    // run 3: chain-a is at version 2, chain-b still at version 1 (never loaded by run 2)
    let starts = STARTS.load(Ordering::SeqCst);
    let v3 = system_on::<DocV3>(&path).await;
    assert_eq!(
        call(&v3, "chain-a", "show", vec![]).await,
        json!({ "name": "chain-a", "tags": ["w", "x", "y"], "revision": 0 })
    );
    assert_eq!(
        call(&v3, "chain-b", "tag", vec!["q".into()]).await,
        json!({ "tags": ["q", "z"], "revision": 1 })
    );
    assert_eq!(migrations_of("chain-a"), vec![(1, 2), (2, 3)]);
    assert_eq!(migrations_of("chain-b"), vec![(1, 3)]);
    assert!(STARTS.load(Ordering::SeqCst) >= starts + 2);
    v3.shutdown().await;

    // and once more: both are at version 3 now
    let v3 = system_on::<DocV3>(&path).await;
    call(&v3, "chain-a", "show", vec![]).await;
    call(&v3, "chain-b", "show", vec![]).await;
    for key in ["chain-a", "chain-b"] {
        assert_eq!(v3.state("doc", key).await.unwrap().unwrap().version, 3);
    }
    v3.shutdown().await;
    assert_eq!(migrations_of("chain-a"), vec![(1, 2), (2, 3)]);
    assert_eq!(migrations_of("chain-b"), vec![(1, 3)]);
}

#[tokio::test]
async fn a_state_newer_than_the_code_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    let v3 = system_on::<DocV3>(&path).await;
    call(&v3, "newer", "tag", vec!["a".into()]).await;
    v3.shutdown().await;
    let before = raw_state(&path, "newer").await;

    let v2 = system_on::<DocV2>(&path).await;
    let error = v2
        .call("doc", "newer", "tags", vec![], caller())
        .await
        .unwrap_err();
    assert!(error.is(ErrorCode::Unavailable), "{error:?}");
    assert!(
        error.message.contains("doc/newer") && error.message.contains("version 3"),
        "{error:?}"
    );
    assert!(!v2.is_loaded("doc", "newer"));
    match v2.check_state("doc", "newer").await {
        Err(SystemError::State(StateError::Newer {
            stored: 3,
            current: 2,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    v2.shutdown().await;
    assert_eq!(
        raw_state(&path, "newer").await,
        before,
        "nothing was written"
    );
}

/// Commits raw bytes as the stored state of doc/`key`.
async fn store_raw(path: &Path, key: &str, bytes: &[u8]) {
    let store = RedbStore::open(path).unwrap();
    let mut write = ActorWrite::new(ActorId::new("doc", key));
    write.state = Some(bytes.into());
    store.commit(vec![write]).await.unwrap();
}

#[tokio::test]
async fn an_unreadable_state_leaves_the_key_unavailable_until_an_operator_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    // a version-2 state whose tags are not a list, and a version-1 state that does not
    // migrate (its tags are a number)
    store_raw(&path, "broken", b"\0v2\n{\"title\":\"broken\",\"tags\":7}").await;
    store_raw(&path, "old", br#"{"title":"old","tags":7}"#).await;
    let system = system_on::<DocV2>(&path).await;

    for _ in 0..2 {
        let error = system
            .call("doc", "broken", "tags", vec![], caller())
            .await
            .unwrap_err();
        assert!(error.is(ErrorCode::Unavailable), "{error:?}");
        assert!(
            error.message.contains("doc/broken") && error.message.contains("version 2"),
            "{error:?}"
        );
    }
    let error = system.check_state("doc", "broken").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Unavailable);
    let text = error.to_string();
    assert!(
        text.contains("doc/broken") && text.contains("version 2") && text.contains("invalid type"),
        "names the actor, the version and the serde error: {text}"
    );
    let error = system.check_state("doc", "old").await.unwrap_err();
    assert!(
        matches!(
            &error,
            SystemError::State(StateError::MigrationFailed {
                stored: 1,
                current: 2,
                ..
            })
        ),
        "{error:?}"
    );
    let error = system
        .call("doc", "old", "tags", vec![], caller())
        .await
        .unwrap_err();
    assert!(error.message.contains("could not be migrated"), "{error:?}");

    // the operator reads what is stored, and writes a repaired state of the current version
    let stored = system.state("doc", "broken").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, &stored.value),
        (2, &json!({"title": "broken", "tags": 7}))
    );
    let wrong = system
        .repair_state("doc", "broken", json!({"title": "broken", "tags": "7"}))
        .await
        .unwrap_err();
    assert!(matches!(wrong, SystemError::State(_)), "{wrong:?}");
    assert!(
        system.check_state("doc", "broken").await.is_err(),
        "nothing written"
    );
    system
        .repair_state("doc", "broken", json!({"title": "broken", "tags": ["7"]}))
        .await
        .unwrap();
    system.check_state("doc", "broken").await.unwrap();
    assert_eq!(call(&system, "broken", "tags", vec![]).await, json!(["7"]));

    // a loaded actor is not repaired behind its back; nor is one that has no state
    let error = system
        .repair_state("doc", "broken", json!({"title": "x", "tags": []}))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Unavailable, "{error:?}");
    let error = system
        .repair_state("doc", "never", json!({"title": "x", "tags": []}))
        .await
        .unwrap_err();
    assert!(matches!(error, SystemError::NoState(_)), "{error:?}");
    system.shutdown().await;
}

/// The migrated state is staged before `on_start` and written before anything the actor
/// does is released; if that write fails, the caller is not answered as if it had worked and
/// the store still has the old version, so the next load migrates again.
#[tokio::test]
async fn the_write_of_a_migration_obeys_the_durability_rule() {
    let store = ControlledStore::new();
    let mut write = ActorWrite::new(ActorId::new("doc", "durable"));
    write.state = Some(br#"{"title":"durable","tags":"a,b"}"#.as_slice().into());
    store.inner.commit(vec![write]).await.unwrap();
    let system = ActorSystem::builder()
        .store(store.clone())
        .register_default::<DocV2>("doc")
        .build()
        .await
        .unwrap();

    store.hold();
    let pending = {
        let system = system.clone();
        tokio::spawn(async move {
            system
                .call("doc", "durable", "tags", vec![], caller())
                .await
        })
    };
    until("the migration's write waits", || store.waiting() == 1).await;
    assert!(
        !pending.is_finished(),
        "no answer before the migration is durable"
    );
    assert_eq!(
        store
            .stored("doc", "durable")
            .await
            .state
            .as_deref()
            .map(|s| s[0]),
        Some(b'{')
    );
    store.release();
    assert_eq!(pending.await.unwrap().unwrap(), json!(["a", "b"]));
    let stored = store.stored("doc", "durable").await.state.unwrap();
    assert!(stored.starts_with(b"\0v2\n"), "{stored:?}");
    assert_eq!(migrations_of("durable"), vec![(1, 2)]);
    system.shutdown().await;

    // the same, with the migration's write failing
    let mut write = ActorWrite::new(ActorId::new("doc", "durable-fail"));
    write.state = Some(br#"{"title":"durable-fail","tags":"c"}"#.as_slice().into());
    store.inner.commit(vec![write]).await.unwrap();
    let system = ActorSystem::builder()
        .store(store.clone())
        .register_default::<DocV2>("doc")
        .build()
        .await
        .unwrap();
    store.fail_next(1);
    // Whether the call is handled before or after the failed write comes back, it is never
    // answered as if it had worked while the migration is not durable.
    match system
        .call("doc", "durable-fail", "tag", vec!["d".into()], caller())
        .await
    {
        Ok(tags) => assert_eq!(tags, json!(["c", "d"])),
        Err(error) => assert!(error.is(ErrorCode::InternalError), "{error:?}"),
    }
    // the reload found version 1 again and migrated it again; this time it is written
    let tags = call(&system, "durable-fail", "tag", vec!["e".into()]).await;
    assert!(
        tags == json!(["c", "d", "e"]) || tags == json!(["c", "e"]),
        "{tags}"
    );
    assert_eq!(migrations_of("durable-fail"), vec![(1, 2), (1, 2)]);
    system.shutdown().await;
    let stored = store.stored("doc", "durable-fail").await.state.unwrap();
    assert!(stored.starts_with(b"\0v2\n"), "{stored:?}");
}

/// A migration that panics is a failed migration: the key is unavailable, the system goes on.
#[derive(Default)]
struct Panicky;

impl StatefulActor for Panicky {
    type State = DocV2State;
    type ConnParams = ();
    type ConnState = ();
    const STATE_VERSION: u32 = 2;

    fn migrate(_: u32, _: Value) -> Result<DocV2State, ActorError> {
        panic!("this migration is broken");
    }

    async fn on_initialize(&self, init: &InitCtx) -> Result<DocV2State, ActorError> {
        Ok(DocV2State {
            title: init.key().to_owned(),
            tags: Vec::new(),
        })
    }
}

#[actions]
impl Panicky {
    async fn tags(&self, rpc: &mut Rpc<Self>) -> Vec<String> {
        rpc.state().tags.clone()
    }
}

#[tokio::test]
async fn a_migration_that_panics_leaves_the_key_unavailable_and_the_system_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    store_raw(&path, "old", br#"{"title":"old","tags":"a"}"#).await;
    let system = system_on::<Panicky>(&path).await;
    for _ in 0..2 {
        let error = system
            .call("doc", "old", "tags", vec![], caller())
            .await
            .unwrap_err();
        assert!(error.is(ErrorCode::Unavailable), "{error:?}");
    }
    match system.check_state("doc", "old").await {
        Err(SystemError::State(StateError::MigrationFailed { error, .. })) => {
            assert!(error.contains("this migration is broken"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // other keys of the kind work
    assert_eq!(call(&system, "new", "tags", vec![]).await, json!([]));
    system.shutdown().await;
    assert_eq!(
        raw_state(&path, "old").await,
        br#"{"title":"old","tags":"a"}"#,
        "nothing was written over it"
    );
}
