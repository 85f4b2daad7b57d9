//! The cases every `ActorStore` must pass, run against each store by its own tests: state,
//! tombstones, alarms, key-value puts, deletes and scans (prefix, range, reverse, limit,
//! bytewise order), multi-actor commits, and persistence across a reopen.
//!
//! Each case opens the store through `open` (and drops it before opening it again, since a
//! redb file is opened by one handle at a time) and uses actor keys of its own, so the cases
//! can share one database.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use flame_stateful::store::{ActorId, ActorStore, ActorWrite, Alarm, KvOp, KvScan};
use serde_json::json;

fn id(case: &str, key: &str) -> ActorId {
    ActorId::new(format!("contract-{case}"), key)
}

fn state(bytes: &[u8]) -> Option<Arc<[u8]>> {
    Some(Arc::from(bytes))
}

fn kv_put(key: &[u8], value: &[u8]) -> KvOp {
    KvOp {
        key: key.to_vec(),
        value: Some(Arc::from(value)),
    }
}

fn kv_delete(key: &[u8]) -> KvOp {
    KvOp {
        key: key.to_vec(),
        value: None,
    }
}

fn alarm(id: u64, at_ms: u64) -> Alarm {
    Alarm {
        id,
        at_ms,
        method: "tick".into(),
        args: vec![json!(id), json!({"nested": [1, 2]})],
    }
}

/// Runs every case against the store `open` returns.
pub async fn run_all<S, F, Fut>(mut open: F)
where
    S: ActorStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    state_and_tombstones(open().await).await;
    alarms(&mut open).await;
    kv_basics(open().await).await;
    kv_scans(open().await).await;
    kv_model(open().await).await;
    multi_actor_commit(open().await).await;
    persists_across_reopen(&mut open).await;
}

/// State is written, replaced, read back; a destroyed actor is a tombstone without state,
/// alarms or key-value entries, for good.
pub async fn state_and_tombstones(store: impl ActorStore) {
    let a = id("state", "a");
    let fresh = store.load(&a).await.unwrap();
    assert!(!fresh.is_initialized() && !fresh.destroyed);
    assert!(store.commit(vec![]).await.is_ok());
    assert!(store.commit(vec![ActorWrite::new(a.clone())]).await.is_ok());
    assert!(!store.load(&a).await.unwrap().is_initialized());

    let mut w = ActorWrite::new(a.clone());
    w.state = state(b"{\"count\":1}");
    store.commit(vec![w]).await.unwrap();
    let mut w = ActorWrite::new(a.clone());
    w.state = state(b"{\"count\":2}");
    w.kv.push(kv_put(b"k", b"v"));
    w.put_alarms.push(alarm(7, 1_000));
    store.commit(vec![w]).await.unwrap();
    assert_eq!(
        store.load(&a).await.unwrap().state.as_deref(),
        Some(b"{\"count\":2}".as_slice())
    );

    let mut w = ActorWrite::new(a.clone());
    w.destroy = true;
    w.state = state(b"ignored");
    store.commit(vec![w]).await.unwrap();
    let gone = store.load(&a).await.unwrap();
    assert!(gone.destroyed && gone.state.is_none());
    assert_eq!(store.kv_get(&a, b"k").await.unwrap(), None);
    assert!(store.kv_scan(&a, &KvScan::all()).await.unwrap().is_empty());
    assert!(
        !store
            .load_alarms()
            .await
            .unwrap()
            .iter()
            .any(|(who, _)| *who == a)
    );
    // Destroying twice is harmless.
    let mut w = ActorWrite::new(a.clone());
    w.destroy = true;
    store.commit(vec![w]).await.unwrap();
    assert!(store.load(&a).await.unwrap().destroyed);
    // Another key of the same kind is untouched.
    assert!(!store.load(&id("state", "b")).await.unwrap().destroyed);
}

/// Alarms are added, replaced by id and removed, and all come back from `load_alarms`
/// (also after a reopen), with their arguments intact, ids up to `u64::MAX`.
pub async fn alarms<S, F, Fut>(open: &mut F)
where
    S: ActorStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let a = id("alarms", "a");
    let b = id("alarms", "b");
    {
        let store = open().await;
        let mut w = ActorWrite::new(a.clone());
        w.put_alarms = vec![alarm(1, 10), alarm(2, 20), alarm(u64::MAX, u64::MAX)];
        let mut wb = ActorWrite::new(b.clone());
        wb.put_alarms = vec![alarm(1, 5)];
        store.commit(vec![w, wb]).await.unwrap();
        let mut w = ActorWrite::new(a.clone());
        w.put_alarms = vec![alarm(2, 25)];
        w.delete_alarms = vec![1];
        store.commit(vec![w]).await.unwrap();
    }
    let store = open().await;
    let mut mine: Vec<(ActorId, Alarm)> = store
        .load_alarms()
        .await
        .unwrap()
        .into_iter()
        .filter(|(who, _)| who.name == a.name)
        .collect();
    mine.sort_by(|x, y| (&x.0, x.1.id).cmp(&(&y.0, y.1.id)));
    assert_eq!(
        mine,
        vec![
            (a.clone(), alarm(2, 25)),
            (a.clone(), alarm(u64::MAX, u64::MAX)),
            (b.clone(), alarm(1, 5)),
        ]
    );
}

