//! [`RedbStore`]: the embedded default, one redb file in the data directory.
//!
//! After an I/O error (a full disk, a failed fsync) redb refuses every later transaction
//! until the database is opened again. The store does that by itself: the failed operation
//! returns its error, and the next one reopens the file (redb then recovers it to its last
//! committed transaction), so an actor whose commit failed reloads and goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt};
use parking_lot::Mutex;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use super::{ActorId, ActorStore, ActorWrite, Alarm, KvEntry, KvScan, StoreError, StoredActor};

/// (kind, key) -> state as JSON bytes. Present means initialized.
const STATES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("actor_states");
/// (kind, key) -> when it was destroyed, in ms since the epoch.
const TOMBSTONES: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("actor_tombstones");
/// (kind, key, alarm id) -> the alarm as JSON bytes.
const ALARMS: TableDefinition<'_, (&str, &str, u64), &[u8]> = TableDefinition::new("actor_alarms");
/// (kind, key, entry key) -> the entry's value: each actor's key-value space.
const KV: TableDefinition<'_, (&str, &str, &[u8]), &[u8]> = TableDefinition::new("actor_kv");
/// (kind, key) -> the bytes (keys and values) of the actor's key-value space, kept up to date
/// by every commit; absent means zero.
const KV_BYTES: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("actor_kv_bytes");
/// The file's own facts: [`KV_BYTES_COUNTED`].
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("flame_meta");
/// Set once `KV_BYTES` holds every actor's figure (files written before it existed are
/// counted once, when opened).
const KV_BYTES_COUNTED: &str = "kv_bytes_counted";

/// An [`ActorStore`] in one redb file: ACID, each commit one fsync'ed write transaction.
///
/// ```
/// use flame_stateful::store::RedbStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = RedbStore::open_dir(dir.path())?;
/// assert!(store.path().ends_with("actors.redb"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

/// Opens the database file (a seam for tests, which open it over a failing backend).
type Opener = Arc<dyn Fn(&Path) -> Result<Database, DatabaseError> + Send + Sync>;

struct Inner {
    path: PathBuf,
    opener: Opener,
    /// `None` after an error: the next operation opens the file again.
    db: Mutex<Option<Arc<Database>>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// How long an operation waits for a database being reopened to be released by the
/// operations that still hold the old one (they finish within one transaction).
const REOPEN_PATIENCE: Duration = Duration::from_secs(2);

fn backend<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::backend(e.into())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl RedbStore {
    /// The file name inside the data directory.
    pub const FILE_NAME: &'static str = "actors.redb";

    /// Opens (or creates) the store in `dir`, creating the directory if needed; the file is
    /// `dir/actors.redb`.
    ///
    /// # Errors
    ///
    /// The directory cannot be created, or the file cannot be opened (another process holds
    /// it, say).
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        Self::open(dir.join(Self::FILE_NAME))
    }

