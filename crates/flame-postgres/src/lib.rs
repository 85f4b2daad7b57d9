//! flame's stateful actors on PostgreSQL: [`PgStore`], an
//! [`ActorStore`](flame_stateful::store::ActorStore) with the same contract and the same
//! durability rule as the embedded redb store.
//!
//! - [`store`]: the store (a connection pool; one transaction per grouped commit).
//! - [`schema`]: versioned migrations, applied when the store connects.
//! - [`sessions`]: flame-auth's sessions in the same database ([`PgSessionBackend`]), so a
//!   login holds on every node and across restarts.
//! - [`error`]: what can go wrong when connecting.
//! - [`cluster`]: membership, activation and fenced commits in the database (not wired
//!   into the runtime yet).
//! - [`lease`]: the decisions of membership and single activation (leases, epochs,
//!   fencing), pure and unit-tested; the cluster will build on them.
//!
//! A separate crate so that applications on the embedded store compile no PostgreSQL client.

pub mod cluster;
pub mod error;
pub mod lease;
pub mod schema;
pub mod sessions;
pub mod store;

pub use error::PgError;
pub use sessions::PgSessionBackend;
pub use store::{PgOptions, PgStore};
