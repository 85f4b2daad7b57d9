//! Scheduled calls: alarms are committed with the actor's changes, kept in one timer queue
//! for the whole system, delivered at least once (also after a restart: pending alarms are
//! loaded when the system starts) and deleted from the store once handled.
//!
//! An alarm leaves the queue only once its actor reports that it was handled and that its
//! deletion is durable. A delivery that fails (the actor could not start, was stopping, or
//! its commit failed) is tried again with exponential backoff, from
//! [`RETRY_BASE`] up to [`RETRY_MAX`], for as long as the process lives; an alarm of a
//! destroyed actor (or of a kind no longer registered) is dropped.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::instance::{AlarmDelivery, Msg};
use super::system::SystemInner;
use crate::protocol::{ErrorCode, WireError};
use crate::store::{ActorId, Alarm};
use flame_actor::Actor;

/// The caller of scheduled calls (`rpc.caller().actor_type() == "scheduler"`).
///
/// ```
/// use flame_actor::Actor;
/// use flame_stateful::SchedulerActor;
/// assert_eq!(SchedulerActor.actor_type(), "scheduler");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SchedulerActor;

impl Actor for SchedulerActor {
    fn actor_type(&self) -> &str {
        "scheduler"
    }
}

#[derive(Debug)]
pub(crate) enum SchedulerCmd {
    Add(ActorId, Alarm),
    /// A delivery failed: try again after the backoff of its `attempt`.
    Retry {
        actor: ActorId,
        alarm: Alarm,
        attempt: u32,
    },
    RemoveActor(ActorId),
}

/// The first retry of a failed alarm delivery comes after this long.
pub(crate) const RETRY_BASE: Duration = Duration::from_millis(100);
/// Retries of a failed alarm delivery are at most this far apart.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(30);

/// The longest the scheduler sleeps at once.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to wait before the delivery `attempt` (1 for the first retry).
fn backoff(attempt: u32) -> Duration {
    RETRY_BASE
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(RETRY_MAX)
}

/// Whether a failed delivery is worth trying again: not for an actor that is gone for good.
fn retryable(error: &WireError) -> bool {
    !(error.is(ErrorCode::ActorDestroyed) || error.is(ErrorCode::ActorNotFound))
}

/// Delivers `alarm` and waits until its actor reports it handled; reports a failure back to
/// the scheduler for a retry.
async fn deliver(system: Arc<SystemInner>, actor: ActorId, alarm: Alarm, attempt: u32) {
    tracing::debug!(actor = %actor, method = %alarm.method, attempt, "delivering an alarm");
    let (done, handled) = oneshot::channel();
    let msg = Msg::Alarm(Box::new(AlarmDelivery {
        alarm: alarm.clone(),
        done: Some(done),
    }));
    let result = match system.send(&actor.name, &actor.key, msg).await {
        Ok(_) => handled.await.unwrap_or_else(|_| {
            Err(WireError::new(
                ErrorCode::Unavailable,
                "the actor stopped before it handled the alarm",
            ))
        }),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            system
                .shared
                .counters
                .alarms_fired
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) if retryable(&e) => {
            let attempt = attempt + 1;
            tracing::warn!(actor = %actor, method = %alarm.method, error = %e, retry_in = ?backoff(attempt), "an alarm could not be delivered; trying again");
            let _ = system.shared.scheduler.send(SchedulerCmd::Retry {
                actor,
                alarm,
                attempt,
            });
        }
        Err(e) => {
            tracing::debug!(actor = %actor, method = %alarm.method, error = %e, "an alarm of an actor that is gone is dropped");
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) async fn run_scheduler(
    mut rx: mpsc::UnboundedReceiver<SchedulerCmd>,
    system: Weak<SystemInner>,
) {
    // (due, alarm id) -> the alarm, and how many deliveries failed before
    let mut queue: BTreeMap<(u64, u64), (ActorId, Alarm, u32)> = BTreeMap::new();
    loop {
        let deadline = queue.first_key_value().map(|((at, _), _)| {
            // a far alarm is woken for early, and waited for again: the runtime's clock
            // cannot represent every instant a wall-clock time can
            let wait = Duration::from_millis(at.saturating_sub(now_ms())).min(MAX_SLEEP);
            Instant::now() + wait
        });
        let sleep = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(SchedulerCmd::Add(actor, alarm)) => {
                    queue.insert((alarm.at_ms, alarm.id), (actor, alarm, 0));
                }
                Some(SchedulerCmd::Retry { actor, alarm, attempt }) => {
                    let due = now_ms().saturating_add(u64::try_from(backoff(attempt).as_millis()).unwrap_or(u64::MAX));
                    queue.insert((due, alarm.id), (actor, alarm, attempt));
                }
                Some(SchedulerCmd::RemoveActor(actor)) => {
                    queue.retain(|_, (a, _, _)| *a != actor);
                }
                None => break,
            },
            () = sleep => {
                let now = now_ms();
                while let Some(entry) = queue.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let (actor, alarm, attempt) = entry.remove();
                    let Some(system) = system.upgrade() else { return };
                    tokio::spawn(deliver(system, actor, alarm, attempt));
                }
            }
        }
    }
    tracing::debug!("the scheduler stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_ceiling() {
        assert_eq!(backoff(1), RETRY_BASE);
        assert_eq!(backoff(2), RETRY_BASE * 2);
        assert_eq!(backoff(4), RETRY_BASE * 8);
        assert_eq!(backoff(20), RETRY_MAX);
        assert_eq!(backoff(u32::MAX), RETRY_MAX);
    }

    #[test]
    fn alarms_of_actors_gone_for_good_are_not_retried() {
        assert!(retryable(&WireError::new(ErrorCode::Unavailable, "x")));
        assert!(retryable(&WireError::internal()));
        assert!(!retryable(&WireError::new(ErrorCode::ActorDestroyed, "x")));
        assert!(!retryable(&WireError::new(ErrorCode::ActorNotFound, "x")));
    }
}
