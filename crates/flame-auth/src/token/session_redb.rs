//! [`RedbSessionBackend`]: sessions in a redb file, so that a restart signs nobody out.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::session::{SessionBackend, SessionRecord, TokenHash};
use crate::token::BoxFuture;
use crate::{AuthError, User};

/// Token hash -> the session, as JSON.
const SESSIONS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("auth_sessions");
/// (user id, token hash) -> (), so that "log out everywhere" reads one user's sessions only.
const BY_USER: TableDefinition<'_, (&str, &[u8]), ()> =
    TableDefinition::new("auth_sessions_by_user");

/// The stored form of a [`SessionRecord`]: times in milliseconds since the epoch.
#[derive(Serialize, Deserialize)]
struct Stored {
    user: User,
    created_ms: u64,
    expires_ms: u64,
    revoked: bool,
}

fn to_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl Stored {
    fn of(record: &SessionRecord) -> Self {
        Self {
            user: (*record.user).clone(),
            created_ms: to_ms(record.created_at),
            expires_ms: to_ms(record.expires_at),
            revoked: record.revoked,
        }
    }

    fn record(self) -> SessionRecord {
        SessionRecord {
            user: Arc::new(self.user),
            created_at: from_ms(self.created_ms),
            expires_at: from_ms(self.expires_ms),
            revoked: self.revoked,
        }
    }
}

fn backend_error(err: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(format!("session store: {err}"))
}

/// Sessions (and refresh tokens, in a file of their own) kept in a redb database: only the
/// tokens' SHA-256 hashes are written, as with every [`SessionBackend`].
///
/// ```
/// use flame_auth::session::{RedbSessionBackend, SessionStore};
/// use flame_auth::{TokenVerifier, User};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let dir = std::env::temp_dir().join(format!("flame-auth-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sessions.redb");
/// let token = {
///     let sessions = SessionStore::new(RedbSessionBackend::open(&path).unwrap());
///     sessions.create(User::new("u1", "ada")).await.unwrap().into_token()
/// };
/// // After a "restart": the same file, the same session.
/// let sessions = SessionStore::new(RedbSessionBackend::open(&path).unwrap());
/// assert!(sessions.verify(&token).await.is_ok());
/// # drop(sessions);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct RedbSessionBackend {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbSessionBackend {
    /// Opens (or creates) the database file at `path`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the file cannot be opened (another process holds it, a
    /// corrupt file).
    ///
    /// ```
    /// use flame_auth::session::RedbSessionBackend;
    ///
    /// assert!(RedbSessionBackend::open("/nonexistent-dir/sessions.redb").is_err());
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let db = Database::create(path).map_err(backend_error)?;
        let tx = db.begin_write().map_err(backend_error)?;
        tx.open_table(SESSIONS).map_err(backend_error)?;
        tx.open_table(BY_USER).map_err(backend_error)?;
        tx.commit().map_err(backend_error)?;
        tracing::debug!(path = %path.display(), "opened the session store");
        Ok(Self {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    ///
    /// ```
    /// use flame_auth::session::RedbSessionBackend;
    ///
    /// let path = std::env::temp_dir().join(format!("flame-auth-path-{}.redb", std::process::id()));
    /// assert_eq!(RedbSessionBackend::open(&path).unwrap().path(), path);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the blocking pool: redb does file I/O and fsyncs.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, AuthError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, AuthError>> {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || work(&db))
                .await
                .map_err(backend_error)?
        })
    }
}

fn read(bytes: &[u8]) -> Result<Stored, AuthError> {
    serde_json::from_slice(bytes).map_err(backend_error)
}

fn write(stored: &Stored) -> Result<Vec<u8>, AuthError> {
    serde_json::to_vec(stored).map_err(backend_error)
}

