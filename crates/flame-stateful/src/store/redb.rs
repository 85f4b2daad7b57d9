//! [`RedbStore`]: the embedded default, one redb file in the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{ActorId, ActorStore, ActorWrite, Alarm, StoreError, StoredActor};

/// (kind, key) -> state as JSON bytes. Present means initialized.
const STATES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("actor_states");
/// (kind, key) -> when it was destroyed, in ms since the epoch.
const TOMBSTONES: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("actor_tombstones");
/// (kind, key, alarm id) -> the alarm as JSON bytes.
const ALARMS: TableDefinition<'_, (&str, &str, u64), &[u8]> = TableDefinition::new("actor_alarms");

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
    db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish()
    }
}

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
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).map_err(backend)?;
        let tx = db.begin_write().map_err(backend)?;
        {
            tx.open_table(STATES).map_err(backend)?;
            tx.open_table(TOMBSTONES).map_err(backend)?;
            tx.open_table(ALARMS).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        tracing::debug!(path = %path.display(), "opened the actor store");
        Ok(Self {
            db: Arc::new(db),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
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
            for write in writes {
                let (name, key) = (&*write.actor.name, &*write.actor.key);
                if write.destroy {
                    states.remove((name, key)).map_err(backend)?;
                    tombstones.insert((name, key), now_ms()).map_err(backend)?;
                    alarms
                        .retain_in((name, key, 0u64)..=(name, key, u64::MAX), |_, _| false)
                        .map_err(backend)?;
                    continue;
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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::backend)?
}

impl ActorStore for RedbStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>> {
        let db = self.db.clone();
        let actor = actor.clone();
        blocking(move || Self::load_blocking(&db, &actor)).boxed()
    }

    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
        let db = self.db.clone();
        blocking(move || Self::commit_blocking(&db, &writes)).boxed()
    }

    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
        let db = self.db.clone();
        blocking(move || Self::load_alarms_blocking(&db)).boxed()
    }
}