    /// Opens (or creates) the store in the file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or is not a redb database.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(
            path.as_ref(),
            Arc::new(|path: &Path| Database::create(path)),
        )
    }

    fn open_with(path: &Path, opener: Opener) -> Result<Self, StoreError> {
        let db = open_tables(&opener, path)?;
        tracing::debug!(path = %path.display(), "opened the actor store");
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                opener,
                db: Mutex::new(Some(Arc::new(db))),
            }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn load_blocking(db: &Database, actor: &ActorId) -> Result<StoredActor, StoreError> {
        let tx = db.begin_read().map_err(backend)?;
        let key = (&*actor.name, &*actor.key);
        let tombstones = tx.open_table(TOMBSTONES).map_err(backend)?;
        if tombstones.get(key).map_err(backend)?.is_some() {
            return Ok(StoredActor {
                state: None,
                destroyed: true,
            });
        }
        let states = tx.open_table(STATES).map_err(backend)?;
        let state = states
            .get(key)
            .map_err(backend)?
            .map(|v| Arc::<[u8]>::from(v.value()));
        Ok(StoredActor {
            state,
            destroyed: false,
        })
    }

    fn commit_blocking(db: &Database, writes: &[ActorWrite]) -> Result<(), StoreError> {
        let tx = db.begin_write().map_err(backend)?;
        {
            let mut states = tx.open_table(STATES).map_err(backend)?;
            let mut tombstones = tx.open_table(TOMBSTONES).map_err(backend)?;
            let mut alarms = tx.open_table(ALARMS).map_err(backend)?;
            let mut kv = tx.open_table(KV).map_err(backend)?;
            let mut kv_bytes = tx.open_table(KV_BYTES).map_err(backend)?;
            for write in writes {
                let (name, key) = (&*write.actor.name, &*write.actor.key);
                if write.destroy {
                    states.remove((name, key)).map_err(backend)?;
                    tombstones.insert((name, key), now_ms()).map_err(backend)?;
                    alarms
                        .retain_in((name, key, 0u64)..=(name, key, u64::MAX), |_, _| false)
                        .map_err(backend)?;
                    let after = successor(key);
                    kv.retain_in(
                        (name, key, [].as_slice())..(name, after.as_str(), [].as_slice()),
                        |_, _| false,
                    )
                    .map_err(backend)?;
                    kv_bytes.remove((name, key)).map_err(backend)?;
                    continue;
                }
                let mut delta = 0i64;
                for op in &write.kv {
                    let entry = (name, key, op.key.as_slice());
                    let old = match &op.value {
                        Some(value) => kv
                            .insert(entry, &**value)
                            .map_err(backend)?
                            .map(|old| old.value().len()),
                        None => kv
                            .remove(entry)
                            .map_err(backend)?
                            .map(|old| old.value().len()),
                    };
                    let old = old.map_or(0, |len| op.key.len() + len);
                    let new = op.value.as_ref().map_or(0, |v| op.key.len() + v.len());
                    delta += new as i64 - old as i64;
                }
                if delta != 0 {
                    let current = kv_bytes
                        .get((name, key))
                        .map_err(backend)?
                        .map_or(0, |g| g.value());
                    let total =
                        u64::try_from(i128::from(current) + i128::from(delta)).unwrap_or_default();
                    if total == 0 {
                        kv_bytes.remove((name, key)).map_err(backend)?;
                    } else {
                        kv_bytes.insert((name, key), total).map_err(backend)?;
                    }
                }
                if let Some(state) = &write.state {
                    states.insert((name, key), &**state).map_err(backend)?;
                }
                for alarm in &write.put_alarms {
                    let bytes = serde_json::to_vec(alarm).map_err(StoreError::backend)?;
                    alarms
                        .insert((name, key, alarm.id), bytes.as_slice())
                        .map_err(backend)?;
                }
                for id in &write.delete_alarms {
                    alarms.remove((name, key, *id)).map_err(backend)?;
                }
            }
        }
        tx.commit().map_err(backend)
    }

    fn kv_get_blocking(
        db: &Database,
        actor: &ActorId,
        entry: &[u8],
    ) -> Result<Option<Arc<[u8]>>, StoreError> {
        let tx = db.begin_read().map_err(backend)?;
        let kv = tx.open_table(KV).map_err(backend)?;
        let value = kv
            .get((&*actor.name, &*actor.key, entry))
            .map_err(backend)?
            .map(|v| Arc::<[u8]>::from(v.value()));
        Ok(value)
    }

    fn kv_scan_blocking(
        db: &Database,
        actor: &ActorId,
        scan: &KvScan,
    ) -> Result<Vec<KvEntry>, StoreError> {
        let (name, key) = (&*actor.name, &*actor.key);
        let start = scan.start.as_deref().unwrap_or_default();
        if scan.end.as_deref().is_some_and(|end| end <= start) || scan.limit == 0 {
            return Ok(Vec::new());
        }
        let after = successor(key);
        let tx = db.begin_read().map_err(backend)?;
        let kv = tx.open_table(KV).map_err(backend)?;
        let from = (name, key, start);
        let range = match scan.end.as_deref() {
            Some(end) => kv.range(from..(name, key, end)),
            None => kv.range(from..(name, after.as_str(), [].as_slice())),
        }
        .map_err(backend)?;
        let entry = |item: Result<_, redb::StorageError>| {
            type Guards<'g> = (
                redb::AccessGuard<'g, (&'g str, &'g str, &'g [u8])>,
                redb::AccessGuard<'g, &'g [u8]>,
            );
            let (k, v): Guards<'_> = item.map_err(backend)?;
            Ok::<_, StoreError>((k.value().2.to_vec(), Arc::<[u8]>::from(v.value())))
        };
        if scan.reverse {
            range.rev().take(scan.limit).map(entry).collect()
        } else {
            range.take(scan.limit).map(entry).collect()
        }
    }

    fn kv_bytes_blocking(db: &Database, actor: &ActorId) -> Result<u64, StoreError> {
        let tx = db.begin_read().map_err(backend)?;
        let table = tx.open_table(KV_BYTES).map_err(backend)?;
        let total = table
            .get((&*actor.name, &*actor.key))
            .map_err(backend)?
            .map_or(0, |g| g.value());
        Ok(total)
    }

    fn load_alarms_blocking(db: &Database) -> Result<Vec<(ActorId, Alarm)>, StoreError> {
        let tx = db.begin_read().map_err(backend)?;
        let table = tx.open_table(ALARMS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            let (name, key, id) = k.value();
            let actor = ActorId::new(name, key);
            let alarm: Alarm =
                serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt {
                    actor: format!("{actor} (alarm {id})"),
                    message: e.to_string(),
                })?;
            out.push((actor, alarm));
        }
        Ok(out)
    }
}

