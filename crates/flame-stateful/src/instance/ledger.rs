//! The commit ledger: the one place that decides what an instance may release, and when.
//!
//! An instance changes its state (and its alarms) while it handles messages; each change is
//! *staged*. Staged changes go to the store as one write when no other write of this
//! instance is *in flight*. Everything the instance wants to tell the world (a reply, an
//! event, a connection's `init`) is a *release* tagged with the version of the changes it
//! follows, and leaves only once that version is committed, in the order it was made. So
//! nobody hears of a change that could still be lost.
//!
//! The ledger also keeps the *snapshot*, the state as last serialized (what the store has or
//! is about to have): a change that must be undone goes back to it. It holds no tasks, no
//! channels and no clock, so every rule here is tested on its own (see the tests below).
//!
//! Two more rules live here:
//!
//! - **Back-pressure.** While a write is in flight the ledger takes more changes only up to
//!   `max_batch` messages and `max_pending_bytes` (the staged snapshot plus what waits in
//!   the outbox); past that the instance stops reading its mailbox until the write is
//!   acknowledged, so a slow disk slows the callers down instead of filling memory.
//! - **Provisional actors.** A new actor (never committed) is provisional until a call or a
//!   connection is accepted: its changes are staged but never written, and what it releases
//!   goes out at once (no client has seen anything that could be lost). Refused requests
//!   therefore leave nothing in the store.

use std::collections::VecDeque;

use crate::store::{ActorId, ActorWrite, Alarm, KvOp};

/// The limits of what may wait for a write in flight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LedgerLimits {
    /// The most messages whose changes are staged behind a write in flight.
    pub(crate) max_batch: usize,
    /// The most bytes (the staged snapshot and the releases in the outbox) that wait for a
    /// write in flight.
    pub(crate) max_pending_bytes: usize,
}

/// What the next write carries.
#[derive(Debug, Default)]
struct Staged {
    /// The write carries the snapshot.
    state: bool,
    put_alarms: Vec<Alarm>,
    delete_alarms: Vec<u64>,
    kv: Vec<KvOp>,
    kv_bytes: usize,
    /// How many messages changed something in this write.
    messages: usize,
}

/// A release waiting for its version to be committed.
#[derive(Debug)]
struct Pending<R> {
    version: u64,
    bytes: usize,
    release: R,
}

/// The write the store is working on.
#[derive(Debug)]
struct InFlight {
    version: u64,
    /// Alarms it adds: the scheduler hears of them once they are durable.
    put_alarms: Vec<Alarm>,
}

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct CommitLedger<R> {
    id: ActorId,
    limits: LedgerLimits,
    /// The latest serialized state: committed, in flight, or staged.
    snapshot: Vec<u8>,
    /// Where the next snapshot is serialized before it replaces `snapshot` (the two swap,
    /// so a change allocates nothing once both have grown to the state's size).
    scratch: Vec<u8>,
    /// Bumped whenever a change is staged.
    version: u64,
    /// Every version up to this one is durable.
    committed: u64,
    staged: Option<Staged>,
    in_flight: Option<InFlight>,
    outbox: VecDeque<Pending<R>>,
    outbox_bytes: usize,
    provisional: bool,
}

/// A scratch buffer bigger than this is not kept for the next change: the state is big,
/// and keeping it would double what an idle actor holds.
const MAX_KEPT_SCRATCH: usize = 16 * 1024;

impl<R> CommitLedger<R> {
    /// A ledger for an actor whose state serialized is `snapshot`; `provisional` when that
    /// state was never committed.
    pub(crate) fn new(
        id: ActorId,
        snapshot: Vec<u8>,
        provisional: bool,
        limits: LedgerLimits,
    ) -> Self {
        let mut ledger = Self {
            id,
            limits,
            snapshot,
            scratch: Vec::new(),
            version: 0,
            committed: 0,
            staged: None,
            in_flight: None,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            provisional,
        };
        if provisional {
            // the initial state is written with the first accepted request's changes
            ledger.staged_mut().state = true;
            ledger.version += 1;
        }
        ledger
    }

    /// The state as last serialized: what a change that must be undone goes back to.
    pub(crate) fn snapshot(&self) -> &[u8] {
        &self.snapshot
    }

    /// The actor's first write failed and the store holds nothing of it: it starts over as
    /// a new, provisional actor whose initial state is `snapshot`.
    pub(crate) fn restart_provisional(&mut self, snapshot: Vec<u8>) {
        debug_assert!(
            self.is_settled(),
            "called after a failed write, with nothing pending"
        );
        self.snapshot = snapshot;
        self.provisional = true;
        self.staged_mut().state = true;
        self.version += 1;
    }