/// Marks the session `hash` revoked; whether this call did.
fn revoke_in(sessions: &mut redb::Table<'_, &[u8], &[u8]>, hash: &[u8]) -> Result<bool, AuthError> {
    let stored = match sessions.get(hash).map_err(backend_error)? {
        Some(value) => read(value.value())?,
        None => return Ok(false),
    };
    if stored.revoked {
        return Ok(false);
    }
    let revoked = Stored {
        revoked: true,
        ..stored
    };
    sessions
        .insert(hash, write(&revoked)?.as_slice())
        .map_err(backend_error)?;
    Ok(true)
}

impl SessionBackend for RedbSessionBackend {
    fn insert(
        &self,
        hash: TokenHash,
        record: SessionRecord,
    ) -> BoxFuture<'_, Result<(), AuthError>> {
        self.blocking(move |db| {
            let stored = Stored::of(&record);
            let tx = db.begin_write().map_err(backend_error)?;
            {
                let mut sessions = tx.open_table(SESSIONS).map_err(backend_error)?;
                sessions
                    .insert(hash.as_bytes().as_slice(), write(&stored)?.as_slice())
                    .map_err(backend_error)?;
                let mut by_user = tx.open_table(BY_USER).map_err(backend_error)?;
                by_user
                    .insert((stored.user.id.as_str(), hash.as_bytes().as_slice()), ())
                    .map_err(backend_error)?;
            }
            tx.commit().map_err(backend_error)
        })
    }

    fn get<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, AuthError>> {
        let hash = *hash;
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(backend_error)?;
            let sessions = tx.open_table(SESSIONS).map_err(backend_error)?;
            match sessions
                .get(hash.as_bytes().as_slice())
                .map_err(backend_error)?
            {
                Some(value) => Ok(Some(read(value.value())?.record())),
                None => Ok(None),
            }
        })
    }

    fn revoke<'a>(&'a self, hash: &'a TokenHash) -> BoxFuture<'a, Result<bool, AuthError>> {
        let hash = *hash;
        // One write transaction at a time (redb serializes them): of two revocations of one
        // hash, exactly one sees it live.
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(backend_error)?;
            let revoked = {
                let mut sessions = tx.open_table(SESSIONS).map_err(backend_error)?;
                revoke_in(&mut sessions, hash.as_bytes())?
            };
            tx.commit().map_err(backend_error)?;
            Ok(revoked)
        })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, AuthError>> {
        let user_id = user_id.to_owned();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(backend_error)?;
            let mut revoked = 0;
            {
                let by_user = tx.open_table(BY_USER).map_err(backend_error)?;
                let hashes: Vec<Vec<u8>> = by_user
                    .range((user_id.as_str(), [].as_slice())..)
                    .map_err(backend_error)?
                    .map_while(|entry| {
                        let (key, _) = entry.ok()?;
                        let (id, hash) = key.value();
                        (id == user_id).then(|| hash.to_vec())
                    })
                    .collect();
                let mut sessions = tx.open_table(SESSIONS).map_err(backend_error)?;
                for hash in hashes {
                    if revoke_in(&mut sessions, &hash)? {
                        revoked += 1;
                    }
                }
            }
            tx.commit().map_err(backend_error)?;
            Ok(revoked)
        })
    }

    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<usize, AuthError>> {
        let now = to_ms(now);
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(backend_error)?;
            let mut purged = 0;
            {
                let mut sessions = tx.open_table(SESSIONS).map_err(backend_error)?;
                let mut expired = Vec::new();
                for entry in sessions.iter().map_err(backend_error)? {
                    let (key, value) = entry.map_err(backend_error)?;
                    let stored = read(value.value())?;
                    if stored.expires_ms <= now {
                        expired.push((key.value().to_vec(), stored.user.id));
                    }
                }
                let mut by_user = tx.open_table(BY_USER).map_err(backend_error)?;
                for (hash, user_id) in expired {
                    sessions.remove(hash.as_slice()).map_err(backend_error)?;
                    by_user
                        .remove((user_id.as_str(), hash.as_slice()))
                        .map_err(backend_error)?;
                    purged += 1;
                }
            }
            tx.commit().map_err(backend_error)?;
            Ok(purged)
        })
    }
}

impl std::fmt::Debug for RedbSessionBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbSessionBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
