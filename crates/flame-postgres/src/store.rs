//! [`PgStore`]: the [`ActorStore`] on PostgreSQL.
//!
//! Every [`commit`](ActorStore::commit) is one transaction on one pooled connection, its
//! statements pipelined (sent without waiting for each answer, in order), and it completes
//! only after PostgreSQL acknowledged the `COMMIT` with `synchronous_commit = on`, forced on
//! each connection: an acknowledged write is on the server's disk.
//!
//! A connection lost mid-transaction (the server restarted, say) fails that commit with a
//! backend error and the transaction is rolled back by the server; the pool drops the broken
//! connection and the next operation opens a fresh one, so service resumes by itself.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use flame_stateful::store::{
    ActorId, ActorStore, ActorWrite, Alarm, KvEntry, KvScan, StoreError, StoredActor,
};
use futures_util::future::{BoxFuture, FutureExt, try_join_all};
use tokio_postgres::NoTls;

use crate::{PgError, schema};

/// How a [`PgStore`] connects.
///
/// ```
/// use std::time::Duration;
/// use flame_postgres::PgOptions;
/// let options = PgOptions::default().pool_size(8).connect_timeout(Duration::from_secs(2));
/// assert_eq!(options.pool_size, 8);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgOptions {
    /// The most connections open at once (default 16).
    pub pool_size: usize,
    /// How long connecting may take, and how long an operation waits for a pooled
    /// connection (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl PgOptions {
    /// Sets [`pool_size`](Self::pool_size) (at least 1).
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size.max(1);
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

/// An [`ActorStore`] in a PostgreSQL database: one transaction per grouped commit, durable
/// when acknowledged. Clones share the pool.
///
/// ```
/// use flame_postgres::PgStore;
/// use flame_stateful::store::{ActorId, ActorStore, ActorWrite};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let Some(pg) = flame_test_support::pg::PgServer::start() else { return Ok(()) };
/// # let url = pg.url();
/// let store = PgStore::connect(&url).await?;
/// let id = ActorId::new("counter", "a");
/// let mut write = ActorWrite::new(id.clone());
/// write.state = Some(b"1".as_slice().into());
/// store.commit(vec![write]).await?;
/// assert_eq!(store.load(&id).await?.state.as_deref(), Some(b"1".as_slice()));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("pool_size", &status.max_size)
            .field("connections", &status.size)
            .finish()
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend(e)
}

