//! The decisions of membership and single activation, without tasks, sockets or SQL: what a
//! node may do given what it last heard from the database and what its monotonic clock says.
//!
//! - A node holds a **lease** that it renews; others judge it by the database's clock (its
//!   `expires_at` against the server's `now()`), so no two node clocks are compared.
//! - The node judges *itself* by its own monotonic clock, from the instant it **sent** its
//!   last successful renewal (the database extended the lease at some moment after that), less
//!   a safety margin for clock-rate drift: it stops acknowledging before anyone else may
//!   consider its lease lapsed.
//! - Activating an actor takes ownership with a new **epoch**; the owner's commits carry it,
//!   and the database refuses any whose epoch is not the current one (a fenced write is an
//!   error, never acknowledged).
//!
//! Nothing here is wired into the runtime yet: it is the core the cluster builds on.

use std::time::{Duration, Instant};

/// How long leases last and how careful a node is about its own.
///
/// ```
/// use std::time::Duration;
/// use flame_postgres::lease::LeaseConfig;
/// let config = LeaseConfig::new(Duration::from_secs(10), Duration::from_secs(2));
/// assert_eq!(config.self_deadline(), Duration::from_secs(8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a renewal keeps a node alive in the others' eyes.
    pub ttl: Duration,
    /// How much earlier than `ttl` the node stops acknowledging: covers the drift between
    /// its clock's rate and the database's, and a commit in flight at the deadline.
    pub margin: Duration,
}

impl LeaseConfig {
    /// A config; a `margin` above `ttl` is clamped to it (the node then never acknowledges,
    /// which is safe).
    pub fn new(ttl: Duration, margin: Duration) -> Self {
        Self {
            ttl,
            margin: margin.min(ttl),
        }
    }

    /// How long after sending a successful renewal the node may still acknowledge.
    pub fn self_deadline(&self) -> Duration {
        self.ttl.saturating_sub(self.margin)
    }
}

/// A node's view of its own lease, on its monotonic clock.
///
/// ```
/// use std::time::{Duration, Instant};
/// use flame_postgres::lease::{LeaseConfig, SelfLease};
/// let config = LeaseConfig::new(Duration::from_secs(10), Duration::from_secs(2));
/// let sent = Instant::now();
/// let mut lease = SelfLease::new(config);
/// assert!(!lease.may_acknowledge(sent));
/// lease.renewed(sent);
/// assert!(lease.may_acknowledge(sent + Duration::from_secs(7)));
/// assert!(!lease.may_acknowledge(sent + Duration::from_secs(8)));
/// ```
#[derive(Debug, Clone)]
pub struct SelfLease {
    config: LeaseConfig,
    /// When the request of the last successful renewal was sent.
    last_sent: Option<Instant>,
}

impl SelfLease {
    /// A lease never renewed: nothing may be acknowledged yet.
    pub fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            last_sent: None,
        }
    }

    /// A renewal whose request was sent at `sent` succeeded. An older renewal answered late
    /// never moves the deadline back.
    pub fn renewed(&mut self, sent: Instant) {
        if self.last_sent.is_none_or(|last| sent > last) {
            self.last_sent = Some(sent);
        }
    }

    /// Until when the node may acknowledge (exclusive); `None` before the first renewal.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_sent
            .map(|sent| sent + self.config.self_deadline())
    }

    /// Whether a commit that completed at `now` may be acknowledged.
    pub fn may_acknowledge(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|deadline| now < deadline)
    }
}

/// A node as the membership table records it.
///
/// ```
/// use flame_postgres::lease::Member;
/// let node = Member { id: "n1".into(), address: "10.0.0.1:7000".into(), started_at_ms: 1, expires_at_ms: 100 };
/// assert!(node.is_alive(99) && !node.is_alive(100));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The node's id.
    pub id: String,
    /// Its internal address.
    pub address: String,
    /// When it started (the database's clock, ms since the Unix epoch).
    pub started_at_ms: i64,
    /// When its lease lapses (the database's clock).
    pub expires_at_ms: i64,
}

impl Member {
    /// Whether it is alive at `db_now_ms` (the database's clock).
    pub fn is_alive(&self, db_now_ms: i64) -> bool {
        db_now_ms < self.expires_at_ms
    }
}

/// Who owns an actor, as the ownership table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owning node's id.
    pub node: String,
    /// The epoch of its activation.
    pub epoch: i64,
}

/// What activating an actor on a node comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// Take ownership with this new epoch (nobody owned it, or its owner is dead).
    Take {
        /// The new epoch: one above the last.
        epoch: i64,
    },
    /// Another live node owns it: forward to it.
    OwnedBy(Owner),
}

