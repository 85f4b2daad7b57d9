//! What flame's own tests share (not published).
//!
//! - [`TestServer`]: a flame app served on a loopback port, stopped on `stop` or drop; the one
//!   server helper of every crate's tests. Needs only flame-core.
//! - With the `stateful` feature: the test `Counter`, which records every hook in a `Log`;
//!   actor systems on memory, redb and a slow store; and, in `net`, an actor system served on
//!   a [`TestServer`] with a raw WebSocket client; and, in `store_contract`, the cases every
//!   `ActorStore` must pass.
//! - With the `postgres` feature, in `pg`: a real PostgreSQL server in a temporary directory.
//!
//! flame-core and flame-actor use it as a dev-dependency without the feature, so their tests
//! do not compile the stateful runtime (which depends on them).
#![allow(missing_docs, missing_debug_implementations, clippy::unwrap_used)]

mod server;

pub use server::TestServer;

#[cfg(feature = "stateful")]
mod counter;
#[cfg(feature = "stateful")]
pub mod net;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod raw;
#[cfg(feature = "stateful")]
pub mod store_contract;

#[cfg(feature = "stateful")]
pub use counter::*;
