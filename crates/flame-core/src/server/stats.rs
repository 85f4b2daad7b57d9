//! [`ServerStats`]: what the accept loop counts, read by metrics and dashboards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Live counters of the connections `serve()`/`run()` accepts, refuses and fails to
/// accept; cheap to clone, every clone reads the same counters.
///
/// Get the app's handle with [`Flame::server_stats`](crate::Flame::server_stats) before
/// serving; the accept loop updates it from then on. Each update is one relaxed atomic
/// operation per connection (never per request). `flame_metrics::Metrics::register_server`
/// exports these as Prometheus series.
///
/// ```
/// let f = flame_core::Flame::new();
/// let stats = f.server_stats();
/// // nothing served yet
/// assert_eq!(stats.open_connections(), 0);
/// assert_eq!(stats.accept_errors(), 0);
/// assert_eq!(stats.connection_cap(), None);
/// ```
#[derive(Clone, Default)]
pub struct ServerStats {
    inner: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    /// The cap in force; zero until serving (a cap is at least 1).
    cap: AtomicUsize,
    /// The soft limit on open files in force; zero when not known (a serving process has
    /// at least its listener open).
    open_files_limit: AtomicU64,
}

impl std::fmt::Debug for ServerStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerStats")
            .field("open_connections", &self.open_connections())
            .field("accepted", &self.accepted())
            .field("refused", &self.refused())
            .field("accept_errors", &self.accept_errors())
            .field("connection_cap", &self.connection_cap())
            .field("open_files_limit", &self.open_files_limit())
            .finish()
    }
}

impl ServerStats {
    /// Connections served right now, upgraded ones (WebSockets) included: each holds a
    /// place under [`ServerConfig::max_connections`](crate::server::ServerConfig) until it
    /// closes.
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.open_connections(), 0);
    /// ```
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Connections accepted and served since start (those refused over the cap are not
    /// counted here).
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.accepted(), 0);
    /// ```
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Connections refused because the connection cap was reached: answered 503 (or, past
    /// 64 refusals at once, closed without an answer).
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.refused(), 0);
    /// ```
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Failed `accept` calls that were the server's trouble, not a client's: out of file
    /// descriptors (`EMFILE`, `ENFILE`), out of buffers. Each is followed by a backoff; the
    /// log has one line a second at most, this counts them all.
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.accept_errors(), 0);
    /// ```
    pub fn accept_errors(&self) -> u64 {
        self.inner.accept_errors.load(Ordering::Relaxed)
    }

    /// The connection cap in force once serving: the configured
    /// [`max_connections`](crate::server::ServerConfig::max_connections), lowered to fit
    /// the limit on open files. `None` before `serve()` starts.
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.connection_cap(), None);
    /// ```
    pub fn connection_cap(&self) -> Option<usize> {
        Some(self.inner.cap.load(Ordering::Relaxed)).filter(|cap| *cap > 0)
    }

    /// The process's soft limit on open files once serving, after `serve()` raised it;
    /// `None` before, or where there is no such limit.
    ///
    /// ```
    /// # let stats = flame_core::Flame::new().server_stats();
    /// assert_eq!(stats.open_files_limit(), None);
    /// ```
    pub fn open_files_limit(&self) -> Option<u64> {
        Some(self.inner.open_files_limit.load(Ordering::Relaxed)).filter(|limit| *limit > 0)
    }

    pub(crate) fn started(&self, cap: usize, open_files_limit: Option<u64>) {
        self.inner.cap.store(cap.max(1), Ordering::Relaxed);
        self.inner
            .open_files_limit
            .store(open_files_limit.unwrap_or(0), Ordering::Relaxed);
    }

    /// Counts a connection accepted; it stays open until the guard drops.
    pub(crate) fn open(&self) -> OpenConnection {
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
        self.inner.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.inner.clone())
    }

    pub(crate) fn refused_one(&self) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn accept_failed(&self) {
        self.inner.accept_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// One connection counted in [`ServerStats::open_connections`] until dropped.
pub(crate) struct OpenConnection(Arc<Counters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_connections_count_until_their_guard_drops() {
        let stats = ServerStats::default();
        let a = stats.open();
        let b = stats.clone().open();
        assert_eq!(stats.open_connections(), 2);
        drop(a);
        assert_eq!(stats.open_connections(), 1);
        drop(b);
        assert_eq!(stats.open_connections(), 0);
        assert_eq!(stats.accepted(), 2);
    }

    #[test]
    fn the_cap_and_file_limit_are_known_once_started() {
        let stats = ServerStats::default();
        assert_eq!(stats.connection_cap(), None);
        stats.started(1, Some(u64::MAX));
        assert_eq!(stats.connection_cap(), Some(1));
        assert_eq!(stats.open_files_limit(), Some(u64::MAX));
        stats.started(922, None);
        assert_eq!(stats.connection_cap(), Some(922));
        assert_eq!(stats.open_files_limit(), None);
    }
}
