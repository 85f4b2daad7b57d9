//! The cache over real loopback sockets: a cached computation, delete and flush through
//! routes, expiry on a hand-moved clock, the bounds, both stores, the purge task's life.
#![cfg(feature = "cache-redb")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use flame_core::{Context, Flame};
use flame_extra::cache::{
    BoxFuture, Cache, CacheEntry, CacheError, CacheOptions, CacheStore, MemoryStore, RedbStore,
    cacher, cacher_shared,
};
use flame_test_support::TestServer;

/// A clock the test moves by hand, in seconds since the epoch.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn options(&self) -> CacheOptions {
        let now = self.0.clone();
        CacheOptions::default().clock(Arc::new(move || {
            UNIX_EPOCH + Duration::from_secs(1_000_000 + now.load(Ordering::SeqCst))
        }))
    }
}

/// `/square/{n}` computes n² once per lifetime, counting the computations; routes to delete
/// one result, to flush them all and to cache a value the client sends.
fn app(cache: Cache, computations: Arc<AtomicUsize>) -> Flame {
    let mut f = Flame::new();
    f.use_(cacher_shared(cache));
    f.get("/square/{n}", move |c: Context, cache: Cache| {
        let computations = computations.clone();
        async move {
            let key = format!("square:{}", c.param("n"));
            if let Some(square) = cache.get::<u64>(&key).await? {
                return Ok::<_, CacheError>(format!("{square} (cached)"));
            }
            let n: u64 = c.param("n").parse().unwrap_or(0);
            computations.fetch_add(1, Ordering::SeqCst);
            cache.set(&key, &(n * n), Duration::from_secs(10)).await?;
            Ok(format!("{}", n * n))
        }
    });
    f.delete("/square/{n}", |c: Context, cache: Cache| async move {
        cache.delete(&format!("square:{}", c.param("n"))).await
    });
    f.post("/flush", |cache: Cache| async move { cache.flush().await });
    f.post("/notes/{key}", |c: Context, cache: Cache| async move {
        cache
            .set(c.param("key"), &c.query("note"), Duration::from_secs(60))
            .await
            .map(|()| "stored")
    });
    f.get("/notes/{key}", |c: Context, cache: Cache| async move {
        cache
            .get::<String>(c.param("key"))
            .await
            .map(|note| note.unwrap_or_else(|| "none".to_owned()))
    });
    f
}

