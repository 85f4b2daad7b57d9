//! Sessions over real loopback sockets: cookies, rotation, expiry, limits, both stores.
#![cfg(feature = "session-redb")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use flame_core::{Flame, StatusCode};
use flame_extra::session::{
    BoxFuture, MemoryStore, RedbStore, Session, SessionConfig, SessionError, SessionRecord,
    SessionStore, sessioner, sessioner_shared,
};
use flame_test_support::TestServer;

/// A clock the test moves by hand, in seconds since the epoch.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn at(secs: u64) -> Self {
        let clock = Self::default();
        clock.0.store(secs, Ordering::SeqCst);
        clock
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn config(&self) -> SessionConfig {
        let now = self.0.clone();
        SessionConfig::default()
            .secure(false)
            .idle_timeout(Duration::from_secs(100))
            .absolute_timeout(Duration::from_secs(1_000))
            .clock(Arc::new(move || {
                UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst))
            }))
    }
}

/// Wraps a store and counts the loads it sees.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    loads: Arc<AtomicUsize>,
}

impl SessionStore for Counting {
    fn load<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionError>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        self.inner.save(key, record)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SessionError>> {
        self.inner.delete(key)
    }
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, SessionError>> {
        self.inner.purge_expired(now)
    }
}

/// A store whose disk is gone.
struct Broken;

impl SessionStore for Broken {
    fn load<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionError>> {
        Box::pin(async { Err(SessionError::Store("disk on fire".into())) })
    }
    fn save<'a>(
        &'a self,
        _: &'a str,
        _: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async { Err(SessionError::Store("disk on fire".into())) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async { Err(SessionError::Store("disk on fire".into())) })
    }
    fn purge_expired(&self, _: u64) -> BoxFuture<'_, Result<usize, SessionError>> {
        Box::pin(async { Err(SessionError::Store("disk on fire".into())) })
    }
}

fn app(config: SessionConfig, store: Arc<dyn SessionStore>) -> Flame {
    let mut f = Flame::new();
    f.use_(sessioner_shared(config, store));
    f.get("/count", |s: Session| {
        let n = s.get::<u32>("n").unwrap_or(0) + 1;
        s.set("n", n).map(|()| n.to_string())
    });
    f.get("/peek", |s: Session| {
        format!("{}:{}", s.is_new(), s.get::<u32>("n").unwrap_or(0))
    });
    f.post("/login", |s: Session| {
        s.regenerate();
        s.set("user", "ada")
    });
    f.get("/user", |s: Session| {
        s.get::<String>("user").unwrap_or_default()
    });
    f.post("/logout", |s: Session| s.destroy());
    f.post("/big", |s: Session| s.set("big", "x".repeat(5_000)));
    f
}

struct Client {
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Answer {
    status: u16,
    body: String,
    set_cookie: Option<String>,
}

impl Client {
    fn new() -> Self {
        Self {
            http: reqwest::Client::new(),
            cookie: None,
        }
    }

    async fn send(&mut self, method: reqwest::Method, url: String) -> Answer {
        let mut request = self.http.request(method, url);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie.clone());
        }
        let response = request.send().await.unwrap();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned());
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        Answer {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
            set_cookie,
        }
    }

    async fn get(&mut self, server: &TestServer, path: &str) -> Answer {
        self.send(reqwest::Method::GET, server.url(path)).await
    }

    async fn post(&mut self, server: &TestServer, path: &str) -> Answer {
        self.send(reqwest::Method::POST, server.url(path)).await
    }
}