    /// Replaces the snapshot with what the store holds (after a failed write), with nothing
    /// staged.
    pub(crate) fn reset_snapshot(&mut self, stored: Vec<u8>) {
        self.snapshot = stored;
    }

    fn staged_mut(&mut self) -> &mut Staged {
        self.staged.get_or_insert_with(Staged::default)
    }

    /// Serializes the new state with `serialize` and stages it. On an error nothing
    /// changes: the snapshot stays the last good one.
    pub(crate) fn stage_state<E>(
        &mut self,
        serialize: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.scratch.clear();
        serialize(&mut self.scratch)?;
        std::mem::swap(&mut self.snapshot, &mut self.scratch);
        if self.scratch.capacity() > MAX_KEPT_SCRATCH {
            self.scratch = Vec::new();
        }
        self.staged_mut().state = true;
        self.version += 1;
        Ok(())
    }

    /// Stages new alarms.
    pub(crate) fn stage_alarms(&mut self, alarms: Vec<Alarm>) {
        if alarms.is_empty() {
            return;
        }
        self.staged_mut().put_alarms.extend(alarms);
        self.version += 1;
    }

    /// The version the next staged change gets.
    pub(crate) fn next_version(&self) -> u64 {
        self.version + 1
    }

    /// Stages writes of the key-value space (as version [`next_version`](Self::next_version)).
    pub(crate) fn stage_kv(&mut self, ops: Vec<KvOp>) {
        if ops.is_empty() {
            return;
        }
        let staged = self.staged_mut();
        staged.kv_bytes += ops
            .iter()
            .map(|op| op.key.len() + op.value.as_ref().map_or(0, |v| v.len()))
            .sum::<usize>();
        staged.kv.extend(ops);
        self.version += 1;
    }

    /// Every version up to this one is durable.
    pub(crate) fn committed_version(&self) -> u64 {
        self.committed
    }

    /// Stages the deletion of a delivered alarm.
    pub(crate) fn stage_alarm_done(&mut self, id: u64) {
        self.staged_mut().delete_alarms.push(id);
        self.version += 1;
    }

    /// Counts one handled message towards `max_batch`, if it staged anything.
    pub(crate) fn end_message(&mut self) {
        if let Some(staged) = &mut self.staged {
            staged.messages += 1;
        }
    }

    /// A call or a connection was accepted: from now on the actor's changes are written and
    /// its releases wait for them.
    pub(crate) fn accept(&mut self) {
        self.provisional = false;
    }

    /// Whether nothing was ever accepted (and nothing written).
    pub(crate) fn is_provisional(&self) -> bool {
        self.provisional
    }

    /// `release` now (`Some`), or once everything staged so far is committed (`None`: it
    /// waits in the outbox, behind whatever waits already). `bytes` measures roughly what
    /// it holds, for back-pressure; it runs only for a release that has to wait.
    #[must_use]
    pub(crate) fn release(&mut self, release: R, bytes: impl FnOnce(&R) -> usize) -> Option<R> {
        if self.provisional || (self.committed >= self.version && self.outbox.is_empty()) {
            return Some(release);
        }
        let bytes = bytes(&release);
        self.outbox_bytes += bytes;
        self.outbox.push_back(Pending {
            version: self.version,
            bytes,
            release,
        });
        None
    }

    /// The staged changes as one write, now in flight; `None` while another write is in
    /// flight, when nothing is staged, or while the actor is provisional.
    pub(crate) fn take_write(&mut self) -> Option<ActorWrite> {
        if self.in_flight.is_some() || self.provisional {
            return None;
        }
        let staged = self.staged.take()?;
        let mut write = ActorWrite::new(self.id.clone());
        if staged.state {
            write.state = Some(self.snapshot.as_slice().into());
        }
        write.delete_alarms = staged.delete_alarms;
        write.put_alarms = staged.put_alarms.clone();
        write.kv = staged.kv;
        self.in_flight = Some(InFlight {
            version: self.version,
            put_alarms: staged.put_alarms,
        });
        Some(write)
    }

    /// The write in flight is durable. Returns the alarms it added; the releases it
    /// unblocked come from [`next_due`](Self::next_due).
    pub(crate) fn committed(&mut self) -> Vec<Alarm> {
        match self.in_flight.take() {
            Some(in_flight) => {
                self.committed = in_flight.version;
                in_flight.put_alarms
            }
            None => Vec::new(),
        }
    }

