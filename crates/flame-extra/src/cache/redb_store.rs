//! [`RedbStore`]: cached values in a redb file, so that a restart keeps a warm cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::TableDefinition;
use redb::{Database, ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _};

use super::CacheError;
use super::store::{BoxFuture, CacheEntry, CacheStore};

/// Key -> the deadline (a big-endian u64 of milliseconds) followed by the value.
const ENTRIES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("extra_cache");
/// (expires at, key) -> (), so that purging reads only what expired and eviction finds the
/// entry expiring soonest.
const BY_EXPIRY: TableDefinition<'_, (u64, &str), ()> =
    TableDefinition::new("extra_cache_by_expiry");

const HEADER: usize = 8;

/// The default bound on a [`RedbStore`]'s number of entries: 1,000,000.
pub const DEFAULT_REDB_MAX_ENTRIES: u64 = 1_000_000;

fn store_error(err: impl std::fmt::Display) -> CacheError {
    CacheError::Store(format!("redb: {err}"))
}

fn encode(entry: &CacheEntry) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER + entry.value.len());
    bytes.extend_from_slice(&entry.expires_at.to_be_bytes());
    bytes.extend_from_slice(&entry.value);
    bytes
}

fn decode(bytes: &[u8]) -> Result<CacheEntry, CacheError> {
    let header = bytes
        .get(..HEADER)
        .and_then(|b| <[u8; HEADER]>::try_from(b).ok())
        .ok_or_else(|| store_error("a stored cache entry is shorter than its header"))?;
    Ok(CacheEntry {
        expires_at: u64::from_be_bytes(header),
        value: bytes[HEADER..].to_vec(),
    })
}

/// Cached values in a redb file: persistent, for one process on one node (a PostgreSQL
/// store would serve many; see [`CacheStore`]).
///
/// Every `set` is its own durable transaction. At most `max_entries` entries (default
/// [`DEFAULT_REDB_MAX_ENTRIES`]); a `set` beyond it evicts the entry that expires soonest.
/// Expired entries are never served ([`Cache`](super::Cache) checks the deadline) and are
/// removed by [`purge_expired`](CacheStore::purge_expired), which reads an expiry index, not
/// the whole table.
///
/// ```
/// use flame_extra::cache::RedbStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = RedbStore::open(dir.path().join("cache.redb")).unwrap();
/// assert!(store.path().ends_with("cache.redb"));
/// ```
#[derive(Clone, Debug)]
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
    max_entries: u64,
}

impl RedbStore {
    /// Opens (or creates) the store at `path`, bounded at [`DEFAULT_REDB_MAX_ENTRIES`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = flame_extra::cache::RedbStore::open(dir.path().join("c.redb")).unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CacheError> {
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).map_err(store_error)?;
        let tx = db.begin_write().map_err(store_error)?;
        tx.open_table(ENTRIES).map_err(store_error)?;
        tx.open_table(BY_EXPIRY).map_err(store_error)?;
        tx.commit().map_err(store_error)?;
        Ok(Self {
            db: Arc::new(db),
            path,
            max_entries: DEFAULT_REDB_MAX_ENTRIES,
        })
    }

    /// Bounds the store at `max_entries` entries (at least 1).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = flame_extra::cache::RedbStore::open(dir.path().join("c.redb"))
    ///     .unwrap()
    ///     .max_entries(10_000);
    /// ```
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }

    /// The file it was opened at.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("c.redb");
    /// assert_eq!(flame_extra::cache::RedbStore::open(&path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the blocking pool: redb does file I/O and fsyncs.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, CacheError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, CacheError>> {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || work(&db))
                .await
                .map_err(store_error)?
        })
    }

    /// Runs `work` in one write transaction over both tables, committed when it succeeds.
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Tables<'_>) -> Result<T, CacheError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, CacheError>> {
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(store_error)?;
            let result = {
                let mut tables = Tables {
                    entries: tx.open_table(ENTRIES).map_err(store_error)?,
                    by_expiry: tx.open_table(BY_EXPIRY).map_err(store_error)?,
                };
                work(&mut tables)?
            };
            tx.commit().map_err(store_error)?;
            Ok(result)
        })
    }
}

struct Tables<'tx> {
    entries: redb::Table<'tx, &'static str, &'static [u8]>,
    by_expiry: redb::Table<'tx, (u64, &'static str), ()>,
}