/// Opens the file and makes sure the tables exist.
fn open_tables(opener: &Opener, path: &Path) -> Result<Database, StoreError> {
    let db = opener(path).map_err(backend)?;
    let tx = db.begin_write().map_err(backend)?;
    {
        tx.open_table(STATES).map_err(backend)?;
        tx.open_table(TOMBSTONES).map_err(backend)?;
        tx.open_table(ALARMS).map_err(backend)?;
        tx.open_table(KV).map_err(backend)?;
        let mut meta = tx.open_table(META).map_err(backend)?;
        if meta.get(KV_BYTES_COUNTED).map_err(backend)?.is_none() {
            count_kv_bytes(&tx)?;
            meta.insert(KV_BYTES_COUNTED, 1).map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)?;
    Ok(db)
}

/// Fills `KV_BYTES` from the entries (once per file: those written before it existed).
fn count_kv_bytes(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut totals: std::collections::BTreeMap<(String, String), u64> = Default::default();
    {
        let kv = tx.open_table(KV).map_err(backend)?;
        for entry in kv.iter().map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            let (name, key, entry) = k.value();
            *totals.entry((name.to_owned(), key.to_owned())).or_default() +=
                (entry.len() + v.value().len()) as u64;
        }
    }
    let mut kv_bytes = tx.open_table(KV_BYTES).map_err(backend)?;
    for ((name, key), total) in &totals {
        kv_bytes
            .insert((name.as_str(), key.as_str()), *total)
            .map_err(backend)?;
    }
    if !totals.is_empty() {
        tracing::info!(
            actors = totals.len(),
            "counted the key-value bytes of every actor (once, for a file written before they were kept)"
        );
    }
    Ok(())
}

impl Inner {
    /// The open database, opened again if an error closed it. Blocking.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let mut current = self.db.lock();
        if let Some(db) = &*current {
            return Ok(db.clone());
        }
        let deadline = std::time::Instant::now() + REOPEN_PATIENCE;
        loop {
            match open_tables(&self.opener, &self.path) {
                Ok(db) => {
                    tracing::warn!(path = %self.path.display(), "reopened the actor store after an error");
                    let db = Arc::new(db);
                    *current = Some(db.clone());
                    return Ok(db);
                }
                // an operation that began before the error still holds the old database
                Err(StoreError::Backend(e))
                    if matches!(
                        e.downcast_ref::<redb::Error>(),
                        Some(redb::Error::DatabaseAlreadyOpen)
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    tracing::error!(path = %self.path.display(), error = %e, "could not reopen the actor store");
                    return Err(e);
                }
            }
        }
    }

    /// Runs `op` on the database; after an error of the backend, the database is closed,
    /// to be opened again by the next operation.
    fn with_db<T>(
        &self,
        op: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db()?;
        let result = op(&db);
        if let Err(StoreError::Backend(e)) = &result {
            let mut current = self.db.lock();
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &db)) {
                tracing::warn!(path = %self.path.display(), error = %e, "the actor store failed; it is reopened before the next operation");
                *current = None;
            }
        }
        result
    }
}

