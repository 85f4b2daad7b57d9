//! Operators read an actor's state and key-value space through the `ActorSystem`, from the
//! store: an unloaded actor stays unloaded, and a loaded one shows what is committed, which
//! is everything any client was told about.

use flame_protocol::ErrorCode;
use flame_stateful::store::{KvScan, RedbStore};
use flame_stateful::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, SystemError, actions};
use flame_test_support::{ControlledStore, caller, until};
use serde_json::{Value, json};

#[derive(Default)]
struct Log;

impl StatefulActor for Log {
    type State = u64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<u64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Log {
    async fn add(&self, rpc: &mut Rpc<Self>, text: String) -> Result<u64, ActorError> {
        let n = *rpc.state();
        *rpc.state_mut() += 1;
        rpc.kv().put(format!("e/{n:04}"), &text)?;
        Ok(n)
    }
}

async fn add(system: &ActorSystem, key: &str, text: &str) -> Value {
    system
        .call("log", key, "add", vec![json!(text)], caller())
        .await
        .unwrap()
}

fn keys(entries: &[(Vec<u8>, std::sync::Arc<[u8]>)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

#[tokio::test]
async fn an_unloaded_actor_is_read_from_the_store_and_stays_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    let start = || async {
        ActorSystem::builder()
            .store(RedbStore::open(&path).unwrap())
            .register_default::<Log>("log")
            .build()
            .await
            .unwrap()
    };
    let system = start().await;
    for i in 0..10 {
        add(&system, "a", &format!("line {i}")).await;
    }
    system.shutdown().await;

    let system = start().await;
    let state = system.state("log", "a").await.unwrap().unwrap();
    assert_eq!((state.version, state.value), (1, json!(10)));
    assert_eq!(
        system
            .kv_get("log", "a", b"e/0003")
            .await
            .unwrap()
            .as_deref(),
        Some(br#""line 3""#.as_slice())
    );
    assert_eq!(system.kv_get("log", "a", b"nope").await.unwrap(), None);

    // the keys, three at a time, both ways, following the cursor
    for reverse in [false, true] {
        let mut scan = KvScan::prefix(b"e/").limit(3);
        if reverse {
            scan = scan.reverse();
        }
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = system.kv_scan("log", "a", scan).await.unwrap();
            pages += 1;
            seen.extend(keys(&page.entries));
            match page.next {
                Some(next) => scan = next,
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..10).map(|n| format!("e/{n:04}")).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(seen, expected);
        assert_eq!(pages, 4);
    }
    // a page is at most MAX_INSPECT_PAGE entries, whatever the scan asks for
    let page = system.kv_scan("log", "a", KvScan::all()).await.unwrap();
    assert_eq!((page.entries.len(), page.next), (10, None));

    assert!(!system.is_loaded("log", "a"), "reading did not load it");
    assert_eq!(system.loaded_count(), 0);
    assert_eq!(system.state("log", "never").await.unwrap(), None);
    assert!(
        system
            .kv_scan("log", "never", KvScan::all())
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert!(!system.is_loaded("log", "never"));

    let unknown = system.state("nope", "a").await.unwrap_err();
    assert!(
        matches!(unknown, SystemError::UnknownKind(_)),
        "{unknown:?}"
    );
    assert_eq!(unknown.code(), ErrorCode::ActorNotFound);

    system.destroy("log", "a").await.unwrap();
    let destroyed = system.state("log", "a").await.unwrap_err();
    assert_eq!(destroyed.code(), ErrorCode::ActorDestroyed, "{destroyed:?}");
    assert!(
        system
            .kv_scan("log", "a", KvScan::all())
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    system.shutdown().await;
}

#[tokio::test]
async fn the_inspector_caps_a_page() {
    #[derive(Default)]
    struct Bulk;
    impl StatefulActor for Bulk {
        type State = ();
        type ConnParams = ();
        type ConnState = ();
        async fn on_initialize(&self, _: &InitCtx) -> Result<(), ActorError> {
            Ok(())
        }
    }
    #[actions]
    impl Bulk {
        async fn fill(&self, rpc: &mut Rpc<Self>, from: u32, count: u32) -> Result<(), ActorError> {
            for n in from..from + count {
                rpc.kv().put_raw(format!("{n:06}"), b"x".as_slice())?;
            }
            Ok(())
        }
    }
    let system = ActorSystem::builder()
        .store(ControlledStore::new())
        .register_default::<Bulk>("bulk")
        .build()
        .await
        .unwrap();
    for from in (0..1200).step_by(400) {
        system
            .call("bulk", "a", "fill", vec![json!(from), json!(400)], caller())
            .await
            .unwrap();
    }
    let page = system
        .kv_scan("bulk", "a", KvScan::all().limit(5000))
        .await
        .unwrap();
    assert_eq!(page.entries.len(), ActorSystem::MAX_INSPECT_PAGE);
    let rest = system
        .kv_scan("bulk", "a", page.next.unwrap())
        .await
        .unwrap();
    assert_eq!((rest.entries.len(), rest.next), (200, None));
    system.shutdown().await;
}

/// A loaded actor shows its committed state and entries: a change whose commit is still on
/// its way is not shown, and neither has its caller been answered.
#[tokio::test]
async fn a_loaded_actor_shows_what_is_committed() {
    let store = ControlledStore::new();
    let system = ActorSystem::builder()
        .store(store.clone())
        .register_default::<Log>("log")
        .build()
        .await
        .unwrap();
    add(&system, "a", "first").await;
    store.hold();
    let pending = {
        let system = system.clone();
        tokio::spawn(async move { add(&system, "a", "second").await })
    };
    until("the second add is being written", || store.waiting() == 1).await;
    assert!(system.is_loaded("log", "a"));
    let state = system.state("log", "a").await.unwrap().unwrap();
    assert_eq!(
        state.value,
        json!(1),
        "the unacknowledged change is not shown"
    );
    let page = system.kv_scan("log", "a", KvScan::all()).await.unwrap();
    assert_eq!(keys(&page.entries), vec!["e/0000"]);
    assert!(!pending.is_finished());

    store.release();
    assert_eq!(pending.await.unwrap(), json!(1));
    // acknowledged, therefore committed, therefore shown
    let state = system.state("log", "a").await.unwrap().unwrap();
    assert_eq!(state.value, json!(2));
    let page = system.kv_scan("log", "a", KvScan::all()).await.unwrap();
    assert_eq!(keys(&page.entries), vec!["e/0000", "e/0001"]);
    system.shutdown().await;
}

/// `recent_commits` lists the committer's last transactions, newest first, on a real redb
/// file: each with its writes and the actors it wrote; a failed one with the store's error.
#[tokio::test]
async fn recent_commits_list_the_last_transactions_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let system = ActorSystem::builder()
        .store(RedbStore::open(dir.path().join("actors.redb")).unwrap())
        .register_default::<Log>("log")
        .build()
        .await
        .unwrap();
    assert!(system.recent_commits().is_empty());
    for key in ["a", "b", "c"] {
        add(&system, key, "entry").await;
    }
    let recent = system.recent_commits();
    assert_eq!(recent.len(), 3);
    let actors: Vec<&str> = recent.iter().map(|r| r.actors[0].as_str()).collect();
    assert_eq!(actors, ["log/c", "log/b", "log/a"]);
    assert!(recent.iter().all(|r| r.is_ok() && r.writes == 1));
    assert!(recent[0].at_unix_ms >= recent[2].at_unix_ms);

    // bounded: many more transactions than the ring holds
    for i in 0..flame_stateful::RECENT_COMMITS + 10 {
        add(&system, "a", &format!("more {i}")).await;
    }
    assert_eq!(
        system.recent_commits().len(),
        flame_stateful::RECENT_COMMITS
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_failed_commit_is_listed_with_its_error() {
    let store = ControlledStore::new();
    let system = ActorSystem::builder()
        .store(store.clone())
        .register_default::<Log>("log")
        .build()
        .await
        .unwrap();
    add(&system, "a", "first").await;
    store.fail_next(1);
    let failed = system
        .call("log", "a", "add", vec![json!("second")], caller())
        .await;
    assert!(failed.is_err());
    let recent = system.recent_commits();
    let failed: Vec<_> = recent.iter().filter(|r| !r.is_ok()).collect();
    assert_eq!(failed.len(), 1, "{recent:?}");
    assert_eq!(failed[0].actors, ["log/a"]);
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("store backend error")),
        "{recent:?}"
    );
    assert!(recent.last().is_some_and(|first| first.is_ok()));
    assert_eq!(system.commit_stats().failures, 1);
    system.shutdown().await;
}