    /// The next release whose changes are all committed, in order.
    pub(crate) fn next_due(&mut self) -> Option<R> {
        if self.outbox.front()?.version > self.committed {
            return None;
        }
        let pending = self.outbox.pop_front()?;
        self.outbox_bytes -= pending.bytes;
        Some(pending.release)
    }

    /// The write in flight failed: it, and everything staged after it, is lost. Returns
    /// every release that waited (none of them may go out as if it had succeeded); the
    /// snapshot is no longer what the store has, so the caller reloads it.
    pub(crate) fn failed(&mut self) -> Vec<R> {
        self.in_flight = None;
        self.staged = None;
        self.committed = self.version;
        self.outbox_bytes = 0;
        self.outbox.drain(..).map(|p| p.release).collect()
    }

    /// Forgets what a provisional actor staged (it is going away, and nothing of it was
    /// ever accepted).
    pub(crate) fn discard_provisional(&mut self) {
        if self.provisional {
            self.staged = None;
            self.committed = self.version;
        }
    }

    /// Whether the instance may take another message: not while a write is in flight and
    /// `max_batch` messages' changes, or `max_pending_bytes`, wait behind it.
    pub(crate) fn can_accept(&self) -> bool {
        if self.in_flight.is_none() {
            return true;
        }
        let (messages, staged_bytes) = match &self.staged {
            Some(staged) => (
                staged.messages,
                staged.kv_bytes + if staged.state { self.snapshot.len() } else { 0 },
            ),
            None => (0, 0),
        };
        messages < self.limits.max_batch.max(1)
            && staged_bytes + self.outbox_bytes < self.limits.max_pending_bytes
    }

    /// Whether everything is written and released (or, for a provisional actor, whether
    /// nothing but its never-accepted changes is left).
    pub(crate) fn is_settled(&self) -> bool {
        self.in_flight.is_none()
            && self.outbox.is_empty()
            && (self.staged.is_none() || self.provisional)
    }

