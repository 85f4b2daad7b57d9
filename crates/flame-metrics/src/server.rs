//! The metrics of flame's accept loop, read at scrape time from its [`ServerStats`].

use flame_core::server::ServerStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::Metrics;
use crate::collect::{counter, gauge};

#[derive(Debug)]
struct ServerCollector {
    stats: ServerStats,
}

impl Collector for ServerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let stats = &self.stats;
        gauge(
            e,
            "flame_http_connections_open",
            "Connections served right now, WebSockets included",
            stats.open_connections(),
        )?;
        counter(
            e,
            "flame_http_connections_accepted",
            "Connections accepted and served",
            stats.accepted(),
        )?;
        counter(
            e,
            "flame_http_connections_refused",
            "Connections refused because the connection cap was reached",
            stats.refused(),
        )?;
        counter(
            e,
            "flame_http_accept_errors",
            "Failed accepts that were the server's trouble (out of file descriptors, buffers)",
            stats.accept_errors(),
        )?;
        if let Some(cap) = stats.connection_cap() {
            gauge(
                e,
                "flame_http_connection_cap",
                "The most connections served at once, after fitting the open files limit",
                cap,
            )?;
        }
        if let Some(limit) = stats.open_files_limit() {
            gauge(
                e,
                "flame_process_open_files_limit",
                "The soft limit on open files in force (RLIMIT_NOFILE)",
                usize::try_from(limit).unwrap_or(usize::MAX),
            )?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Adds the metrics of the server that serves the app, read from its
    /// [`Flame::server_stats`](flame_core::Flame::server_stats) at every scrape:
    /// `flame_http_connections_open`, `flame_http_connections_accepted_total`,
    /// `flame_http_connections_refused_total`, `flame_http_accept_errors_total`, and once
    /// serving `flame_http_connection_cap` and `flame_process_open_files_limit`. Nothing is
    /// counted per request: the accept loop keeps these counters anyway.
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// let mut f = flame_core::Flame::new();
    /// metrics.register_server(&f.server_stats());
    /// f.get("/metrics", metrics.handler());
    /// assert!(metrics.render().contains("flame_http_accept_errors_total 0"));
    /// ```
    pub fn register_server(&self, stats: &ServerStats) {
        let collector = ServerCollector {
            stats: stats.clone(),
        };
        self.register(|registry| registry.register_collector(Box::new(collector)));
    }
}
