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

use crate::store::{ActorStore, ActorWrite, StoreError};

/// One actor's write and whom to tell once it is durable.
#[derive(Debug)]
pub(crate) struct CommitRequest {
    pub(crate) write: ActorWrite,
    pub(crate) ack: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Debug)]
pub(crate) enum CommitMsg {
    Write(CommitRequest),
    Shutdown(oneshot::Sender<()>),
}

/// Counters of the committer, to see group commit at work.
///
/// ```
/// use flame_stateful::CommitStats;
/// let stats = CommitStats { transactions: 2, writes: 10 };
/// assert_eq!(stats.writes_per_transaction(), 5.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Store transactions (each one `ActorStore::commit` call).
    pub transactions: u64,
    /// Actor writes carried by those transactions.
    pub writes: u64,
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

#[derive(Debug, Default)]
pub(crate) struct Counters {
    transactions: AtomicU64,
    writes: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CommitStats {
        CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

pub(crate) async fn run_committer(
    store: Arc<dyn ActorStore>,
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
        let (writes, acks): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.write, r.ack)).unzip();
        let n = writes.len() as u64;
        let result = store.commit(writes).await;
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters.writes.fetch_add(n, Ordering::Relaxed);
        match &result {
            Ok(()) => tracing::trace!(writes = n, "committed"),
            Err(e) => tracing::error!(writes = n, error = %e, "a group commit failed"),
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
    drop(store);
    tracing::debug!("the committer stopped");
    if let Some(done) = shutdown {
        let _ = done.send(());
    }
}