    /// How many releases wait.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.outbox.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LedgerLimits {
        LedgerLimits {
            max_batch: 4,
            max_pending_bytes: 1000,
        }
    }

    fn ledger() -> CommitLedger<&'static str> {
        CommitLedger::new(ActorId::new("counter", "a"), b"0".to_vec(), false, limits())
    }

    fn stage(ledger: &mut CommitLedger<&'static str>, state: &str) {
        ledger
            .stage_state(|buf| {
                buf.extend_from_slice(state.as_bytes());
                Ok::<(), ()>(())
            })
            .unwrap();
        ledger.end_message();
    }

    #[test]
    fn with_nothing_pending_a_release_goes_out_at_once() {
        let mut ledger = ledger();
        assert_eq!(ledger.release("reply", |_| 10), Some("reply"));
        assert!(ledger.is_settled());
    }

    #[test]
    fn a_release_waits_for_the_changes_before_it_and_keeps_its_order() {
        let mut ledger = ledger();
        stage(&mut ledger, "1");
        assert_eq!(ledger.release("event 1", |_| 1), None);
        assert_eq!(ledger.release("reply 1", |_| 1), None);
        let write = ledger.take_write().expect("a write");
        assert_eq!(write.state.as_deref(), Some(b"1".as_slice()));
        // a change staged while the first write is in flight
        stage(&mut ledger, "2");
        assert_eq!(ledger.release("reply 2", |_| 1), None);
        assert!(
            ledger.take_write().is_none(),
            "one write in flight at a time"
        );

        ledger.committed();
        assert_eq!(ledger.next_due(), Some("event 1"));
        assert_eq!(ledger.next_due(), Some("reply 1"));
        assert_eq!(
            ledger.next_due(),
            None,
            "reply 2 waits for the second write"
        );
        let second = ledger.take_write().expect("the staged change");
        assert_eq!(second.state.as_deref(), Some(b"2".as_slice()));
        ledger.committed();
        assert_eq!(ledger.next_due(), Some("reply 2"));
        assert!(ledger.is_settled());
    }

    #[test]
    fn a_release_with_no_change_of_its_own_still_waits_behind_earlier_ones() {
        let mut ledger = ledger();
        stage(&mut ledger, "1");
        assert_eq!(ledger.release("reply 1", |_| 1), None);
        let _ = ledger.take_write();
        ledger.committed();
        // nothing new staged, but "reply 1" has not been taken out yet
        assert_eq!(ledger.release("reply 2", |_| 1), None);
        assert_eq!(ledger.next_due(), Some("reply 1"));
        assert_eq!(ledger.next_due(), Some("reply 2"));
    }

    #[test]
    fn a_failed_write_hands_back_every_waiting_release_and_drops_what_was_staged() {
        let mut ledger = ledger();
        stage(&mut ledger, "1");
        assert_eq!(ledger.release("reply 1", |_| 1), None);
        let _ = ledger.take_write();
        stage(&mut ledger, "2");
        assert_eq!(ledger.release("reply 2", |_| 1), None);
        assert_eq!(ledger.failed(), vec!["reply 1", "reply 2"]);
        assert!(ledger.is_settled());
        assert!(
            ledger.take_write().is_none(),
            "the staged change went with it"
        );
        assert_eq!(ledger.release("after", |_| 1), Some("after"));
    }

    #[test]
    fn a_failed_serialization_keeps_the_last_snapshot() {
        let mut ledger = ledger();
        let result = ledger.stage_state(|buf| {
            buf.extend_from_slice(b"half");
            Err("no")
        });
        assert_eq!(result, Err("no"));
        assert_eq!(ledger.snapshot(), b"0");
        assert!(ledger.take_write().is_none(), "nothing was staged");
    }

    #[test]
    fn alarms_go_with_the_write_and_reach_the_scheduler_once_committed() {
        let mut ledger = ledger();
        let alarm = Alarm {
            id: 7,
            at_ms: 1,
            method: "tick".into(),
            args: vec![],
        };
        ledger.stage_alarms(vec![alarm.clone()]);
        ledger.stage_alarm_done(3);
        let write = ledger.take_write().expect("a write");
        assert_eq!(write.put_alarms, vec![alarm.clone()]);
        assert_eq!(write.delete_alarms, vec![3]);
        assert!(write.state.is_none());
        assert_eq!(ledger.committed(), vec![alarm]);
    }

    #[test]
    fn behind_a_write_in_flight_it_takes_max_batch_messages() {
        let mut ledger = ledger();
        stage(&mut ledger, "0");
        let _ = ledger.take_write();
        for i in 0..4 {
            assert!(ledger.can_accept(), "message {i}");
            stage(&mut ledger, "1");
        }
        assert!(!ledger.can_accept(), "max_batch messages wait");
        ledger.committed();
        assert!(ledger.can_accept(), "nothing in flight");
        let write = ledger.take_write().expect("the batch");
        assert!(write.state.is_some());
        assert!(ledger.can_accept(), "a new batch starts empty");
    }

    #[test]
    fn behind_a_write_in_flight_it_takes_max_pending_bytes() {
        let mut ledger = ledger();
        stage(&mut ledger, "0");
        let _ = ledger.take_write();
        assert_eq!(ledger.release("big reply", |_| 999), None);
        assert!(ledger.can_accept());
        assert_eq!(ledger.release("one more byte", |_| 1), None);
        assert!(!ledger.can_accept(), "the outbox holds the budget");
        ledger.committed();
        assert_eq!(ledger.next_due(), Some("big reply"));
        assert_eq!(ledger.next_due(), Some("one more byte"));
        assert!(ledger.can_accept());

        // a big staged state counts too
        stage(&mut ledger, "0");
        let _ = ledger.take_write();
        stage(&mut ledger, &"x".repeat(1000));
        assert!(!ledger.can_accept(), "the staged snapshot holds the budget");
    }

    #[test]
    fn a_provisional_actor_writes_nothing_until_it_accepts() {
        let mut ledger: CommitLedger<&str> = CommitLedger::new(
            ActorId::new("counter", "new"),
            b"0".to_vec(),
            true,
            limits(),
        );
        assert!(ledger.is_provisional());
        assert!(ledger.take_write().is_none());
        // a refusal goes out at once: nothing it depends on was promised
        assert_eq!(
            ledger.release("action_not_found", |_| 1),
            Some("action_not_found")
        );
        assert!(ledger.is_settled(), "only never-accepted changes are left");
        assert_eq!(ledger.waiting(), 0);

        ledger.accept();
        assert!(
            !ledger.is_settled(),
            "the initial state is now to be written"
        );
        assert_eq!(
            ledger.release("init", |_| 1),
            None,
            "init waits for the state"
        );
        let write = ledger.take_write().expect("the initial state");
        assert_eq!(write.state.as_deref(), Some(b"0".as_slice()));
        ledger.committed();
        assert_eq!(ledger.next_due(), Some("init"));
    }

    #[test]
    fn a_provisional_actor_that_goes_away_leaves_nothing_staged() {
        let mut ledger: CommitLedger<&str> = CommitLedger::new(
            ActorId::new("counter", "new"),
            b"0".to_vec(),
            true,
            limits(),
        );
        stage(&mut ledger, "1");
        ledger.discard_provisional();
        ledger.accept();
        assert!(ledger.take_write().is_none());
        assert!(ledger.is_settled());
    }
}