/// The smallest string after `key`: every (name, key, ...) tuple sorts before
/// (name, successor(key), ...).
fn successor(key: &str) -> String {
    let mut after = String::with_capacity(key.len() + 1);
    after.push_str(key);
    after.push('\0');
    after
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::backend)?
}

impl ActorStore for RedbStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>> {
        let inner = self.inner.clone();
        let actor = actor.clone();
        blocking(move || inner.with_db(|db| Self::load_blocking(db, &actor))).boxed()
    }

    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
        let inner = self.inner.clone();
        blocking(move || inner.with_db(|db| Self::commit_blocking(db, &writes))).boxed()
    }

    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
        let inner = self.inner.clone();
        blocking(move || inner.with_db(Self::load_alarms_blocking)).boxed()
    }

    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Arc<[u8]>>, StoreError>> {
        let inner = self.inner.clone();
        let (actor, key) = (actor.clone(), key.to_vec());
        blocking(move || inner.with_db(|db| Self::kv_get_blocking(db, &actor, &key))).boxed()
    }

    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, StoreError>> {
        let inner = self.inner.clone();
        let (actor, scan) = (actor.clone(), scan.clone());
        blocking(move || inner.with_db(|db| Self::kv_scan_blocking(db, &actor, &scan))).boxed()
    }

    fn kv_bytes<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<u64, StoreError>> {
        let inner = self.inner.clone();
        let actor = actor.clone();
        blocking(move || inner.with_db(|db| Self::kv_bytes_blocking(db, &actor))).boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io;
    use std::sync::atomic::{AtomicBool, Ordering};

    use redb::StorageBackend;
    use redb::backends::FileBackend;

    use super::*;

    /// redb's own file backend, whose fsyncs fail while `failing` is set: the failure
    /// happens inside redb, as a full disk or a dying drive would make it.
    #[derive(Debug)]
    struct FlakyBackend {
        file: FileBackend,
        failing: Arc<AtomicBool>,
    }

    impl StorageBackend for FlakyBackend {
        fn len(&self) -> Result<u64, io::Error> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), io::Error> {
            self.file.set_len(len)
        }
        fn sync_data(&self) -> Result<(), io::Error> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(io::Error::other("injected: the disk is full"));
            }
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
            self.file.write(offset, data)
        }
        fn close(&self) -> Result<(), io::Error> {
            self.file.close()
        }
    }

    fn flaky_store(path: &Path, failing: &Arc<AtomicBool>) -> RedbStore {
        let failing = failing.clone();
        let opener: Opener = Arc::new(move |path: &Path| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            let backend = FlakyBackend {
                file: FileBackend::new(file)?,
                failing: failing.clone(),
            };
            redb::Builder::new().create_with_backend(backend)
        });
        RedbStore::open_with(path, opener).unwrap()
    }

    fn write(key: &str, state: &str) -> ActorWrite {
        let mut write = ActorWrite::new(ActorId::new("counter", key));
        write.state = Some(state.as_bytes().into());
        write
    }

    #[tokio::test]
    async fn after_a_failed_fsync_the_store_reopens_and_takes_writes_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actors.redb");
        let failing = Arc::new(AtomicBool::new(false));
        let store = flaky_store(&path, &failing);
        let id = ActorId::new("counter", "a");

        store.commit(vec![write("a", "1")]).await.unwrap();
        failing.store(true, Ordering::SeqCst);
        assert!(store.commit(vec![write("a", "2")]).await.is_err());
        failing.store(false, Ordering::SeqCst);

        // without a reopen, redb refuses this one too ("previous I/O error")
        store.commit(vec![write("a", "3")]).await.unwrap();
        let stored = store.load(&id).await.unwrap();
        assert_eq!(stored.state.as_deref(), Some(b"3".as_slice()));

        drop(store);
        let again = RedbStore::open(&path).unwrap();
        let stored = again.load(&id).await.unwrap();
        assert_eq!(stored.state.as_deref(), Some(b"3".as_slice()));
    }

    /// A file written before the counters existed (its entries, no `KV_BYTES`, no marker)
    /// is counted once when opened; commits keep the counters from then on.
    #[tokio::test]
    async fn counts_the_key_value_bytes_of_an_older_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actors.redb");
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            {
                let mut kv = tx.open_table(KV).unwrap();
                kv.insert(("log", "a", b"k1".as_slice()), b"12345".as_slice())
                    .unwrap();
                kv.insert(("log", "a", b"k2".as_slice()), b"1".as_slice())
                    .unwrap();
                kv.insert(("log", "b", b"k".as_slice()), b"".as_slice())
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        let a = ActorId::new("log", "a");
        assert_eq!(store.kv_bytes(&a).await.unwrap(), 10);
        assert_eq!(store.kv_bytes(&ActorId::new("log", "b")).await.unwrap(), 1);
        assert_eq!(store.kv_bytes(&ActorId::new("log", "c")).await.unwrap(), 0);

        let mut write = ActorWrite::new(a.clone());
        write.kv = vec![
            crate::store::KvOp {
                key: b"k1".to_vec(),
                value: Some(b"1".as_slice().into()),
            },
            crate::store::KvOp {
                key: b"k2".to_vec(),
                value: None,
            },
            crate::store::KvOp {
                key: b"k3".to_vec(),
                value: Some(b"123".as_slice().into()),
            },
        ];
        store.commit(vec![write]).await.unwrap();
        drop(store);
        // opened again: counted from the commits, not again from the entries
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.kv_bytes(&a).await.unwrap(), 3 + 5);
        let mut destroy = ActorWrite::new(a.clone());
        destroy.destroy = true;
        store.commit(vec![destroy]).await.unwrap();
        assert_eq!(store.kv_bytes(&a).await.unwrap(), 0);
    }

    mod an_actor {
        use flame_actor::BackendActor;

        use super::*;
        use crate::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};

        #[derive(Default)]
        struct Counter;

        impl StatefulActor for Counter {
            type State = i64;
            type ConnParams = ();
            type ConnState = ();
            async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
                Ok(0)
            }
        }

        #[actions]
        impl Counter {
            async fn increment(&self, rpc: &mut Rpc<Self>) -> i64 {
                *rpc.state_mut() += 1;
                *rpc.state()
            }
        }

        /// docs/src/durability.md: a failed commit answers `internal_error`, the actor
        /// reloads what the store has and goes on. (A write whose fsync failed may or may
        /// not have reached the disk, as with any request that timed out: the caller was
        /// not told it succeeded, and the actor goes on from whatever the store holds.)
        #[tokio::test]
        async fn whose_commit_failed_inside_redb_reloads_and_goes_on() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("actors.redb");
            let failing = Arc::new(AtomicBool::new(false));
            let store = flaky_store(&path, &failing);
            let system = ActorSystem::builder()
                .store(store)
                .register_default::<Counter>("counter")
                .build()
                .await
                .unwrap();
            let caller: Arc<dyn flame_actor::Actor> = Arc::new(BackendActor::new("test"));
            let call = || system.call("counter", "a", "increment", vec![], caller.clone());

            assert_eq!(call().await.unwrap(), 1);
            failing.store(true, Ordering::SeqCst);
            let error = call().await.unwrap_err();
            assert_eq!(error.code, "internal_error");
            failing.store(false, Ordering::SeqCst);
            // the acknowledged increment is kept; the failed one may or may not be
            let next = call().await.unwrap().as_i64().unwrap();
            assert!(next == 2 || next == 3, "{next}");
            assert_eq!(call().await.unwrap(), next + 1);
            system.shutdown().await;

            let stored = RedbStore::open(&path)
                .unwrap()
                .load(&ActorId::new("counter", "a"))
                .await
                .unwrap();
            let last = (next + 1).to_string();
            assert_eq!(stored.state.as_deref(), Some(last.as_bytes()));
        }
    }
}