/// An error with its causes ("db error" alone says nothing; the server's message is in
/// its source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Alarm ids are `u64`; PostgreSQL has no unsigned type, so they are stored bit for bit.
fn id_to_sql(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

impl PgStore {
    /// Connects with [`PgOptions::default`]; see [`connect_with`](Self::connect_with).
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn connect(url: &str) -> Result<Self, PgError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects to the database at `url` (`postgres://user@host:port/db`), applies the
    /// schema migrations this build knows, and returns the store.
    ///
    /// # Errors
    ///
    /// [`PgError::Url`] for a URL that cannot be parsed, [`PgError::Connect`] for a database
    /// that cannot be reached, [`PgError::SchemaTooNew`] for a schema written by a newer
    /// flame (nothing is written then), [`PgError::Migration`] when a migration fails.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, PgError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(PgError::Url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        // The durability rule: a commit is acknowledged only once on disk, whatever the
        // server's or the role's default is.
        config.options("-c synchronous_commit=on");
        if config.get_application_name().is_none() {
            config.application_name("flame");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| PgError::Connect(e.to_string()))?;
        let mut client = pool.get().await.map_err(|e| PgError::Connect(chain(&e)))?;
        let found = schema::migrate(&mut client).await?;
        tracing::debug!(
            found,
            latest = schema::LATEST,
            "opened the PostgreSQL actor store"
        );
        drop(client);
        Ok(Self { pool })
    }

    /// The schema version of the database (after the migrations that ran at connect).
    ///
    /// # Errors
    ///
    /// The database cannot be reached.
    pub async fn schema_version(&self) -> Result<i32, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let row = client
            .query_one("SELECT version FROM flame_schema", &[])
            .await
            .map_err(backend)?;
        Ok(row.get(0))
    }

    async fn load_async(&self, actor: &ActorId) -> Result<StoredActor, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let stmt = client
            .prepare_cached(
                "SELECT (SELECT state FROM flame_actor_states WHERE name = $1 AND key = $2), \
                 EXISTS (SELECT 1 FROM flame_actor_tombstones WHERE name = $1 AND key = $2)",
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(&stmt, &[&&*actor.name, &&*actor.key])
            .await
            .map_err(backend)?;
        let state: Option<Vec<u8>> = row.get(0);
        let destroyed: bool = row.get(1);
        Ok(StoredActor {
            state: if destroyed {
                None
            } else {
                state.map(Arc::from)
            },
            destroyed,
        })
    }

    async fn commit_async(&self, writes: Vec<ActorWrite>) -> Result<(), StoreError> {
        if writes.iter().all(ActorWrite::is_empty) {
            return Ok(());
        }
        let mut client = self.pool.get().await.map_err(backend)?;
        let tx = client.transaction().await.map_err(backend)?;
        write_in(&tx, &writes).await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn load_alarms_async(&self) -> Result<Vec<(ActorId, Alarm)>, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let rows = client
            .query(
                "SELECT name, key, alarm FROM flame_actor_alarms ORDER BY name, key, id",
                &[],
            )
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|row| {
                let actor = ActorId::new(row.get::<_, String>(0), row.get::<_, String>(1));
                let bytes: Vec<u8> = row.get(2);
                let alarm = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                    actor: actor.to_string(),
                    message: format!("alarm: {e}"),
                })?;
                Ok((actor, alarm))
            })
            .collect()
    }

    async fn kv_get_async(
        &self,
        actor: &ActorId,
        key: &[u8],
    ) -> Result<Option<Arc<[u8]>>, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let stmt = client
            .prepare_cached("SELECT v FROM flame_actor_kv WHERE name = $1 AND key = $2 AND k = $3")
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(&stmt, &[&&*actor.name, &&*actor.key, &key])
            .await
            .map_err(backend)?;
        Ok(row.map(|row| Arc::from(row.get::<_, Vec<u8>>(0))))
    }

    async fn kv_bytes_async(&self, actor: &ActorId) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        // Summed by the server: no entry crosses the wire. Still a scan of the actor's rows
        // (an index range); a counter kept in each commit, as redb's, would make it O(1).
        let stmt = client
            .prepare_cached(
                "SELECT COALESCE(SUM(octet_length(k) + octet_length(v)), 0)::bigint \
                 FROM flame_actor_kv WHERE name = $1 AND key = $2",
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(&stmt, &[&&*actor.name, &&*actor.key])
            .await
            .map_err(backend)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn kv_scan_async(
        &self,
        actor: &ActorId,
        scan: &KvScan,
    ) -> Result<Vec<KvEntry>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        // Built from a fixed set of fragments (eight texts in all), so the statement cache
        // stays small; the bounds are parameters.
        let mut sql = String::from("SELECT k, v FROM flame_actor_kv WHERE name = $1 AND key = $2");
        let limit = i64::try_from(scan.limit).unwrap_or(i64::MAX);
        let (name, key) = (&*actor.name, &*actor.key);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&name, &key, &limit];
        let start = scan.start.as_deref();
        let end = scan.end.as_deref();
        if let Some(start) = &start {
            params.push(start);
            sql.push_str(&format!(" AND k >= ${}", params.len()));
        }
        if let Some(end) = &end {
            params.push(end);
            sql.push_str(&format!(" AND k < ${}", params.len()));
        }
        sql.push_str(if scan.reverse {
            " ORDER BY k DESC LIMIT $3"
        } else {
            " ORDER BY k ASC LIMIT $3"
        });
        let client = self.pool.get().await.map_err(backend)?;
        let stmt = client.prepare_cached(&sql).await.map_err(backend)?;
        let rows = client.query(&stmt, &params).await.map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.get::<_, Vec<u8>>(0),
                    Arc::from(row.get::<_, Vec<u8>>(1)),
                )
            })
            .collect())
    }
}

/// Applies `writes` inside `tx` (the caller commits): one pipelined statement per change.
pub(crate) async fn write_in(
    tx: &deadpool_postgres::Transaction<'_>,
    writes: &[ActorWrite],
) -> Result<(), StoreError> {
    let statements = Statements::prepare(tx).await?;
    // Owned parameters first, so the pipelined futures can borrow them.
    let mut ops: Vec<Op<'_>> = Vec::new();
    for write in writes {
        let (name, key) = (&*write.actor.name, &*write.actor.key);
        if write.destroy {
            ops.push(Op::Destroy { name, key });
            continue;
        }
        for op in &write.kv {
            ops.push(match &op.value {
                Some(value) => Op::KvPut {
                    name,
                    key,
                    k: &op.key,
                    v: value,
                },
                None => Op::KvDelete {
                    name,
                    key,
                    k: &op.key,
                },
            });
        }
        if let Some(state) = &write.state {
            ops.push(Op::State { name, key, state });
        }
        for alarm in &write.put_alarms {
            let bytes = serde_json::to_vec(alarm).map_err(backend)?;
            let at_ms = i64::try_from(alarm.at_ms).unwrap_or(i64::MAX);
            ops.push(Op::AlarmPut {
                name,
                key,
                id: id_to_sql(alarm.id),
                at_ms,
                alarm: bytes,
            });
        }
        for id in &write.delete_alarms {
            ops.push(Op::AlarmDelete {
                name,
                key,
                id: id_to_sql(*id),
            });
        }
    }
    // Pipelined: each future sends its statement when first polled, and `try_join_all`
    // polls them in order, so they run in order; one failure aborts the transaction.
    let futures = ops.iter().map(|op| op.run(tx, &statements));
    try_join_all(futures).await?;
    Ok(())
}