/// Puts, overwrites, deletes, later ops of one write winning; values are bytes.
pub async fn kv_basics(store: impl ActorStore) {
    let a = id("kv", "a");
    let other = id("kv", "other");
    let mut w = ActorWrite::new(a.clone());
    w.kv = vec![
        kv_put(b"x", b"1"),
        kv_put(b"y", b"2"),
        kv_put(b"x", b"3"),
        kv_put(b"gone", b"0"),
        kv_delete(b"gone"),
        kv_delete(b"never"),
        kv_put(b"", b"empty key"),
        kv_put(b"bin\x00\xff", b"\x00\x01\xfe\xff"),
    ];
    let mut wo = ActorWrite::new(other.clone());
    wo.kv = vec![kv_put(b"x", b"theirs")];
    store.commit(vec![w, wo]).await.unwrap();
    assert_eq!(
        store.kv_get(&a, b"x").await.unwrap().as_deref(),
        Some(b"3".as_slice())
    );
    assert_eq!(
        store.kv_get(&a, b"y").await.unwrap().as_deref(),
        Some(b"2".as_slice())
    );
    assert_eq!(store.kv_get(&a, b"gone").await.unwrap(), None);
    assert_eq!(
        store.kv_get(&a, b"").await.unwrap().as_deref(),
        Some(b"empty key".as_slice())
    );
    assert_eq!(
        store.kv_get(&a, b"bin\x00\xff").await.unwrap().as_deref(),
        Some(b"\x00\x01\xfe\xff".as_slice())
    );
    assert_eq!(
        store.kv_get(&other, b"x").await.unwrap().as_deref(),
        Some(b"theirs".as_slice())
    );
    // Key-value writes do not initialize the actor.
    assert!(!store.load(&a).await.unwrap().is_initialized());
}