#[tokio::test]
async fn values_survive_between_requests_through_an_http_only_lax_cookie() {
    let store = MemoryStore::new();
    let server = TestServer::start(app(
        SessionConfig::default().secure(true),
        Arc::new(store.clone()),
    ))
    .await;
    let mut client = Client::new();
    let first = client.get(&server, "/count").await;
    assert_eq!((first.status, first.body.as_str()), (200, "1"));
    let cookie = first.set_cookie.unwrap();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("flame_session=")
        .unwrap();
    assert_eq!(value.len(), 43, "256 random bits, base64url");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    let second = client.get(&server, "/count").await;
    assert_eq!(second.body, "2");
    assert!(
        second.set_cookie.is_none(),
        "a known session is not re-sent"
    );
    assert_eq!(client.get(&server, "/peek").await.body, "false:2");
    assert_eq!(store.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_visitor_whose_session_stays_empty_gets_no_cookie_and_costs_no_write() {
    let store = MemoryStore::new();
    let server = TestServer::start(app(SessionConfig::default(), Arc::new(store.clone()))).await;
    let mut client = Client::new();
    for _ in 0..3 {
        let answer = client.get(&server, "/peek").await;
        assert_eq!(answer.body, "true:0");
        assert!(answer.set_cookie.is_none());
    }
    assert!(store.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_or_unknown_cookie_starts_a_new_session_and_malformed_ones_skip_the_store() {
    let loads = Arc::new(AtomicUsize::new(0));
    let store = Counting {
        inner: MemoryStore::new(),
        loads: loads.clone(),
    };
    let server = TestServer::start(app(SessionConfig::default(), Arc::new(store))).await;
    let mut client = Client::new();
    client.cookie = Some(format!("flame_session={}", "a".repeat(5000)));
    assert_eq!(client.get(&server, "/peek").await.body, "true:0");
    client.cookie = Some("flame_session=not;valid".into());
    assert_eq!(client.get(&server, "/peek").await.body, "true:0");
    assert_eq!(
        loads.load(Ordering::SeqCst),
        0,
        "malformed ids never reach the store"
    );
    client.cookie = Some(format!("flame_session={}", "b".repeat(43)));
    assert_eq!(client.get(&server, "/peek").await.body, "true:0");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn regenerate_rotates_the_id_keeps_the_data_and_kills_the_old_id() {
    let store = MemoryStore::new();
    let server = TestServer::start(app(SessionConfig::default(), Arc::new(store.clone()))).await;
    let mut client = Client::new();
    client.get(&server, "/count").await;
    let before = client.cookie.clone().unwrap();
    let login = client.post(&server, "/login").await;
    assert_eq!(login.status, 200);
    let after = client.cookie.clone().unwrap();
    assert_ne!(before, after, "sign-in gives a new id");
    assert_eq!(client.get(&server, "/user").await.body, "ada");
    assert_eq!(
        client.get(&server, "/peek").await.body,
        "false:1",
        "data kept"
    );
    assert_eq!(store.len(), 1, "the old id is gone from the store");

    let mut attacker = Client::new();
    attacker.cookie = Some(before);
    assert_eq!(attacker.get(&server, "/user").await.body, "");
    server.stop().await;
}

#[tokio::test]
async fn destroy_forgets_the_session_and_clears_the_cookie() {
    let store = MemoryStore::new();
    let server = TestServer::start(app(SessionConfig::default(), Arc::new(store.clone()))).await;
    let mut client = Client::new();
    client.post(&server, "/login").await;
    let old = client.cookie.clone().unwrap();
    let logout = client.post(&server, "/logout").await;
    let cleared = logout.set_cookie.unwrap();
    assert!(cleared.starts_with("flame_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(store.is_empty());
    let mut replay = Client::new();
    replay.cookie = Some(old);
    assert_eq!(replay.get(&server, "/user").await.body, "");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_session_expires_and_use_keeps_it_alive() {
    let clock = ManualClock::at(10_000);
    let store = MemoryStore::new();
    let server = TestServer::start(app(clock.config(), Arc::new(store.clone()))).await;
    let mut client = Client::new();
    client.get(&server, "/count").await;
    // Used every 60 s (idle timeout 100 s): alive well past 100 s.
    for expected in 2..=4 {
        clock.advance(60);
        assert_eq!(
            client.get(&server, "/count").await.body,
            expected.to_string()
        );
    }
    clock.advance(99);
    assert_eq!(client.get(&server, "/peek").await.body, "false:4");
    clock.advance(100);
    assert_eq!(
        client.get(&server, "/peek").await.body,
        "true:0",
        "idle too long"
    );
    assert!(store.is_empty(), "the expired session was deleted at load");
    server.stop().await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_deadline_however_busy() {
    let clock = ManualClock::at(50_000);
    let server = TestServer::start(app(clock.config(), Arc::new(MemoryStore::new()))).await;
    let mut client = Client::new();
    client.get(&server, "/count").await;
    let mut n = 1;
    // Touched every 50 s, never idle; the absolute timeout is 1,000 s.
    while n < 19 {
        clock.advance(50);
        n += 1;
        assert_eq!(client.get(&server, "/count").await.body, n.to_string());
    }
    clock.advance(99); // 999 s after creation
    assert_eq!(client.get(&server, "/peek").await.body, "false:19");
    clock.advance(1); // 1,000 s after creation
    assert_eq!(client.get(&server, "/peek").await.body, "true:0");
    server.stop().await;
}

#[tokio::test]
async fn data_beyond_the_limit_is_refused_with_413_and_the_session_is_unchanged() {
    let store = MemoryStore::new();
    let config = SessionConfig::default().max_data_bytes(4096);
    let server = TestServer::start(app(config, Arc::new(store.clone()))).await;
    let mut client = Client::new();
    client.get(&server, "/count").await;
    let big = client.post(&server, "/big").await;
    assert_eq!(big.status, 413);
    assert!(
        big.body.contains("more than the limit of 4096"),
        "{}",
        big.body
    );
    assert_eq!(client.get(&server, "/peek").await.body, "false:1");
    assert_eq!(store.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_store_answers_500_without_its_details() {
    let server = TestServer::start(app(SessionConfig::default(), Arc::new(Broken))).await;
    let mut client = Client::new();
    client.cookie = Some(format!("flame_session={}", "c".repeat(43)));
    let answer = client.get(&server, "/peek").await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR.as_u16());
    assert_eq!(answer.body, "session unavailable");
    server.stop().await;
}

#[tokio::test]
async fn the_redb_store_keeps_sessions_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.redb");
    let mut client = Client::new();
    {
        let store = RedbStore::open(&path).unwrap();
        let server = TestServer::start(app(SessionConfig::default(), Arc::new(store))).await;
        client.post(&server, "/login").await;
        assert_eq!(client.get(&server, "/user").await.body, "ada");
        server.stop().await;
    }
    let store = RedbStore::open(&path).unwrap();
    let mut f = Flame::new();
    f.use_(sessioner(SessionConfig::default(), store));
    f.get("/user", |s: Session| {
        s.get::<String>("user").unwrap_or_default()
    });
    let server = TestServer::start(f).await;
    assert_eq!(client.get(&server, "/user").await.body, "ada");
    server.stop().await;
}

#[tokio::test]
async fn the_redb_store_purges_exactly_the_expired_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("s.redb")).unwrap();
    let record = |expires_at| SessionRecord {
        data: br#"{"n":1}"#.to_vec(),
        created_at: 1,
        last_seen: 1,
        expires_at,
    };
    store.save("a", &record(10)).await.unwrap();
    store.save("b", &record(20)).await.unwrap();
    store.save("c", &record(30)).await.unwrap();
    // Re-saving moves "c" in the expiry index: its old deadline must not purge it.
    store.save("c", &record(40)).await.unwrap();
    assert_eq!(store.purge_expired(20).await.unwrap(), 2);
    assert_eq!(store.load("a").await.unwrap(), None);
    assert_eq!(store.load("b").await.unwrap(), None);
    assert_eq!(store.load("c").await.unwrap(), Some(record(40)));
    assert_eq!(store.purge_expired(39).await.unwrap(), 0);
    store.delete("c").await.unwrap();
    store.delete("c").await.unwrap();
    assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 0);
}

#[tokio::test]
async fn the_memory_store_purges_exactly_the_expired_sessions() {
    let store = MemoryStore::new();
    let record = |expires_at| SessionRecord {
        data: Vec::new(),
        created_at: 1,
        last_seen: 1,
        expires_at,
    };
    store.save("a", &record(10)).await.unwrap();
    store.save("b", &record(30)).await.unwrap();
    assert_eq!(store.purge_expired(10).await.unwrap(), 1);
    assert_eq!(store.len(), 1);
}
