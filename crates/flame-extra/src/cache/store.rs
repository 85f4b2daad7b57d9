//! The [`CacheStore`] seam: what a backend must do, and the [`CacheEntry`] it keeps.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::CacheError;

/// A boxed, sendable future, as [`CacheStore`]'s methods return (so the trait stays
/// object-safe and a store can be shared as `Arc<dyn CacheStore>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One cached value: its serialized bytes and its deadline, in milliseconds since the Unix
/// epoch.
///
/// A store keeps the bytes opaque; only [`expires_at`](Self::expires_at) matters to it, for
/// [`purge_expired`](CacheStore::purge_expired) and for eviction. The fields map one to one
/// onto a PostgreSQL table: `key text primary key, value bytea, expires_at bigint` with an
/// index on `expires_at`.
///
/// ```
/// use flame_extra::cache::CacheEntry;
///
/// let entry = CacheEntry { value: b"42".to_vec(), expires_at: 1_000 };
/// assert!(!entry.is_expired_at(999));
/// assert!(entry.is_expired_at(1_000));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The value, serialized by [`Cache::set`](super::Cache::set) (JSON today); at most
    /// [`CacheOptions::max_value_bytes`](super::CacheOptions::max_value_bytes) long.
    pub value: Vec<u8>,
    /// When the value stops being served, in milliseconds since the Unix epoch.
    pub expires_at: u64,
}

impl CacheEntry {
    /// Whether the entry is expired at `now` (milliseconds since the epoch): from its deadline
    /// on, so that a lifetime of zero is expired at once.
    ///
    /// ```
    /// # use flame_extra::cache::CacheEntry;
    /// let entry = CacheEntry { value: Vec::new(), expires_at: 5 };
    /// assert!(entry.is_expired_at(5));
    /// ```
    pub fn is_expired_at(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

/// Milliseconds since the Unix epoch of `at` (0 before the epoch; `u64::MAX` past year
/// 584 million).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(flame_extra::cache::unix_millis(UNIX_EPOCH + Duration::from_secs(2)), 2_000);
/// ```
pub fn unix_millis(at: SystemTime) -> u64 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Where cached values live (Flamego's `cache.Cache` interface, without the typing, which
/// [`Cache`](super::Cache) does).
///
/// The [`Cache`](super::Cache) handle checks key and value sizes before calling a store, and
/// checks the deadline of what [`get`](Self::get) returns, so a store may return expired
/// entries; it must bound its own size (evicting, as [`MemoryStore`](super::MemoryStore) and
/// the redb store do, or by a quota of its database).
///
/// Implement it for another database. On PostgreSQL (flame-postgres could ship it): one table
/// as described on [`CacheEntry`]; `get` a `SELECT value, expires_at .. WHERE key = $1`;
/// `set` an `INSERT .. ON CONFLICT (key) DO UPDATE`; `delete` a `DELETE`; `flush` a
/// `TRUNCATE`; `purge_expired` a `DELETE .. WHERE expires_at <= $1`.
///
/// ```
/// use flame_extra::cache::{CacheEntry, CacheStore, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let entry = CacheEntry { value: b"42".to_vec(), expires_at: 100 };
/// store.set("answer", entry.clone()).await.unwrap();
/// assert_eq!(store.get("answer").await.unwrap(), Some(entry));
/// assert_eq!(store.purge_expired(100).await.unwrap(), 1);
/// assert_eq!(store.get("answer").await.unwrap(), None);
/// # }
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// The entry under `key`, if any (expired or not: [`Cache`](super::Cache) checks).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CacheEntry>, CacheError>>;

    /// Stores `entry` under `key`, replacing what was there, evicting other entries if the
    /// store is full.
    fn set<'a>(&'a self, key: &'a str, entry: CacheEntry) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Removes the entry under `key`; removing an absent one is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Removes every entry.
    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>>;

    /// Removes every entry expired at `now` (milliseconds since the epoch); how many it
    /// removed.
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, CacheError>>;
}