/// Scans: prefix, range, reverse, limit, open ends, empty ranges, bytewise order (bytes
/// above 0x7f after ASCII, a shorter key before its extensions).
pub async fn kv_scans(store: impl ActorStore) {
    let a = id("scan", "a");
    let keys: Vec<&[u8]> = vec![
        b"a",
        b"a/1",
        b"a/2",
        b"a/3",
        b"a0",
        b"B",
        b"b",
        b"\x00",
        b"\x7f",
        b"\x80",
        b"\xff",
        b"\xff\xff",
        b"\xc3\xa9",
        b"Z",
    ];
    let mut w = ActorWrite::new(a.clone());
    w.kv = keys.iter().map(|k| kv_put(k, k)).collect();
    store.commit(vec![w]).await.unwrap();
    let mut sorted: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    sorted.sort();
    let scan_keys = |entries: Vec<(Vec<u8>, Arc<[u8]>)>| {
        entries
            .into_iter()
            .map(|(k, v)| {
                assert_eq!(&*k, &*v);
                k
            })
            .collect::<Vec<_>>()
    };
    let all = scan_keys(store.kv_scan(&a, &KvScan::all()).await.unwrap());
    assert_eq!(all, sorted);
    let rev = scan_keys(store.kv_scan(&a, &KvScan::all().reverse()).await.unwrap());
    assert_eq!(rev, sorted.iter().rev().cloned().collect::<Vec<_>>());
    let prefix = scan_keys(store.kv_scan(&a, &KvScan::prefix(b"a/")).await.unwrap());
    assert_eq!(
        prefix,
        vec![b"a/1".to_vec(), b"a/2".to_vec(), b"a/3".to_vec()]
    );
    let prefix_rev_limit = scan_keys(
        store
            .kv_scan(&a, &KvScan::prefix(b"a/").reverse().limit(2))
            .await
            .unwrap(),
    );
    assert_eq!(prefix_rev_limit, vec![b"a/3".to_vec(), b"a/2".to_vec()]);
    let ff = scan_keys(store.kv_scan(&a, &KvScan::prefix(b"\xff")).await.unwrap());
    assert_eq!(ff, vec![b"\xff".to_vec(), b"\xff\xff".to_vec()]);
    let range = scan_keys(
        store
            .kv_scan(&a, &KvScan::range(b"B", b"a0"))
            .await
            .unwrap(),
    );
    assert_eq!(
        range,
        vec![
            b"B".to_vec(),
            b"Z".to_vec(),
            b"a".to_vec(),
            b"a/1".to_vec(),
            b"a/2".to_vec(),
            b"a/3".to_vec()
        ]
    );
    let limited = scan_keys(store.kv_scan(&a, &KvScan::all().limit(3)).await.unwrap());
    assert_eq!(limited, sorted[..3].to_vec());
    assert!(
        store
            .kv_scan(&a, &KvScan::all().limit(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .kv_scan(&a, &KvScan::range(b"b", b"a"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .kv_scan(&a, &KvScan::range(b"b", b"b"))
            .await
            .unwrap()
            .is_empty()
    );
    let open_start = KvScan {
        start: None,
        end: Some(b"B".to_vec()),
        reverse: true,
        limit: usize::MAX,
    };
    let below = scan_keys(store.kv_scan(&a, &open_start).await.unwrap());
    assert_eq!(below, vec![b"\x00".to_vec()]);
    assert!(
        store
            .kv_scan(&id("scan", "empty"), &KvScan::all())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A deterministic random sequence of puts and deletes over a small key alphabet, checked
/// against a `BTreeMap` after each commit with scans of every shape.
pub async fn kv_model(store: impl ActorStore) {
    let a = id("model", "a");
    let mut model: BTreeMap<Vec<u8>, Arc<[u8]>> = BTreeMap::new();
    // xorshift: reproducible without a dependency.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: [u8; 5] = [0x00, b'a', b'b', 0x7f, 0xff];
    for round in 0..12u32 {
        let mut w = ActorWrite::new(a.clone());
        for _ in 0..(next() % 12) {
            let len = usize::try_from(next() % 4).unwrap();
            let key: Vec<u8> = (0..len)
                .map(|_| alphabet[usize::try_from(next() % 5).unwrap()])
                .collect();
            if next() % 3 == 0 {
                model.remove(&key);
                w.kv.push(kv_delete(&key));
            } else {
                let value: Arc<[u8]> = Arc::from(format!("{round}").into_bytes());
                model.insert(key.clone(), value.clone());
                w.kv.push(KvOp {
                    key,
                    value: Some(value),
                });
            }
        }
        store.commit(vec![w]).await.unwrap();
        let bytes: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert_eq!(
            store.kv_bytes(&a).await.unwrap(),
            bytes as u64,
            "round {round}: the space's total bytes"
        );
        for _ in 0..4 {
            let bound = |n: u64| -> Vec<u8> {
                (0..n % 3)
                    .map(|i| alphabet[usize::try_from((n >> (i * 8)) % 5).unwrap()])
                    .collect()
            };
            let scan = KvScan {
                start: (next() % 2 == 0).then(|| bound(next())),
                end: (next() % 2 == 0).then(|| bound(next())),
                reverse: next() % 2 == 0,
                limit: usize::try_from(next() % 8).unwrap(),
            };
            let got = store.kv_scan(&a, &scan).await.unwrap();
            let selected = model.iter().filter(|(k, _)| scan.contains(k));
            let expected: Vec<(Vec<u8>, Arc<[u8]>)> = if scan.reverse {
                selected
                    .rev()
                    .take(scan.limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                selected
                    .take(scan.limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            assert_eq!(got, expected, "round {round}, {scan:?}");
        }
    }
}

/// One commit of many actors' writes lands as a whole, each actor's part in order (a later
/// write of the same actor in the batch wins).
pub async fn multi_actor_commit(store: impl ActorStore) {
    let writes: Vec<ActorWrite> = (0..50)
        .map(|i| {
            let mut w = ActorWrite::new(id("group", &format!("k{i}")));
            w.state = state(format!("{i}").as_bytes());
            w.kv.push(kv_put(b"n", format!("{i}").as_bytes()));
            w
        })
        .chain((0..5).map(|i| {
            let mut w = ActorWrite::new(id("group", &format!("k{i}")));
            w.state = state(b"second");
            w
        }))
        .collect();
    store.commit(writes).await.unwrap();
    for i in 0..50 {
        let who = id("group", &format!("k{i}"));
        let expected = if i < 5 {
            b"second".to_vec()
        } else {
            format!("{i}").into_bytes()
        };
        assert_eq!(
            store.load(&who).await.unwrap().state.as_deref(),
            Some(expected.as_slice())
        );
        assert_eq!(
            store.kv_get(&who, b"n").await.unwrap().as_deref(),
            Some(format!("{i}").as_bytes())
        );
    }
}

/// Everything committed is there after the store is dropped and opened again.
pub async fn persists_across_reopen<S, F, Fut>(open: &mut F)
where
    S: ActorStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let a = id("reopen", "a");
    let dead = id("reopen", "dead");
    {
        let store = open().await;
        let mut w = ActorWrite::new(a.clone());
        w.state = state(b"kept");
        w.kv.push(kv_put(b"k", b"v"));
        w.put_alarms.push(alarm(3, 30));
        let mut d = ActorWrite::new(dead.clone());
        d.destroy = true;
        store.commit(vec![w, d]).await.unwrap();
    }
    let store = open().await;
    assert_eq!(
        store.load(&a).await.unwrap().state.as_deref(),
        Some(b"kept".as_slice())
    );
    assert_eq!(
        store.kv_get(&a, b"k").await.unwrap().as_deref(),
        Some(b"v".as_slice())
    );
    assert!(
        store
            .load_alarms()
            .await
            .unwrap()
            .contains(&(a.clone(), alarm(3, 30)))
    );
    assert!(store.load(&dead).await.unwrap().destroyed);
}
