//! The cache example over a real socket: the curl transcript of its doc comment, on both
//! stores, and a restart on the redb store that starts warm.

mod common;

use common::{TestServer, get};
use flame_extra::cache::{Cache, CacheOptions, MemoryStore, RedbStore};

#[allow(dead_code)]
#[path = "../cache.rs"]
mod cache;

async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn transcript(server: &TestServer) {
    let http = reqwest::Client::new();
    assert_eq!(
        get(server, "/primes/100").await,
        (200, "25 primes below 100 (computed)".to_owned())
    );
    assert_eq!(
        get(server, "/primes/100").await,
        (200, "25 primes below 100 (cached)".to_owned())
    );
    assert_eq!(
        get(server, "/computations").await.1,
        "1",
        "served from the cache"
    );
    assert_eq!(
        send(http.delete(server.url("/primes/100"))).await,
        (200, "forgotten".to_owned())
    );
    assert_eq!(
        get(server, "/primes/100").await.1,
        "25 primes below 100 (computed)"
    );
    assert_eq!(
        get(server, "/primes/1000").await.1,
        "168 primes below 1000 (computed)"
    );
    assert_eq!(
        send(http.post(server.url("/flush"))).await,
        (200, "everything forgotten".to_owned())
    );
    assert_eq!(
        get(server, "/primes/1000").await.1,
        "168 primes below 1000 (computed)"
    );
    assert_eq!(get(server, "/computations").await.1, "4");
    let (status, body) = get(server, "/primes/10000001").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("n must be a number up to 10000000"), "{body}");
}

#[tokio::test]
async fn computes_once_then_serves_from_the_memory_store() {
    let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
    let server = TestServer::start(cache::app(cache)).await;
    transcript(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn computes_once_then_serves_from_the_redb_store_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let server = TestServer::start(cache::app(Cache::new(
        CacheOptions::default(),
        RedbStore::open(&path).unwrap(),
    )))
    .await;
    transcript(&server).await;
    server.stop().await;

    let server = TestServer::start(cache::app(Cache::new(
        CacheOptions::default(),
        RedbStore::open(&path).unwrap(),
    )))
    .await;
    assert_eq!(
        get(&server, "/primes/1000").await.1,
        "168 primes below 1000 (cached)",
        "the restart starts warm"
    );
    assert_eq!(get(&server, "/computations").await.1, "0");
    server.stop().await;
}
