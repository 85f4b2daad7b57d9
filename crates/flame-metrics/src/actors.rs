//! The metrics of a stateful `ActorSystem`, read at scrape time.
//!
//! The runtime keeps atomic counters anyway (for [`ActorSystem::commit_stats`]); this
//! collector only reads them when Prometheus scrapes, so flame-stateful depends on no metrics
//! crate and pays nothing more per commit.

use flame_stateful::transport::TransportHandle;
use flame_stateful::{ActorSystem, COMMIT_BATCH_BOUNDS, COMMIT_LATENCY_BOUNDS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::Metrics;
use crate::collect::{counter, gauge, histogram};

#[derive(Debug)]
struct ActorCollector {
    system: ActorSystem,
    transport: Option<TransportHandle>,
}

impl Collector for ActorCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        gauge(
            e,
            "flame_actors_loaded",
            "Stateful actor instances in memory (hibernating ones not counted)",
            self.system.loaded_count(),
        )?;
        gauge(
            e,
            "flame_actors_hibernating",
            "Stateful actor instances out of memory while their connections stay open",
            self.system.hibernating_count(),
        )?;
        gauge(
            e,
            "flame_actor_mailbox_depth",
            "Messages waiting in the mailboxes of all loaded actors",
            self.system.mailbox_depth(),
        )?;
        if let Some(transport) = &self.transport {
            gauge(
                e,
                "flame_actor_connections_open",
                "WebSocket connections to stateful actors open right now",
                transport.open_connections(),
            )?;
        }
        let stats = self.system.commit_stats();
        counter(
            e,
            "flame_actor_commits",
            "Store transactions of the group committer",
            stats.transactions,
        )?;
        counter(
            e,
            "flame_actor_commit_writes",
            "Actor writes carried by those transactions",
            stats.writes,
        )?;
        counter(
            e,
            "flame_actor_commit_failures",
            "Store transactions that failed (their writers got an error)",
            stats.failures,
        )?;
        histogram(
            e,
            "flame_actor_commit_duration_seconds",
            "How long the store took per transaction",
            &COMMIT_LATENCY_BOUNDS,
            &stats.latency,
            stats.latency_sum_seconds,
        )?;
        histogram(
            e,
            "flame_actor_commit_batch_size",
            "Actor writes per store transaction",
            &COMMIT_BATCH_BOUNDS,
            &stats.batch_sizes,
            stats.writes as f64,
        )?;
        counter(
            e,
            "flame_actor_alarms_fired",
            "Alarms delivered and handled by their actor",
            self.system.alarms_fired(),
        )?;
        Ok(())
    }
}

impl Metrics {
    /// Adds the metrics of a stateful actor system (and of its WebSocket transport, when
    /// given) to this registry, read at every scrape:
    /// `flame_actors_loaded`, `flame_actors_hibernating`, `flame_actor_mailbox_depth`,
    /// `flame_actor_connections_open`, `flame_actor_commits_total`,
    /// `flame_actor_commit_writes_total`, `flame_actor_commit_failures_total`,
    /// `flame_actor_commit_duration_seconds`, `flame_actor_commit_batch_size`,
    /// `flame_actor_alarms_fired_total`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = flame_stateful::ActorSystem::builder()
    ///     .store(flame_stateful::store::MemoryStore::new())
    ///     .build()
    ///     .await?;
    /// let metrics = flame_metrics::Metrics::new();
    /// metrics.register_actors(&system, None);
    /// assert!(metrics.render().contains("flame_actors_loaded 0"));
    /// system.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn register_actors(&self, system: &ActorSystem, transport: Option<&TransportHandle>) {
        let collector = ActorCollector {
            system: system.clone(),
            transport: transport.cloned(),
        };
        self.register(|registry| registry.register_collector(Box::new(collector)));
    }
}