async fn text(response: reqwest::Response) -> (u16, String) {
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The transcript both stores must give.
async fn computes_once_until_deleted_flushed_or_expired(store: Arc<dyn CacheStore>) {
    let clock = ManualClock::default();
    let computations = Arc::new(AtomicUsize::new(0));
    let cache = Cache::shared(clock.options(), store);
    let server = TestServer::start(app(cache, computations.clone())).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(server.url(path)).send();

    assert_eq!(
        text(get("/square/12").await.unwrap()).await,
        (200, "144".into())
    );
    assert_eq!(
        text(get("/square/12").await.unwrap()).await,
        (200, "144 (cached)".into())
    );
    assert_eq!(
        computations.load(Ordering::SeqCst),
        1,
        "served from the cache"
    );

    let deleted = http.delete(server.url("/square/12")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(text(get("/square/12").await.unwrap()).await.1, "144");
    assert_eq!(
        computations.load(Ordering::SeqCst),
        2,
        "computed again after delete"
    );

    assert_eq!(text(get("/square/3").await.unwrap()).await.1, "9");
    let flushed = http.post(server.url("/flush")).send().await.unwrap();
    assert_eq!(flushed.status(), 200);
    assert_eq!(text(get("/square/12").await.unwrap()).await.1, "144");
    assert_eq!(text(get("/square/3").await.unwrap()).await.1, "9");
    assert_eq!(
        computations.load(Ordering::SeqCst),
        5,
        "computed again after flush"
    );

    clock.advance(9);
    assert_eq!(text(get("/square/3").await.unwrap()).await.1, "9 (cached)");
    clock.advance(1);
    assert_eq!(
        text(get("/square/3").await.unwrap()).await.1,
        "9",
        "an entry at its deadline is expired"
    );
    assert_eq!(computations.load(Ordering::SeqCst), 6);
    server.stop().await;
}

#[tokio::test]
async fn the_memory_store_serves_a_computation_from_the_cache() {
    computes_once_until_deleted_flushed_or_expired(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn the_redb_store_serves_a_computation_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("cache.redb")).unwrap();
    computes_once_until_deleted_flushed_or_expired(Arc::new(store)).await;
}

#[tokio::test]
async fn the_redb_store_keeps_the_cache_warm_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let computations = Arc::new(AtomicUsize::new(0));
    let clock = ManualClock::default();
    for expected in ["144", "144 (cached)"] {
        let store = RedbStore::open(&path).unwrap();
        let cache = Cache::new(clock.options(), store);
        let server = TestServer::start(app(cache, computations.clone())).await;
        let response = reqwest::get(server.url("/square/12")).await.unwrap();
        assert_eq!(text(response).await.1, expected);
        server.stop().await;
    }
    assert_eq!(computations.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_key_or_value_over_its_bound_is_refused_and_stores_nothing() {
    let store = MemoryStore::new();
    let cache = Cache::new(
        CacheOptions::default().max_key_bytes(8).max_value_bytes(16),
        store.clone(),
    );
    let server = TestServer::start(app(cache, Arc::default())).await;
    let http = reqwest::Client::new();

    let stored = http
        .post(server.url("/notes/short?note=hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(text(stored).await, (200, "stored".into()));

    let long_key = http
        .post(server.url("/notes/far-too-long?note=x"))
        .send()
        .await
        .unwrap();
    let (status, body) = text(long_key).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("cache key of 12 bytes is longer than the limit of 8"),
        "{body}"
    );

    // "a" * 15 serializes as 17 bytes of JSON (with its quotes).
    let big = http
        .post(server.url(&format!("/notes/short?note={}", "a".repeat(15))))
        .send()
        .await
        .unwrap();
    let (status, body) = text(big).await;
    assert_eq!(status, 413);
    assert!(
        body.contains("cache value of 17 bytes is larger than the limit of 16"),
        "{body}"
    );

    let kept = reqwest::get(server.url("/notes/short")).await.unwrap();
    assert_eq!(text(kept).await.1, "hello", "the old value is untouched");
    assert_eq!(store.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_value_of_another_type_is_a_miss() {
    let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
    cache
        .set("n", "not a number", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get::<u64>("n").await.unwrap(), None);
    assert_eq!(
        cache.get::<String>("n").await.unwrap().as_deref(),
        Some("not a number")
    );
}

#[tokio::test]
async fn a_lifetime_of_zero_caches_nothing_and_gc_purges_it() {
    let store = MemoryStore::new();
    let cache = Cache::new(CacheOptions::default(), store.clone());
    cache.set("gone", &1u8, Duration::ZERO).await.unwrap();
    assert_eq!(cache.get::<u8>("gone").await.unwrap(), None);
    assert_eq!(store.len(), 1, "held until purged");
    assert_eq!(cache.gc().await.unwrap(), 1);
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_cache_built_outside_requests_is_shared_with_the_app() {
    let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
    let warmer = cache.clone();
    tokio::spawn(async move {
        warmer
            .set("motd", "warmed by a task", Duration::from_secs(60))
            .await
    })
    .await
    .unwrap()
    .unwrap();
    let mut f = Flame::new();
    f.use_(cacher(CacheOptions::default(), MemoryStore::new()));
    f.get("/own", |cache: Cache| async move {
        cache
            .get::<String>("motd")
            .await
            .map(|m| m.unwrap_or_default())
    });
    let mut shared = Flame::new();
    shared.use_(cacher_shared(cache));
    shared.get("/motd", |cache: Cache| async move {
        cache
            .get::<String>("motd")
            .await
            .map(|m| m.unwrap_or_default())
    });
    let own = TestServer::start(f).await;
    let server = TestServer::start(shared).await;
    assert_eq!(
        text(reqwest::get(server.url("/motd")).await.unwrap())
            .await
            .1,
        "warmed by a task"
    );
    assert_eq!(
        text(reqwest::get(own.url("/own")).await.unwrap()).await.1,
        "",
        "a cacher of its own is another cache"
    );
    server.stop().await;
    own.stop().await;
}

/// Wraps a store and counts the purges it sees.
struct CountingPurges {
    inner: MemoryStore,
    purges: Arc<AtomicUsize>,
}

impl CacheStore for CountingPurges {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CacheEntry>, CacheError>> {
        self.inner.get(key)
    }
    fn set<'a>(&'a self, key: &'a str, entry: CacheEntry) -> BoxFuture<'a, Result<(), CacheError>> {
        self.inner.set(key, entry)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>> {
        self.inner.delete(key)
    }
    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        self.inner.flush()
    }
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, CacheError>> {
        self.purges.fetch_add(1, Ordering::SeqCst);
        self.inner.purge_expired(now)
    }
}

#[tokio::test]
async fn the_purge_task_purges_and_stops_with_the_last_handle() {
    let purges = Arc::new(AtomicUsize::new(0));
    let inner = MemoryStore::new();
    let store: Arc<dyn CacheStore> = Arc::new(CountingPurges {
        inner: inner.clone(),
        purges: purges.clone(),
    });
    let cache = Cache::shared(CacheOptions::default(), store.clone());
    inner
        .set(
            "expired",
            CacheEntry {
                value: b"1".to_vec(),
                expires_at: 0,
            },
        )
        .await
        .unwrap();
    // The interval's first tick is immediate; the bound only turns a hang into a failure.
    tokio::time::timeout(Duration::from_secs(30), async {
        while purges.load(Ordering::SeqCst) == 0 || !inner.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the purge task ran and purged the expired entry");

    assert_eq!(
        Arc::strong_count(&store),
        3,
        "ours, the cache's and the task's"
    );
    let clone = cache.clone();
    drop(cache);
    assert_eq!(Arc::strong_count(&store), 3, "a clone keeps the task");
    drop(clone);
    tokio::time::timeout(Duration::from_secs(30), async {
        while Arc::strong_count(&store) > 1 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the aborted task let go of the store");
}
