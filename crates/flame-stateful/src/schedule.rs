//! Scheduled calls: alarms are committed with the actor's changes, kept in one timer queue
//! for the whole system, delivered at least once (also after a restart: pending alarms are
//! loaded when the system starts) and deleted from the store once handled.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::instance::Msg;
use super::system::SystemInner;
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
    RemoveActor(ActorId),
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
    let mut queue: BTreeMap<(u64, u64), (ActorId, Alarm)> = BTreeMap::new();
    loop {
        let deadline = queue.first_key_value().map(|((at, _), _)| {
            Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()))
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
                    queue.insert((alarm.at_ms, alarm.id), (actor, alarm));
                }
                Some(SchedulerCmd::RemoveActor(actor)) => {
                    queue.retain(|_, (a, _)| *a != actor);
                }
                None => break,
            },
            () = sleep => {
                let now = now_ms();
                while let Some(entry) = queue.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let (actor, alarm) = entry.remove();
                    let Some(system) = system.upgrade() else { return };
                    tokio::spawn(async move {
                        tracing::debug!(actor = %actor, method = %alarm.method, "delivering an alarm");
                        if let Err(e) = system.send(&actor.name, &actor.key, Msg::Alarm(Box::new(alarm))).await {
                            tracing::warn!(actor = %actor, error = %e, "could not deliver an alarm");
                        }
                    });
                }
            }
        }
    }
    tracing::debug!("the scheduler stopped");
}