/// The commit's prepared statements (cached per connection).
struct Statements {
    destroy: [tokio_postgres::Statement; 4],
    kv_put: tokio_postgres::Statement,
    kv_delete: tokio_postgres::Statement,
    state: tokio_postgres::Statement,
    alarm_put: tokio_postgres::Statement,
    alarm_delete: tokio_postgres::Statement,
}

impl Statements {
    async fn prepare(tx: &deadpool_postgres::Transaction<'_>) -> Result<Self, StoreError> {
        let prepare =
            |sql: &'static str| async move { tx.prepare_cached(sql).await.map_err(backend) };
        Ok(Self {
            destroy: [
                prepare("DELETE FROM flame_actor_states WHERE name = $1 AND key = $2").await?,
                prepare("DELETE FROM flame_actor_alarms WHERE name = $1 AND key = $2").await?,
                prepare("DELETE FROM flame_actor_kv WHERE name = $1 AND key = $2").await?,
                prepare(
                    "INSERT INTO flame_actor_tombstones (name, key) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            ],
            kv_put: prepare(
                "INSERT INTO flame_actor_kv (name, key, k, v) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name, key, k) DO UPDATE SET v = EXCLUDED.v",
            )
            .await?,
            kv_delete: prepare(
                "DELETE FROM flame_actor_kv WHERE name = $1 AND key = $2 AND k = $3",
            )
            .await?,
            state: prepare(
                "INSERT INTO flame_actor_states (name, key, state) VALUES ($1, $2, $3) \
                 ON CONFLICT (name, key) DO UPDATE SET state = EXCLUDED.state",
            )
            .await?,
            alarm_put: prepare(
                "INSERT INTO flame_actor_alarms (name, key, id, at_ms, alarm) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name, key, id) DO UPDATE \
                 SET at_ms = EXCLUDED.at_ms, alarm = EXCLUDED.alarm",
            )
            .await?,
            alarm_delete: prepare(
                "DELETE FROM flame_actor_alarms WHERE name = $1 AND key = $2 AND id = $3",
            )
            .await?,
        })
    }
}

/// One statement of a commit, with borrowed parameters.
enum Op<'a> {
    Destroy {
        name: &'a str,
        key: &'a str,
    },
    KvPut {
        name: &'a str,
        key: &'a str,
        k: &'a [u8],
        v: &'a [u8],
    },
    KvDelete {
        name: &'a str,
        key: &'a str,
        k: &'a [u8],
    },
    State {
        name: &'a str,
        key: &'a str,
        state: &'a [u8],
    },
    AlarmPut {
        name: &'a str,
        key: &'a str,
        id: i64,
        at_ms: i64,
        alarm: Vec<u8>,
    },
    AlarmDelete {
        name: &'a str,
        key: &'a str,
        id: i64,
    },
}

impl Op<'_> {
    async fn run(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        s: &Statements,
    ) -> Result<(), StoreError> {
        match self {
            Op::Destroy { name, key } => {
                // Four statements, sent back to back (pipelined like the others).
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [name, key];
                try_join_all(s.destroy.iter().map(|stmt| tx.execute(stmt, &params)))
                    .await
                    .map_err(backend)?;
            }
            Op::KvPut { name, key, k, v } => {
                tx.execute(&s.kv_put, &[name, key, k, v])
                    .await
                    .map_err(backend)?;
            }
            Op::KvDelete { name, key, k } => {
                tx.execute(&s.kv_delete, &[name, key, k])
                    .await
                    .map_err(backend)?;
            }
            Op::State { name, key, state } => {
                tx.execute(&s.state, &[name, key, state])
                    .await
                    .map_err(backend)?;
            }
            Op::AlarmPut {
                name,
                key,
                id,
                at_ms,
                alarm,
            } => {
                tx.execute(&s.alarm_put, &[name, key, id, at_ms, alarm])
                    .await
                    .map_err(backend)?;
            }
            Op::AlarmDelete { name, key, id } => {
                tx.execute(&s.alarm_delete, &[name, key, id])
                    .await
                    .map_err(backend)?;
            }
        }
        Ok(())
    }
}

impl ActorStore for PgStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>> {
        self.load_async(actor).boxed()
    }

    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
        self.commit_async(writes).boxed()
    }

    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
        self.load_alarms_async().boxed()
    }

    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Arc<[u8]>>, StoreError>> {
        self.kv_get_async(actor, key).boxed()
    }

    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, StoreError>> {
        self.kv_scan_async(actor, scan).boxed()
    }

    fn kv_bytes<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.kv_bytes_async(actor).boxed()
    }
}
