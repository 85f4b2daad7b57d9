//! [`PgError`]: why a [`PgStore`](crate::PgStore) could not be opened.

/// Opening a [`PgStore`](crate::PgStore) failed; nothing was written.
///
/// ```
/// use flame_postgres::PgError;
/// let e = PgError::SchemaTooNew { found: 9, supported: 1 };
/// assert!(e.to_string().contains("version 9"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The connection URL could not be parsed.
    #[error("invalid PostgreSQL URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The database could not be reached (or refused the connection).
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    /// The database's schema was written by a newer flame; this one refuses to touch it.
    #[error(
        "the database's flame schema is version {found}, newer than this build supports \
         ({supported}); upgrade flame or use another database"
    )]
    SchemaTooNew {
        /// The version recorded in the database.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },
    /// Applying a migration failed (it was rolled back).
    #[error("schema migration to version {version} failed: {source}")]
    Migration {
        /// The migration's version.
        version: i32,
        /// Why.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A query failed while opening.
    #[error("PostgreSQL error while opening the store: {0}")]
    Query(#[source] tokio_postgres::Error),
}