/// Decides an activation of an actor on node `me`, given the current owner (if any) and
/// whether that owner is alive. A node that finds itself the owner (it restarted, or it
/// lost the actor locally) takes a new epoch too, so writes of its previous activation are
/// fenced.
///
/// ```
/// use flame_postgres::lease::{Activation, Owner, decide_activation};
/// assert_eq!(decide_activation("n1", None, false), Activation::Take { epoch: 1 });
/// let owner = Owner { node: "n2".into(), epoch: 4 };
/// assert_eq!(decide_activation("n1", Some(&owner), true), Activation::OwnedBy(owner.clone()));
/// assert_eq!(decide_activation("n1", Some(&owner), false), Activation::Take { epoch: 5 });
/// ```
pub fn decide_activation(me: &str, current: Option<&Owner>, owner_alive: bool) -> Activation {
    match current {
        None => Activation::Take { epoch: 1 },
        Some(owner) if owner.node != me && owner_alive => Activation::OwnedBy(owner.clone()),
        Some(owner) => Activation::Take {
            epoch: owner.epoch.saturating_add(1),
        },
    }
}

/// Whether a commit by an activation of `epoch` may apply, given the recorded owner: only
/// the current owner's current epoch writes.
///
/// ```
/// use flame_postgres::lease::{Owner, may_commit};
/// let owner = Owner { node: "n1".into(), epoch: 3 };
/// assert!(may_commit("n1", 3, Some(&owner)));
/// assert!(!may_commit("n1", 2, Some(&owner)));
/// assert!(!may_commit("n2", 3, Some(&owner)));
/// assert!(!may_commit("n1", 3, None));
/// ```
pub fn may_commit(me: &str, epoch: i64, current: Option<&Owner>) -> bool {
    current.is_some_and(|owner| owner.node == me && owner.epoch == epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LeaseConfig {
        LeaseConfig::new(Duration::from_secs(10), Duration::from_secs(3))
    }

    #[test]
    fn a_node_stops_acknowledging_a_margin_before_others_see_its_lease_lapse() {
        let t0 = Instant::now();
        let mut lease = SelfLease::new(config());
        lease.renewed(t0);
        // The database extended the lease no earlier than t0, so others see it alive until
        // at least t0 + ttl; the node stops at t0 + ttl - margin.
        assert!(lease.may_acknowledge(t0 + Duration::from_millis(6_999)));
        assert!(!lease.may_acknowledge(t0 + Duration::from_secs(7)));
        assert!(lease.deadline().unwrap() + config().margin <= t0 + config().ttl);
    }

    #[test]
    fn a_late_answer_to_an_old_renewal_does_not_move_the_deadline_back() {
        let t0 = Instant::now();
        let mut lease = SelfLease::new(config());
        lease.renewed(t0 + Duration::from_secs(5));
        lease.renewed(t0);
        assert_eq!(lease.deadline(), Some(t0 + Duration::from_secs(12)));
    }

    #[test]
    fn failed_renewals_run_out_the_lease() {
        let t0 = Instant::now();
        let mut lease = SelfLease::new(config());
        lease.renewed(t0);
        // renewals at t0+2s, t0+4s, ... fail: nothing is recorded, the deadline stays.
        for s in [2, 4, 6] {
            assert!(lease.may_acknowledge(t0 + Duration::from_secs(s)));
        }
        assert!(!lease.may_acknowledge(t0 + Duration::from_secs(8)));
    }

    #[test]
    fn a_margin_above_the_ttl_means_never_acknowledging() {
        let config = LeaseConfig::new(Duration::from_secs(1), Duration::from_secs(5));
        let t0 = Instant::now();
        let mut lease = SelfLease::new(config);
        lease.renewed(t0);
        assert!(!lease.may_acknowledge(t0));
    }

    #[test]
    fn epochs_only_grow_and_fence_every_earlier_activation() {
        let mut owner: Option<Owner> = None;
        let mut epochs = Vec::new();
        // n1 activates, dies; n2 takes over, dies; n1 comes back and takes over again.
        for (node, previous_alive) in [("n1", false), ("n2", false), ("n1", false)] {
            match decide_activation(node, owner.as_ref(), previous_alive) {
                Activation::Take { epoch } => {
                    epochs.push(epoch);
                    owner = Some(Owner {
                        node: node.into(),
                        epoch,
                    });
                }
                Activation::OwnedBy(o) => panic!("owned by {o:?}"),
            }
        }
        assert_eq!(epochs, vec![1, 2, 3]);
        // Only the last activation writes; n1's first one is fenced though it is n1 again.
        assert!(may_commit("n1", 3, owner.as_ref()));
        assert!(!may_commit("n1", 1, owner.as_ref()));
        assert!(!may_commit("n2", 2, owner.as_ref()));
    }

    #[test]
    fn a_live_owner_is_forwarded_to_and_a_restarted_owner_takes_a_new_epoch() {
        let owner = Owner {
            node: "n1".into(),
            epoch: 7,
        };
        assert_eq!(
            decide_activation("n2", Some(&owner), true),
            Activation::OwnedBy(owner.clone())
        );
        assert_eq!(
            decide_activation("n1", Some(&owner), true),
            Activation::Take { epoch: 8 }
        );
    }

    #[test]
    fn liveness_is_judged_on_the_database_clock() {
        let node = Member {
            id: "n1".into(),
            address: "127.0.0.1:1".into(),
            started_at_ms: 0,
            expires_at_ms: 10_000,
        };
        assert!(node.is_alive(9_999));
        assert!(!node.is_alive(10_000));
    }
}
