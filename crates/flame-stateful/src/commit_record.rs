//! The committer's recent transactions: a bounded ring of [`CommitRecord`]s, one per store
//! transaction, for [`ActorSystem::recent_commits`](crate::ActorSystem::recent_commits) and
//! the inspector.
//!
//! The committer records once per transaction, never per write, and reuses the oldest
//! record's buffers once the ring is full: past its first [`RECENT_COMMITS`] transactions it
//! allocates only where a record outgrows the one it replaces (a longer actor name, more
//! names, up to [`COMMIT_RECORD_ACTORS`]) and for an error's text.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::store::{ActorWrite, StoreError};

/// How many store transactions [`ActorSystem::recent_commits`](crate::ActorSystem::recent_commits)
/// remembers; older ones are forgotten.
pub const RECENT_COMMITS: usize = 64;

/// How many actors one [`CommitRecord`] names; the others of a larger transaction are only
/// counted, in [`CommitRecord::more_actors`].
pub const COMMIT_RECORD_ACTORS: usize = 16;

/// One store transaction of the group committer, as
/// [`ActorSystem::recent_commits`](crate::ActorSystem::recent_commits) lists it.
///
/// ```
/// # use std::sync::Arc;
/// # use flame_stateful::{actions, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
/// # use flame_stateful::store::MemoryStore;
/// # #[derive(Default)] struct Counter;
/// # impl StatefulActor for Counter {
/// #     type State = i64; type ConnParams = (); type ConnState = ();
/// #     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
/// # }
/// # #[actions] impl Counter {
/// #     async fn increment(&self, rpc: &mut Rpc<Self>) -> i64 { *rpc.state_mut() += 1; *rpc.state() }
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder()
///     .store(MemoryStore::new())
///     .register_default::<Counter>("counter")
///     .build()
///     .await?;
/// let caller = Arc::new(flame_actor::BackendActor::new("ops"));
/// system.call("counter", "a", "increment", vec![], caller).await?;
///
/// let last = &system.recent_commits()[0]; // newest first
/// assert!(last.is_ok());
/// assert_eq!(last.writes, 1);
/// assert_eq!(last.actors, ["counter/a"]);
/// assert_eq!(last.more_actors, 0);
/// system.shutdown().await;
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CommitRecord {
    /// When the transaction started, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The actor writes it carried.
    pub writes: usize,
    /// The actors written, as `name/key`: the first [`COMMIT_RECORD_ACTORS`] of them.
    pub actors: Vec<String>,
    /// How many more actors it wrote than `actors` names.
    pub more_actors: usize,
    /// How long the store took.
    pub duration: Duration,
    /// `None` when its writers were told "done"; otherwise why not: the store's error, a
    /// fenced write (cluster mode), or a lease that ran out before it completed.
    pub error: Option<String>,
}

