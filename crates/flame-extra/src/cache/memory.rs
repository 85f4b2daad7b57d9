//! [`MemoryStore`]: cached values in a bounded map, evicting what expires soonest.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::CacheError;
use super::store::{BoxFuture, CacheEntry, CacheStore};

/// The default bound on a [`MemoryStore`]'s number of entries: 10,000.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// The default bound on a [`MemoryStore`]'s keys and values together: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Cached values in memory: lost on restart. Cheap to clone (clones share the map).
///
/// Bounded twice: at most `max_entries` entries and `max_bytes` of keys and values together
/// (defaults [`DEFAULT_MAX_ENTRIES`] and [`DEFAULT_MAX_BYTES`]). A [`set`](CacheStore::set)
/// that would pass either bound first evicts the entries that expire soonest (expired ones
/// come first, as their deadlines are the earliest), so that a handler caching per-client
/// data cannot grow memory without bound. A single entry larger than `max_bytes` is refused
/// with [`CacheError::TooLarge`], and nothing is evicted for it.
///
/// ```
/// use flame_extra::cache::MemoryStore;
///
/// let store = MemoryStore::with_limits(1_000, 1024 * 1024);
/// assert!(store.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug)]
struct Entries {
    map: HashMap<String, CacheEntry>,
    /// (expires at, key): the first is the next to evict or purge.
    by_expiry: BTreeSet<(u64, String)>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_limits(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES)
    }
}

impl MemoryStore {
    /// An empty store with the default bounds.
    ///
    /// ```
    /// assert_eq!(flame_extra::cache::MemoryStore::new().len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store holding at most `max_entries` entries (at least 1) and `max_bytes` of
    /// keys and values.
    ///
    /// ```
    /// let store = flame_extra::cache::MemoryStore::with_limits(100, 64 * 1024);
    /// ```
    pub fn with_limits(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Entries {
                map: HashMap::new(),
                by_expiry: BTreeSet::new(),
                bytes: 0,
                max_entries: max_entries.max(1),
                max_bytes,
            })),
        }
    }

    /// How many entries it holds, expired ones included until purged or evicted.
    ///
    /// ```
    /// assert_eq!(flame_extra::cache::MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    /// Whether it holds no entry.
    ///
    /// ```
    /// assert!(flame_extra::cache::MemoryStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.lock().map.is_empty()
    }

    /// The bytes its keys and values take together (the bound's measure, not the heap's).
    ///
    /// ```
    /// assert_eq!(flame_extra::cache::MemoryStore::new().bytes(), 0);
    /// ```
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }
}

impl Entries {
    fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(old) => {
                self.by_expiry.remove(&(old.expires_at, key.to_owned()));
                self.bytes -= key.len() + old.value.len();
                true
            }
            None => false,
        }
    }

    fn insert(&mut self, key: &str, entry: CacheEntry) -> Result<(), CacheError> {
        let size = key.len() + entry.value.len();
        if size > self.max_bytes {
            return Err(CacheError::TooLarge {
                size,
                limit: self.max_bytes,
            });
        }
        self.remove(key);
        while self.map.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some((_, victim)) = self.by_expiry.pop_first() else {
                break;
            };
            tracing::debug!(key = %victim, "cache full: evicting the entry that expires soonest");
            self.remove(&victim);
        }
        self.by_expiry.insert((entry.expires_at, key.to_owned()));
        self.map.insert(key.to_owned(), entry);
        self.bytes += size;
        Ok(())
    }
}

impl CacheStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CacheEntry>, CacheError>> {
        let found = self.inner.lock().map.get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn set<'a>(&'a self, key: &'a str, entry: CacheEntry) -> BoxFuture<'a, Result<(), CacheError>> {
        let result = self.inner.lock().insert(key, entry);
        Box::pin(async move { result })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>> {
        self.inner.lock().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        let mut entries = self.inner.lock();
        entries.map.clear();
        entries.by_expiry.clear();
        entries.bytes = 0;
        Box::pin(async { Ok(()) })
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, CacheError>> {
        let mut entries = self.inner.lock();
        let mut purged = 0;
        while let Some((at, key)) = entries.by_expiry.first().cloned() {
            if at > now {
                break;
            }
            entries.remove(&key);
            purged += 1;
        }
        Box::pin(async move { Ok(purged) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: &str, expires_at: u64) -> CacheEntry {
        CacheEntry {
            value: value.as_bytes().to_vec(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn at_the_entry_cap_the_entry_expiring_soonest_is_evicted() {
        let store = MemoryStore::with_limits(3, 1024);
        store.set("a", entry("1", 300)).await.unwrap();
        store.set("b", entry("2", 100)).await.unwrap();
        store.set("c", entry("3", 200)).await.unwrap();
        store.set("d", entry("4", 400)).await.unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get("b").await.unwrap(), None, "b expired soonest");
        for key in ["a", "c", "d"] {
            assert!(store.get(key).await.unwrap().is_some(), "{key} kept");
        }
        // Replacing a present key evicts nothing.
        store.set("a", entry("5", 50)).await.unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get("a").await.unwrap(), Some(entry("5", 50)));
    }

    #[tokio::test]
    async fn at_the_byte_cap_entries_are_evicted_until_the_new_one_fits() {
        // Keys of one byte, values of nine: ten bytes an entry.
        let store = MemoryStore::with_limits(100, 30);
        store.set("a", entry("aaaaaaaaa", 10)).await.unwrap();
        store.set("b", entry("bbbbbbbbb", 20)).await.unwrap();
        store.set("c", entry("ccccccccc", 30)).await.unwrap();
        assert_eq!(store.bytes(), 30);
        store
            .set("d", entry("ddddddddddddddddddd", 40))
            .await
            .unwrap();
        assert_eq!(store.bytes(), 30);
        assert_eq!(store.get("a").await.unwrap(), None);
        assert_eq!(store.get("b").await.unwrap(), None);
        assert!(store.get("c").await.unwrap().is_some());
        assert!(store.get("d").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_entry_larger_than_the_store_is_refused_and_evicts_nothing() {
        let store = MemoryStore::with_limits(100, 16);
        store.set("a", entry("small", 10)).await.unwrap();
        let err = store
            .set("b", entry("far too large for it", 20))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CacheError::TooLarge {
                    size: 21,
                    limit: 16
                }
            ),
            "{err}"
        );
        assert_eq!(store.get("a").await.unwrap(), Some(entry("small", 10)));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn purge_removes_what_expired_at_now_and_nothing_later() {
        let store = MemoryStore::new();
        store.set("past", entry("1", 5)).await.unwrap();
        store.set("now", entry("2", 10)).await.unwrap();
        store.set("later", entry("3", 11)).await.unwrap();
        assert_eq!(store.purge_expired(10).await.unwrap(), 2);
        assert_eq!(store.len(), 1);
        assert!(store.get("later").await.unwrap().is_some());
        assert_eq!(store.bytes(), "later".len() + 1);
    }

    #[tokio::test]
    async fn delete_and_flush_forget_entries_and_their_bytes() {
        let store = MemoryStore::new();
        store.set("a", entry("1", 10)).await.unwrap();
        store.set("b", entry("2", 10)).await.unwrap();
        store.delete("a").await.unwrap();
        store.delete("absent").await.unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.bytes(), 2);
        store.flush().await.unwrap();
        assert!(store.is_empty());
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 0);
    }
}
