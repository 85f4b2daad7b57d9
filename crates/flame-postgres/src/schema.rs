//! The versioned schema: every migration, in order, applied at start in one transaction
//! under an advisory lock (so nodes starting together apply each once).
//!
//! The version is the single row of `flame_schema`. A database at a version newer than
//! [`LATEST`] is refused before anything is written.

use tokio_postgres::Client;

use crate::PgError;

/// The newest schema version this build writes.
///
/// ```
/// assert_eq!(flame_postgres::schema::LATEST, flame_postgres::schema::MIGRATIONS.len() as i32);
/// ```
pub const LATEST: i32 = 3;

/// The migrations, version `i + 1` at index `i`. Only ever appended to.
///
/// Keys and kind names are `text` compared with the "C" collation; key-value keys are
/// `bytea`, which PostgreSQL orders bytewise, as the contract requires.
///
/// ```
/// assert!(flame_postgres::schema::MIGRATIONS[0].contains("flame_actor_kv"));
/// ```
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE flame_actor_states (
    name text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TABLE flame_actor_tombstones (
    name text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    destroyed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, key)
);
CREATE TABLE flame_actor_alarms (
    name text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    id bigint NOT NULL,
    at_ms bigint NOT NULL,
    alarm bytea NOT NULL,
    PRIMARY KEY (name, key, id)
);
CREATE INDEX flame_actor_alarms_due ON flame_actor_alarms (at_ms);
CREATE TABLE flame_actor_kv (
    name text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    k bytea NOT NULL,
    v bytea NOT NULL,
    PRIMARY KEY (name, key, k)
);
"#,
    r#"
CREATE TABLE flame_nodes (
    id text COLLATE "C" PRIMARY KEY,
    address text COLLATE "C" NOT NULL,
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX flame_nodes_address ON flame_nodes (address);
CREATE TABLE flame_actor_owners (
    name text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    node text COLLATE "C" NOT NULL,
    epoch bigint NOT NULL,
    PRIMARY KEY (name, key)
);
"#,
    // 3: flame-auth's sessions (`PgSessionBackend`), by the SHA-256 of their token
    r#"
CREATE TABLE flame_sessions (
    hash bytea PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    user_json text NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX flame_sessions_by_user ON flame_sessions (user_id);
CREATE INDEX flame_sessions_by_expiry ON flame_sessions (expires_ms);
"#,
];

/// An arbitrary constant: the advisory lock that serializes migrations across nodes.
const MIGRATION_LOCK: i64 = 0x666c_616d_6501;

/// Brings the schema to [`LATEST`], or refuses a newer one. Returns the version found.
pub(crate) async fn migrate(client: &mut Client) -> Result<i32, PgError> {
    let tx = client.transaction().await.map_err(PgError::Query)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(PgError::Query)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('flame_schema') IS NOT NULL", &[])
        .await
        .map_err(PgError::Query)?
        .get(0);
    let found: i32 = if exists {
        tx.query_opt("SELECT version FROM flame_schema", &[])
            .await
            .map_err(PgError::Query)?
            .map_or(0, |row| row.get(0))
    } else {
        0
    };
    if found > LATEST {
        // Dropping the transaction rolls it back: nothing written.
        return Err(PgError::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    if found == LATEST {
        tx.commit().await.map_err(PgError::Query)?;
        return Ok(found);
    }
    if !exists {
        tx.batch_execute(
            "CREATE TABLE flame_schema (version integer NOT NULL);
             INSERT INTO flame_schema (version) VALUES (0);",
        )
        .await
        .map_err(PgError::Query)?;
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql)
            .await
            .map_err(|source| PgError::Migration { version, source })?;
        tx.execute("UPDATE flame_schema SET version = $1", &[&version])
            .await
            .map_err(|source| PgError::Migration { version, source })?;
        tracing::info!(version, "applied flame schema migration");
    }
    tx.commit().await.map_err(PgError::Query)?;
    Ok(found)
}