impl CommitRecord {
    /// Whether its writers were told "done".
    ///
    /// ```
    /// let record = flame_stateful::CommitRecord::default();
    /// assert!(record.is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The ring: newest at the front, at most `capacity` records.
#[derive(Debug)]
pub(crate) struct RecentCommits {
    capacity: usize,
    records: Mutex<VecDeque<CommitRecord>>,
}

impl Default for RecentCommits {
    fn default() -> Self {
        Self::with_capacity(RECENT_COMMITS)
    }
}

impl RecentCommits {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            records: Mutex::new(VecDeque::with_capacity(capacity.max(1))),
        }
    }

    /// A record of a transaction about to carry `writes`, starting now: the oldest record's
    /// buffers when the ring is full. Hand it back with [`RecentCommits::finish`].
    pub(crate) fn start(&self, writes: &[ActorWrite]) -> CommitRecord {
        let reused = {
            let mut records = self.records.lock();
            if records.len() >= self.capacity {
                records.pop_back()
            } else {
                None
            }
        };
        let mut record = reused.unwrap_or_default();
        record.at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        record.writes = writes.len();
        let named = writes.len().min(COMMIT_RECORD_ACTORS);
        record.actors.truncate(named);
        for (i, write) in writes.iter().take(named).enumerate() {
            match record.actors.get_mut(i) {
                Some(name) => {
                    name.clear();
                    let _ = write!(name, "{}", write.actor);
                }
                None => record.actors.push(write.actor.to_string()),
            }
        }
        record.more_actors = writes.len() - named;
        record.duration = Duration::ZERO;
        record.error = None;
        record
    }

    /// Completes `record` with how long the store took and what the writers were told, and
    /// puts it at the front.
    pub(crate) fn finish(
        &self,
        mut record: CommitRecord,
        took: Duration,
        error: Option<&StoreError>,
    ) {
        record.duration = took;
        record.error = error.map(ToString::to_string);
        let mut records = self.records.lock();
        while records.len() >= self.capacity {
            records.pop_back();
        }
        records.push_front(record);
    }

    /// The records, newest first.
    pub(crate) fn snapshot(&self) -> Vec<CommitRecord> {
        self.records.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ActorId;

    fn writes(keys: std::ops::Range<usize>) -> Vec<ActorWrite> {
        keys.map(|k| ActorWrite::new(ActorId::new("counter", k.to_string())))
            .collect()
    }

    #[test]
    fn the_ring_keeps_the_newest_records_up_to_its_capacity() {
        let ring = RecentCommits::with_capacity(4);
        for i in 0..10 {
            let record = ring.start(&writes(i..i + 1));
            ring.finish(record, Duration::from_millis(1), None);
        }
        let records = ring.snapshot();
        assert_eq!(records.len(), 4);
        let names: Vec<&str> = records.iter().map(|r| r.actors[0].as_str()).collect();
        assert_eq!(names, ["counter/9", "counter/8", "counter/7", "counter/6"]);
    }

    #[test]
    fn the_default_ring_holds_recent_commits_records() {
        let ring = RecentCommits::default();
        for i in 0..RECENT_COMMITS + 5 {
            let record = ring.start(&writes(i..i + 1));
            ring.finish(record, Duration::ZERO, None);
        }
        assert_eq!(ring.snapshot().len(), RECENT_COMMITS);
    }

    #[test]
    fn a_record_names_at_most_sixteen_actors_and_counts_the_rest() {
        let ring = RecentCommits::with_capacity(2);
        let record = ring.start(&writes(0..40));
        ring.finish(record, Duration::ZERO, None);
        let record = &ring.snapshot()[0];
        assert_eq!(record.writes, 40);
        assert_eq!(record.actors.len(), COMMIT_RECORD_ACTORS);
        assert_eq!(record.more_actors, 40 - COMMIT_RECORD_ACTORS);
    }

    #[test]
    fn a_reused_record_carries_nothing_of_the_one_it_replaces() {
        let ring = RecentCommits::with_capacity(1);
        let record = ring.start(&writes(0..20));
        ring.finish(
            record,
            Duration::from_secs(1),
            Some(&StoreError::backend(std::io::Error::other("disk full"))),
        );
        let record = ring.start(&writes(100..101));
        ring.finish(record, Duration::from_millis(2), None);
        let records = ring.snapshot();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].actors, ["counter/100"]);
        assert_eq!(records[0].writes, 1);
        assert_eq!(records[0].more_actors, 0);
        assert_eq!(records[0].duration, Duration::from_millis(2));
        assert!(records[0].is_ok());
    }

    #[test]
    fn a_failed_transaction_is_recorded_with_its_error() {
        let ring = RecentCommits::with_capacity(4);
        let record = ring.start(&writes(0..2));
        ring.finish(
            record,
            Duration::ZERO,
            Some(&StoreError::backend(std::io::Error::other("disk full"))),
        );
        let record = &ring.snapshot()[0];
        assert!(!record.is_ok());
        assert!(
            record
                .error
                .as_deref()
                .is_some_and(|e| e.contains("disk full"))
        );
        assert!(record.at_unix_ms > 0);
    }
}