impl Tables<'_> {
    /// Removes `key` from both tables.
    fn remove(&mut self, key: &str) -> Result<(), CacheError> {
        let old = self
            .entries
            .remove(key)
            .map_err(store_error)?
            .map(|value| decode(value.value()));
        if let Some(old) = old {
            self.by_expiry
                .remove((old?.expires_at, key))
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Removes the entry that expires soonest; whether there was one.
    fn evict_one(&mut self) -> Result<bool, CacheError> {
        let first = self
            .by_expiry
            .pop_first()
            .map_err(store_error)?
            .map(|(key, _)| key.value().1.to_owned());
        match first {
            Some(key) => {
                tracing::debug!(%key, "cache full: evicting the entry that expires soonest");
                self.entries.remove(key.as_str()).map_err(store_error)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl CacheStore for RedbStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CacheEntry>, CacheError>> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(store_error)?;
            let entries = tx.open_table(ENTRIES).map_err(store_error)?;
            match entries.get(key.as_str()).map_err(store_error)? {
                Some(value) => Ok(Some(decode(value.value())?)),
                None => Ok(None),
            }
        })
    }

    fn set<'a>(&'a self, key: &'a str, entry: CacheEntry) -> BoxFuture<'a, Result<(), CacheError>> {
        let key = key.to_owned();
        let max_entries = self.max_entries;
        self.write(move |tables| {
            tables.remove(&key)?;
            while tables.entries.len().map_err(store_error)? >= max_entries {
                if !tables.evict_one()? {
                    break;
                }
            }
            tables
                .entries
                .insert(key.as_str(), encode(&entry).as_slice())
                .map_err(store_error)?;
            tables
                .by_expiry
                .insert((entry.expires_at, key.as_str()), ())
                .map_err(store_error)?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>> {
        let key = key.to_owned();
        self.write(move |tables| tables.remove(&key))
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        self.write(|tables| {
            tables.entries.retain(|_, _| false).map_err(store_error)?;
            tables.by_expiry.retain(|_, _| false).map_err(store_error)
        })
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, CacheError>> {
        self.write(move |tables| {
            let mut purged = 0;
            // The index is ordered by deadline: pop from its front while it is due.
            loop {
                let due = tables
                    .by_expiry
                    .first()
                    .map_err(store_error)?
                    .is_some_and(|(key, _)| key.value().0 <= now);
                if !due || !tables.evict_one()? {
                    break;
                }
                purged += 1;
            }
            Ok(purged)
        })
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
    async fn entries_survive_a_reopen_and_expired_ones_are_purged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            store.set("old", entry("1", 10)).await.unwrap();
            store.set("fresh", entry("2", 1_000)).await.unwrap();
            store.set("fresh", entry("3", 2_000)).await.unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.get("old").await.unwrap(), Some(entry("1", 10)));
        assert_eq!(store.get("fresh").await.unwrap(), Some(entry("3", 2_000)));
        assert_eq!(
            store.purge_expired(1_000).await.unwrap(),
            1,
            "the replaced deadline is gone from the index"
        );
        assert_eq!(store.get("old").await.unwrap(), None);
        assert!(store.get("fresh").await.unwrap().is_some());
        store.delete("fresh").await.unwrap();
        store.delete("absent").await.unwrap();
        assert_eq!(store.get("fresh").await.unwrap(), None);
        assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn at_the_entry_cap_the_entry_expiring_soonest_is_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("cache.redb"))
            .unwrap()
            .max_entries(2);
        store.set("a", entry("1", 300)).await.unwrap();
        store.set("b", entry("2", 100)).await.unwrap();
        store.set("c", entry("3", 200)).await.unwrap();
        assert_eq!(store.get("b").await.unwrap(), None);
        assert!(store.get("a").await.unwrap().is_some());
        assert!(store.get("c").await.unwrap().is_some());
        // Replacing a present key evicts nothing.
        store.set("a", entry("4", 400)).await.unwrap();
        assert!(store.get("c").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn flush_empties_both_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("cache.redb")).unwrap();
        store.set("a", entry("1", 10)).await.unwrap();
        store.set("b", entry("2", 20)).await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(store.get("a").await.unwrap(), None);
        assert_eq!(
            store.purge_expired(u64::MAX).await.unwrap(),
            0,
            "the index is empty too"
        );
        store.set("a", entry("3", 30)).await.unwrap();
        assert_eq!(store.get("a").await.unwrap(), Some(entry("3", 30)));
    }
}
