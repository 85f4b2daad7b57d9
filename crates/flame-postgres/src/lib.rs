//! flame's stateful actors on PostgreSQL: [`PgStore`], an
//! [`ActorStore`](flame_stateful::store::ActorStore) with the same contract and the same
//! durability rule as the embedded redb store.
//!
//! - [`store`]: the store (a connection pool; one transaction per grouped commit).
//! - [`schema`]: versioned migrations, applied when the store connects.
//! - [`sessions`]: flame-auth's sessions in the same database ([`PgSessionBackend`]), so a
//!   login holds on every node and across restarts.
//! - [`error`]: what can go wrong when connecting.
//! - [`node`]: [`PgCluster`], this node in a cluster: its lease (renewed by a task), and
//!   the actor system's [`Directory`](flame_stateful::cluster::Directory) in cluster mode;
//!   [`ClusterOptions`], its settings (or `FLAME_NODE_ADDR`, `FLAME_CLUSTER_SECRET`).
//! - [`cluster`]: membership, activation and fenced commits in the database (the SQL).
//! - [`lease`]: the decisions of membership and single activation (leases, epochs,
//!   fencing), pure and unit-tested.
//!
//! A separate crate so that applications on the embedded store compile no PostgreSQL client.

pub mod cluster;
pub mod error;
pub mod lease;
pub mod node;
pub mod schema;
pub mod sessions;
pub mod store;

pub use error::PgError;
pub use node::{ClusterOptions, PgCluster};
pub use sessions::PgSessionBackend;
pub use store::{PgOptions, PgStore};
