//! Group commit: one committer task gathers the pending writes of many actors into one
//! store transaction, then acknowledges each writer once that transaction is durable.
//!
//! An instance has at most one write in flight; whatever it changes meanwhile is staged and
//! sent as one write when the previous one is acknowledged. So a busy actor groups its own
//! changes, and a busy system groups the changes of many actors: while one transaction is
//! being fsync'ed, the next one fills up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::cluster::Directory;
use crate::commit_record::RecentCommits;
use crate::store::{ActorStore, ActorWrite, StoreError};

/// One actor's write and whom to tell once it is durable.
#[derive(Debug)]
pub(crate) struct CommitRequest {
    pub(crate) write: ActorWrite,
    /// Cluster mode: the epoch of the activation that wrote it (`None`: written without
    /// ownership, which cluster mode refuses).
    pub(crate) epoch: Option<u64>,
    pub(crate) ack: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Debug)]
pub(crate) enum CommitMsg {
    Write(CommitRequest),
    Shutdown(oneshot::Sender<()>),
}

/// The upper bounds, in seconds, of the buckets of [`CommitStats::latency`]; a last bucket
/// holds everything slower.
pub const COMMIT_LATENCY_BOUNDS: [f64; 12] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The upper bounds of the buckets of [`CommitStats::batch_sizes`] (writes per store
/// transaction); a last bucket holds every larger batch.
pub const COMMIT_BATCH_BOUNDS: [f64; 10] =
    [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Counters of the committer, to see group commit at work.
///
/// ```
/// use flame_stateful::CommitStats;
/// let stats = CommitStats { transactions: 2, writes: 10, ..CommitStats::default() };
/// assert_eq!(stats.writes_per_transaction(), 5.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitStats {
    /// Store transactions (each one `ActorStore::commit` call).
    pub transactions: u64,
    /// Actor writes carried by those transactions.
    pub writes: u64,
    /// Transactions the store refused or failed (their writers got an error).
    pub failures: u64,
    /// How long the store took per transaction: a count per bucket of
    /// [`COMMIT_LATENCY_BOUNDS`], plus one for everything slower (empty before any commit).
    pub latency: Vec<u64>,
    /// The sum of those durations, in seconds.
    pub latency_sum_seconds: f64,
    /// Writes per transaction: a count per bucket of [`COMMIT_BATCH_BOUNDS`], plus one for
    /// larger batches (empty before any commit).
    pub batch_sizes: Vec<u64>,
}

impl CommitStats {
    /// The average group size.
    pub fn writes_per_transaction(&self) -> f64 {
        if self.transactions == 0 {
            0.0
        } else {
            self.writes as f64 / self.transactions as f64
        }
    }
}

/// A histogram of atomics: cheap enough for the committer, which records once per
/// transaction, not per write.
#[derive(Debug)]
struct Buckets<const N: usize> {
    bounds: &'static [f64],
    counts: [AtomicU64; N],
}

impl<const N: usize> Buckets<N> {
    fn new(bounds: &'static [f64]) -> Self {
        debug_assert_eq!(bounds.len() + 1, N);
        Self {
            bounds,
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn record(&self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct Counters {
    transactions: AtomicU64,
    writes: AtomicU64,
    failures: AtomicU64,
    latency_sum_nanos: AtomicU64,
    latency: Buckets<13>,
    batch_sizes: Buckets<11>,
    pub(crate) alarms_fired: AtomicU64,
    /// The last transactions, for `ActorSystem::recent_commits`.
    pub(crate) recent: RecentCommits,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            transactions: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            latency_sum_nanos: AtomicU64::new(0),
            latency: Buckets::new(&COMMIT_LATENCY_BOUNDS),
            batch_sizes: Buckets::new(&COMMIT_BATCH_BOUNDS),
            alarms_fired: AtomicU64::new(0),
            recent: RecentCommits::default(),
        }
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CommitStats {
        CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            latency: self.latency.snapshot(),
            latency_sum_seconds: self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            batch_sizes: self.batch_sizes.snapshot(),
        }
    }

    fn record(&self, writes: u64, took: Duration, failed: bool) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.latency.record(took.as_secs_f64());
        self.batch_sizes.record(writes as f64);
    }
}

pub(crate) async fn run_committer(
    store: Arc<dyn ActorStore>,
    directory: Option<Arc<dyn Directory>>,
    mut rx: mpsc::UnboundedReceiver<CommitMsg>,
    window: Duration,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut shutdown = None;
    while shutdown.is_none() {
        let first = match rx.recv().await {
            Some(CommitMsg::Write(request)) => request,
            Some(CommitMsg::Shutdown(done)) => {
                shutdown = Some(done);
                break;
            }
            None => break,
        };
        if !window.is_zero() {
            tokio::time::sleep(window).await;
        }
        let mut batch = vec![first];
        while batch.len() < max_batch.max(1) {
            match rx.try_recv() {
                Ok(CommitMsg::Write(request)) => batch.push(request),
                Ok(CommitMsg::Shutdown(done)) => {
                    shutdown = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        match &directory {
            None => commit_plain(&*store, batch, &counters).await,
            Some(directory) => commit_fenced(&**directory, batch, &counters).await,
        }
    }
    drop(store);
    tracing::debug!("the committer stopped");
    if let Some(done) = shutdown {
        let _ = done.send(());
    }
}

/// One store transaction for the whole batch; every writer gets its outcome.
async fn commit_plain(store: &dyn ActorStore, batch: Vec<CommitRequest>, counters: &Counters) {
    let (writes, acks): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.write, r.ack)).unzip();
    let n = writes.len() as u64;
    let record = counters.recent.start(&writes);
    let started = std::time::Instant::now();
    let result = store.commit(writes).await;
    let took = started.elapsed();
    counters.record(n, took, result.is_err());
    counters.recent.finish(record, took, result.as_ref().err());
    match &result {
        Ok(()) => tracing::trace!(writes = n, "committed"),
        Err(e) => tracing::error!(writes = n, error = %e, "a group commit failed"),
    }
    for ack in acks {
        let _ = ack.send(result.clone());
    }
}

/// Cluster mode: one fenced transaction for the batch. A fenced actor's writes are taken
/// out (and answered `Fenced`) and the rest is tried again, so one actor that moved away
/// does not fail the others. A commit is acknowledged only if the node may still vouch for
/// its lease once it completed.
async fn commit_fenced(directory: &dyn Directory, batch: Vec<CommitRequest>, counters: &Counters) {
    let mut writes = Vec::with_capacity(batch.len());
    let mut epochs = Vec::with_capacity(batch.len());
    let mut acks = Vec::with_capacity(batch.len());
    for request in batch {
        match request.epoch {
            Some(epoch) => {
                writes.push(request.write);
                epochs.push(epoch);
                acks.push(request.ack);
            }
            None => {
                // cluster mode writes nothing that no activation owns
                let _ = request.ack.send(Err(StoreError::Fenced {
                    actor: request.write.actor.to_string(),
                }));
            }
        }
    }
    while !writes.is_empty() {
        let n = writes.len() as u64;
        let record = counters.recent.start(&writes);
        let started = std::time::Instant::now();
        let result = directory.commit(&writes, &epochs).await;
        let took = started.elapsed();
        // A fenced write is a refusal, not a failure of the store.
        let failed = !matches!(result, Ok(()) | Err(StoreError::Fenced { .. }));
        counters.record(n, took, failed);
        match result {
            Ok(()) => {
                let acknowledged = directory.may_acknowledge();
                let told = (!acknowledged).then_some(StoreError::LeaseLost);
                counters.recent.finish(record, took, told.as_ref());
                let result = if acknowledged {
                    tracing::trace!(writes = n, "committed");
                    Ok(())
                } else {
                    // committed, but the node cannot vouch for its lease any more: no
                    // caller hears "done" from a node others may already consider dead
                    tracing::warn!(
                        writes = n,
                        "committed after the lease ran out; not acknowledged"
                    );
                    Err(StoreError::LeaseLost)
                };
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
                return;
            }
            Err(StoreError::Fenced { actor }) => {
                counters.recent.finish(
                    record,
                    took,
                    Some(&StoreError::Fenced {
                        actor: actor.clone(),
                    }),
                );
                tracing::info!(actor, "a write was fenced: another node owns the actor");
                let mut i = 0;
                while i < writes.len() {
                    if writes[i].actor.to_string() == actor {
                        writes.swap_remove(i);
                        epochs.swap_remove(i);
                        let ack = acks.swap_remove(i);
                        let _ = ack.send(Err(StoreError::Fenced {
                            actor: actor.clone(),
                        }));
                    } else {
                        i += 1;
                    }
                }
            }
            Err(e) => {
                counters.recent.finish(record, took, Some(&e));
                tracing::error!(writes = n, error = %e, "a group commit failed");
                for ack in acks {
                    let _ = ack.send(Err(e.clone()));
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Placement;
    use crate::store::{ActorId, Alarm};
    use futures_util::future::BoxFuture;
    use parking_lot::Mutex;
    use std::sync::atomic::AtomicBool;
    use tokio::sync::watch;

    /// A directory over a map of current epochs, to drive the committer's fencing rules.
    #[derive(Debug)]
    struct Epochs {
        current: Mutex<std::collections::HashMap<String, u64>>,
        lease: AtomicBool,
        committed: Mutex<Vec<String>>,
        losses: watch::Sender<u64>,
    }

    impl Directory for Epochs {
        fn node_id(&self) -> &str {
            "n1"
        }
        fn activate<'a>(&'a self, _: &'a ActorId) -> BoxFuture<'a, Result<Placement, StoreError>> {
            Box::pin(async { Ok(Placement::Here { epoch: 1 }) })
        }
        fn commit<'a>(
            &'a self,
            writes: &'a [ActorWrite],
            epochs: &'a [u64],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let current = self.current.lock();
                for (w, e) in writes.iter().zip(epochs) {
                    if current.get(&w.actor.to_string()) != Some(e) {
                        return Err(StoreError::Fenced {
                            actor: w.actor.to_string(),
                        });
                    }
                }
                self.committed
                    .lock()
                    .extend(writes.iter().map(|w| w.actor.to_string()));
                Ok(())
            })
        }
        fn may_acknowledge(&self) -> bool {
            self.lease.load(Ordering::SeqCst)
        }
        fn lease_losses(&self) -> watch::Receiver<u64> {
            self.losses.subscribe()
        }
        fn alarms_of<'a>(
            &'a self,
            _: &'a ActorId,
        ) -> BoxFuture<'a, Result<Vec<Alarm>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn orphaned_alarms(&self) -> BoxFuture<'_, Result<Vec<ActorId>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn leave(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
    }

    fn request(
        key: &str,
        epoch: Option<u64>,
    ) -> (CommitRequest, oneshot::Receiver<Result<(), StoreError>>) {
        let (ack, rx) = oneshot::channel();
        let write = ActorWrite::new(ActorId::new("counter", key));
        (CommitRequest { write, epoch, ack }, rx)
    }

    fn directory(lease: bool) -> Epochs {
        Epochs {
            current: Mutex::new(
                [("counter/a".to_owned(), 2), ("counter/b".to_owned(), 1)]
                    .into_iter()
                    .collect(),
            ),
            lease: AtomicBool::new(lease),
            committed: Mutex::new(Vec::new()),
            losses: watch::channel(0).0,
        }
    }

    #[tokio::test]
    async fn a_fenced_write_is_refused_alone_and_the_others_commit() {
        let dir = directory(true);
        let (a_old, a_rx) = request("a", Some(1));
        let (b, b_rx) = request("b", Some(1));
        let (c, c_rx) = request("c", None);
        let counters = Counters::default();
        commit_fenced(&dir, vec![a_old, b, c], &counters).await;
        assert!(matches!(
            a_rx.await.unwrap(),
            Err(StoreError::Fenced { .. })
        ));
        assert!(b_rx.await.unwrap().is_ok());
        assert!(matches!(
            c_rx.await.unwrap(),
            Err(StoreError::Fenced { .. })
        ));
        assert_eq!(*dir.committed.lock(), vec!["counter/b".to_owned()]);
        // two transactions: the fenced attempt, then the one without it (newest first)
        let recent = counters.recent.snapshot();
        assert_eq!(recent.len(), 2);
        assert!(recent[0].is_ok());
        assert_eq!(recent[0].actors, ["counter/b"]);
        assert_eq!(recent[1].writes, 2);
        assert!(
            recent[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("counter/a") && e.contains("fenced"))
        );
    }

    /// A store whose every commit fails.
    #[derive(Debug)]
    struct Broken;

    impl ActorStore for Broken {
        fn load<'a>(
            &'a self,
            _: &'a ActorId,
        ) -> BoxFuture<'a, Result<crate::store::StoredActor, StoreError>> {
            Box::pin(async { Ok(crate::store::StoredActor::default()) })
        }
        fn commit(&self, _: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { Err(StoreError::backend(std::io::Error::other("disk full"))) })
        }
        fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn kv_get<'a>(
            &'a self,
            _: &'a ActorId,
            _: &'a [u8],
        ) -> BoxFuture<'a, Result<Option<Arc<[u8]>>, StoreError>> {
            Box::pin(async { Ok(None) })
        }
        fn kv_scan<'a>(
            &'a self,
            _: &'a ActorId,
            _: &'a crate::store::KvScan,
        ) -> BoxFuture<'a, Result<Vec<crate::store::KvEntry>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    #[tokio::test]
    async fn a_failed_group_commit_is_recorded_with_the_stores_error() {
        let counters = Counters::default();
        let (a, a_rx) = request("a", None);
        let (b, _b_rx) = request("b", None);
        commit_plain(&Broken, vec![a, b], &counters).await;
        assert!(a_rx.await.unwrap().is_err());
        let recent = counters.recent.snapshot();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].writes, 2);
        assert_eq!(recent[0].actors, ["counter/a", "counter/b"]);
        assert_eq!(
            recent[0].error.as_deref(),
            Some("store backend error: disk full")
        );
        assert_eq!(counters.snapshot().failures, 1);
    }

    #[tokio::test]
    async fn a_commit_after_the_lease_ran_out_is_not_acknowledged() {
        let dir = directory(false);
        let (a, a_rx) = request("a", Some(2));
        commit_fenced(&dir, vec![a], &Counters::default()).await;
        assert!(matches!(a_rx.await.unwrap(), Err(StoreError::LeaseLost)));
    }
}
