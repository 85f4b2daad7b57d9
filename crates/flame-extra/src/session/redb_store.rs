//! [`RedbStore`]: sessions in a redb file, so that a restart signs nobody out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use super::SessionError;
use super::store::{BoxFuture, SessionRecord, SessionStore};

/// Key -> header (created, last seen, expires: three big-endian u64) followed by the data.
const SESSIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("extra_sessions");
/// (expires at, key) -> (), so that purging reads only what expired.
const BY_EXPIRY: TableDefinition<'_, (u64, &str), ()> =
    TableDefinition::new("extra_sessions_by_expiry");

const HEADER: usize = 24;

fn store_error(err: impl std::fmt::Display) -> SessionError {
    SessionError::Store(format!("redb: {err}"))
}

fn encode(record: &SessionRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER + record.data.len());
    bytes.extend_from_slice(&record.created_at.to_be_bytes());
    bytes.extend_from_slice(&record.last_seen.to_be_bytes());
    bytes.extend_from_slice(&record.expires_at.to_be_bytes());
    bytes.extend_from_slice(&record.data);
    bytes
}

fn decode(bytes: &[u8]) -> Result<SessionRecord, SessionError> {
    let word = |i: usize| -> Result<u64, SessionError> {
        bytes
            .get(i * 8..i * 8 + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| store_error("a stored session is shorter than its header"))
    };
    Ok(SessionRecord {
        created_at: word(0)?,
        last_seen: word(1)?,
        expires_at: word(2)?,
        data: bytes[HEADER..].to_vec(),
    })
}

/// Sessions in a redb file (one process on one node; a PostgreSQL store serves many).
///
/// Every save is its own durable transaction. Expired sessions are never returned as live
/// (the middleware checks the deadline) and are removed by
/// [`purge_expired`](SessionStore::purge_expired), which reads an expiry index, not the whole
/// table; [`spawn_purger`](super::spawn_purger) runs it periodically.
///
/// ```
/// use flame_extra::session::RedbStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = RedbStore::open(dir.path().join("sessions.redb")).unwrap();
/// assert!(store.path().ends_with("sessions.redb"));
/// ```
#[derive(Clone, Debug)]
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbStore {
    /// Opens (or creates) the store at `path`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = flame_extra::session::RedbStore::open(dir.path().join("s.redb")).unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SessionError> {
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).map_err(store_error)?;
        let tx = db.begin_write().map_err(store_error)?;
        tx.open_table(SESSIONS).map_err(store_error)?;
        tx.open_table(BY_EXPIRY).map_err(store_error)?;
        tx.commit().map_err(store_error)?;
        Ok(Self {
            db: Arc::new(db),
            path,
        })
    }

    /// The file it was opened at.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("s.redb");
    /// assert_eq!(flame_extra::session::RedbStore::open(&path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the blocking pool: redb does file I/O and fsyncs.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, SessionError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, SessionError>> {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || work(&db))
                .await
                .map_err(store_error)?
        })
    }
}

/// Removes `key` from both tables; whether it was there.
fn remove_in(
    sessions: &mut redb::Table<'_, &str, &[u8]>,
    by_expiry: &mut redb::Table<'_, (u64, &str), ()>,
    key: &str,
) -> Result<bool, SessionError> {
    let old = sessions
        .remove(key)
        .map_err(store_error)?
        .map(|value| decode(value.value()));
    match old {
        Some(old) => {
            by_expiry
                .remove((old?.expires_at, key))
                .map_err(store_error)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

impl SessionStore for RedbStore {
    fn load<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionError>> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(store_error)?;
            let sessions = tx.open_table(SESSIONS).map_err(store_error)?;
            match sessions.get(key.as_str()).map_err(store_error)? {
                Some(value) => Ok(Some(decode(value.value())?)),
                None => Ok(None),
            }
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        let key = key.to_owned();
        let bytes = encode(record);
        let expires_at = record.expires_at;
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(store_error)?;
            {
                let mut sessions = tx.open_table(SESSIONS).map_err(store_error)?;
                let mut by_expiry = tx.open_table(BY_EXPIRY).map_err(store_error)?;
                remove_in(&mut sessions, &mut by_expiry, &key)?;
                sessions
                    .insert(key.as_str(), bytes.as_slice())
                    .map_err(store_error)?;
                by_expiry
                    .insert((expires_at, key.as_str()), ())
                    .map_err(store_error)?;
            }
            tx.commit().map_err(store_error)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SessionError>> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(store_error)?;
            {
                let mut sessions = tx.open_table(SESSIONS).map_err(store_error)?;
                let mut by_expiry = tx.open_table(BY_EXPIRY).map_err(store_error)?;
                remove_in(&mut sessions, &mut by_expiry, &key)?;
            }
            tx.commit().map_err(store_error)
        })
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, SessionError>> {
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(store_error)?;
            let purged = {
                let mut sessions = tx.open_table(SESSIONS).map_err(store_error)?;
                let mut by_expiry = tx.open_table(BY_EXPIRY).map_err(store_error)?;
                // Everything that expires at or before `now`: keys sort after "" at equal
                // times, so the bound `(now + 1, "")` is exclusive of later deadlines only.
                let expired: Vec<(u64, String)> = by_expiry
                    .range((0u64, "")..(now.saturating_add(1), ""))
                    .map_err(store_error)?
                    .map(|entry| {
                        entry.map(|(key, _)| {
                            let (at, id) = key.value();
                            (at, id.to_owned())
                        })
                    })
                    .collect::<Result<_, _>>()
                    .map_err(store_error)?;
                for (at, key) in &expired {
                    sessions.remove(key.as_str()).map_err(store_error)?;
                    by_expiry.remove((*at, key.as_str())).map_err(store_error)?;
                }
                expired.len()
            };
            tx.commit().map_err(store_error)?;
            Ok(purged)
        })
    }
}
