//! The [`SessionStore`] seam: what a backend must do, and the [`SessionRecord`] it keeps.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SessionError;

/// A boxed, sendable future, as [`SessionStore`]'s methods return (so the trait stays
/// object-safe and a store can be shared as `Arc<dyn SessionStore>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One stored session: its data and its times, in whole seconds since the Unix epoch.
///
/// A store keeps it opaque; only [`expires_at`](Self::expires_at) matters to it, for
/// [`purge_expired`](SessionStore::purge_expired). The columns map one to one onto a
/// PostgreSQL table: `key text primary key, data bytea, created_at bigint, last_seen bigint,
/// expires_at bigint` with an index on `expires_at`.
///
/// ```
/// use flame_extra::session::SessionRecord;
///
/// let record = SessionRecord { data: b"{}".to_vec(), created_at: 10, last_seen: 20, expires_at: 30 };
/// assert!(!record.is_expired_at(29));
/// assert!(record.is_expired_at(30));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session's values, serialized by the middleware (a JSON object today); at most
    /// [`SessionConfig::max_data_bytes`](super::SessionConfig::max_data_bytes) long.
    pub data: Vec<u8>,
    /// When the session was created: the start of its absolute lifetime.
    pub created_at: u64,
    /// The last request that used it: the start of its idle lifetime.
    pub last_seen: u64,
    /// The earlier of the idle and the absolute deadline; from then on it is gone.
    pub expires_at: u64,
}

impl SessionRecord {
    /// Whether the session is expired at `now` (seconds since the epoch).
    ///
    /// ```
    /// # use flame_extra::session::SessionRecord;
    /// let record = SessionRecord { data: Vec::new(), created_at: 0, last_seen: 0, expires_at: 5 };
    /// assert!(record.is_expired_at(6));
    /// ```
    pub fn is_expired_at(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

/// Seconds since the Unix epoch of `at` (0 before the epoch).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(flame_extra::session::unix_seconds(UNIX_EPOCH + Duration::from_secs(42)), 42);
/// ```
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Where sessions live. Keys are the hex SHA-256 of the cookie's session id, never the id
/// itself, so that whoever reads the store cannot sign in as its users.
///
/// Implement it for another database (PostgreSQL: one table as described on
/// [`SessionRecord`], `load` a `SELECT`, `save` an `INSERT .. ON CONFLICT (key) DO UPDATE`,
/// `delete` a `DELETE`, `purge_expired` a `DELETE .. WHERE expires_at <= $1`). The middleware
/// calls `load` once per request that carries a cookie and `save`/`delete` after the chain.
///
/// ```
/// use flame_extra::session::{MemoryStore, SessionRecord, SessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let record = SessionRecord { data: b"{}".to_vec(), created_at: 1, last_seen: 1, expires_at: 100 };
/// store.save("k", &record).await.unwrap();
/// assert_eq!(store.load("k").await.unwrap(), Some(record));
/// assert_eq!(store.purge_expired(100).await.unwrap(), 1);
/// assert_eq!(store.load("k").await.unwrap(), None);
/// # }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `key`, if any (expired or not: the middleware checks).
    fn load<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionError>>;

    /// Stores `record` under `key`, replacing what was there; durable when it returns.
    fn save<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), SessionError>>;

    /// Removes the session under `key`; removing an absent one is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SessionError>>;

    /// Removes every session expired at `now` (seconds since the epoch); how many it removed.
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, SessionError>>;
}
