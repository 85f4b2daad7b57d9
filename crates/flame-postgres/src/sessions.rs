//! [`PgSessionBackend`]: flame-auth's sessions in PostgreSQL, so that a login on one node is
//! valid on every node and survives restarts.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_postgres::Pool;
use flame_auth::session::{SessionBackend, SessionRecord, TokenHash};
use flame_auth::{AuthError, BoxFuture, User};
use futures_util::FutureExt as _;

use crate::PgStore;

fn to_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn backend_error(err: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(format!("session store: {err}"))
}

/// Sessions (or refresh tokens) in the `flame_sessions` table of the database a [`PgStore`]
/// uses, sharing its pool. Only the tokens' SHA-256 hashes are written, as with every
/// [`SessionBackend`]; revoking is one conditional `UPDATE`, so of two concurrent
/// revocations of one token exactly one reports it (refresh-token rotation relies on it).
///
/// ```no_run
/// use flame_auth::session::SessionStore;
/// use flame_postgres::{PgSessionBackend, PgStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::connect("postgres://flame@127.0.0.1:5432/flame").await?;
/// let sessions = SessionStore::new(PgSessionBackend::new(&store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgSessionBackend {
    pool: Pool,
}

impl std::fmt::Debug for PgSessionBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessionBackend").finish_non_exhaustive()
    }
}

impl PgSessionBackend {
    /// Sessions in `store`'s database (its schema, migrated when it connected, has the
    /// table), through its pool.
    pub fn new(store: &PgStore) -> Self {
        Self {
            pool: store.pool.clone(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, AuthError> {
        self.pool.get().await.map_err(backend_error)
    }

    async fn insert_async(&self, hash: TokenHash, record: SessionRecord) -> Result<(), AuthError> {
        let user_json = serde_json::to_string(&*record.user).map_err(backend_error)?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO flame_sessions (hash, user_id, user_json, created_ms, expires_ms, revoked) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(backend_error)?;
        client
            .execute(
                &stmt,
                &[
                    &hash.as_bytes().as_slice(),
                    &record.user.id,
                    &user_json,
                    &to_ms(record.created_at),
                    &to_ms(record.expires_at),
                    &record.revoked,
                ],
            )
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn get_async(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, AuthError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT user_json, created_ms, expires_ms, revoked FROM flame_sessions WHERE hash = $1",
            )
            .await
            .map_err(backend_error)?;
        let Some(row) = client
            .query_opt(&stmt, &[&hash.as_bytes().as_slice()])
            .await
            .map_err(backend_error)?
        else {
            return Ok(None);
        };
        let user: User = serde_json::from_str(row.get::<_, &str>(0)).map_err(backend_error)?;
        Ok(Some(SessionRecord {
            user: Arc::new(user),
            created_at: from_ms(row.get(1)),
            expires_at: from_ms(row.get(2)),
            revoked: row.get(3),
        }))
    }

    async fn execute(
        &self,
        sql: &str,
        param: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<usize, AuthError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(backend_error)?;
        let changed = client
            .execute(&stmt, &[param])
            .await
            .map_err(backend_error)?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }
}

impl SessionBackend for PgSessionBackend {
    fn insert(
        &self,
        hash: TokenHash,
        record: SessionRecord,
    ) -> BoxFuture<'_, Result<(), AuthError>> {
        self.insert_async(hash, record).boxed()
    }

    fn get<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, AuthError>> {
        self.get_async(hash).boxed()
    }

    fn revoke<'a>(&'a self, hash: &'a TokenHash) -> BoxFuture<'a, Result<bool, AuthError>> {
        async move {
            let hash = hash.as_bytes().as_slice();
            let changed = self
                .execute(
                    "UPDATE flame_sessions SET revoked = true WHERE hash = $1 AND NOT revoked",
                    &hash,
                )
                .await?;
            Ok(changed == 1)
        }
        .boxed()
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, AuthError>> {
        async move {
            self.execute(
                "UPDATE flame_sessions SET revoked = true WHERE user_id = $1 AND NOT revoked",
                &user_id,
            )
            .await
        }
        .boxed()
    }

    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<usize, AuthError>> {
        async move {
            let now = to_ms(now);
            self.execute("DELETE FROM flame_sessions WHERE expires_ms <= $1", &now)
                .await
        }
        .boxed()
    }
}
