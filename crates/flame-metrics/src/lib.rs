//! Seeing inside a flame app: Prometheus metrics and the development inspector.
//!
//! - [`Metrics`] (`metrics.rs`): an app-owned Prometheus registry, the HTTP middleware that
//!   counts requests by method, matched route pattern and status, and the scrape handler.
//! - `server.rs`: the accept loop's connections, refusals and accept errors, read at scrape
//!   time from `flame_core`'s `ServerStats` ([`Metrics::register_server`]).
//! - `actors.rs` (feature `stateful`): the gauges and counters of an `ActorSystem`, read at
//!   scrape time from counters the runtime keeps anyway.
//! - [`Inspector`] (`inspector/`): the page at `/_flame` and the JSON it reads: routes,
//!   mapped services, the startup check, stateful actors with their connections, one
//!   actor's state and key-value entries, recent commits, the metrics.
//!
//! Nothing here runs unless it is mounted: an app without [`Metrics::middleware`] pays
//! nothing per request.
//!
//! ## Features
//!
//! - `stateful`: metrics and inspector pages for a `flame_stateful::ActorSystem`.
//!
//! ```
//! use flame_metrics::Metrics;
//!
//! let metrics = Metrics::new();
//! let mut f = flame_core::Flame::new();
//! f.use_(metrics.middleware());
//! f.get("/users/{id}", || "user");
//! f.get("/metrics", metrics.handler());
//! ```

#[cfg(feature = "stateful")]
mod actors;
mod collect;
mod inspector;
mod metrics;
mod server;

pub use self::inspector::{INSPECTOR_PREFIX, Inspector, MAX_PAGE};
pub use self::metrics::{DURATION_BUCKETS, HttpMetrics, Metrics, UNMATCHED_ROUTE};
