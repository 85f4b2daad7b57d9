//! Broadcast fan-out: a released event reaches every subscribed connection through its
//! outlet. A small audience is written by the actor's task alone; a big one is shared out
//! among the runtime's worker threads, since giving a message to a socket costs a system
//! call and the runtime has more than one worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::connection::ConnId;
use crate::outbound::{Outbound, Outlet, Refused};
use crate::store::ActorId;

/// Sends a connection whose outlet refused a message (its client does not keep up, or is
/// gone) to `broken`, to be disconnected.
pub(crate) fn note_refusal(
    actor: &ActorId,
    conn: ConnId,
    offered: Result<(), Refused>,
    broken: &mut Vec<ConnId>,
) {
    match offered {
        Ok(()) => {}
        Err(Refused::Full) => {
            tracing::warn!(%actor, %conn, "the client does not keep up; closing its connection");
            broken.push(conn);
        }
        Err(Refused::Closed) => broken.push(conn),
    }
}

/// Offers `msg` to each of `targets`; the connections to disconnect.
fn offer_all(actor: &ActorId, targets: &[(ConnId, Outlet)], msg: &Outbound) -> Vec<ConnId> {
    let mut broken = Vec::new();
    for (conn, outlet) in targets {
        note_refusal(actor, *conn, outlet.offer_shared(msg), &mut broken);
    }
    broken
}

/// A broadcast to at least this many connections is shared out among the runtime's worker
/// threads; a smaller one is written by the actor's task alone.
const PARALLEL_FAN_OUT: usize = 512;

/// A broadcast too big for the actor's task alone, and how many parts it is split into.
pub(crate) struct FanOut {
    targets: Arc<[(ConnId, Outlet)]>,
    msg: Outbound,
    parts: usize,
}

/// Offers a broadcast to its targets: by the actor's task for a small audience (`None`),
/// or, for a big one, a [`FanOut`] to hand to [`fan_out`], since giving a message to a
/// socket costs a system call and the runtime has more than one worker thread.
pub(crate) fn offer_or_fan_out(
    actor: &ActorId,
    targets: Arc<[(ConnId, Outlet)]>,
    msg: Outbound,
    broken: &mut Vec<ConnId>,
) -> Option<FanOut> {
    if targets.len() >= PARALLEL_FAN_OUT {
        // one part per worker, each of at least half the threshold: on a machine with many
        // cores, a part is still worth its task
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let parts = workers.min(targets.len() / (PARALLEL_FAN_OUT / 2));
        if parts > 1 {
            return Some(FanOut {
                targets,
                msg,
                parts,
            });
        }
    }
    broken.extend(offer_all(actor, &targets, &msg));
    None
}

/// How many targets a part of a big broadcast takes at a time.
const FAN_OUT_CHUNK: usize = 64;

/// Splits a broadcast among its parts' tasks and returns once every target has it (or
/// refused it), so that the actor's next message to any of them comes after.
///
/// The parts take the targets a chunk at a time, from one counter, rather than a fixed
/// half each: a worker thread that shares its CPU (with another process, or with the
/// kernel's work for the sockets) does fewer chunks instead of holding up the broadcast,
/// and a part that never gets a worker in time leaves its share to the others.
pub(crate) async fn fan_out(
    actor: &ActorId,
    FanOut {
        targets,
        msg,
        parts,
    }: FanOut,
) -> Vec<ConnId> {
    let next = Arc::new(AtomicUsize::new(0));
    // All parts are spawned, none is run here: tokio keeps the last task a worker spawns
    // for that worker, and would not let another worker steal it while this one is busy.
    let parts: Vec<_> = (0..parts)
        .map(|_| {
            let (targets, msg, actor, next) =
                (targets.clone(), msg.clone(), actor.clone(), next.clone());
            tokio::spawn(async move {
                let mut broken = Vec::new();
                loop {
                    let start = next.fetch_add(FAN_OUT_CHUNK, Ordering::Relaxed);
                    if start >= targets.len() {
                        break broken;
                    }
                    let end = (start + FAN_OUT_CHUNK).min(targets.len());
                    broken.extend(offer_all(&actor, &targets[start..end], &msg));
                }
            })
        })
        .collect();
    let mut broken = Vec::new();
    for part in parts {
        match part.await {
            Ok(part) => broken.extend(part),
            Err(error) => tracing::error!(%actor, %error, "a part of a broadcast failed"),
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// The parts of a big broadcast take its targets a chunk at a time: every target gets
    /// the message exactly once, however many parts there are and whichever worker runs
    /// them, and the targets that are gone come back to be disconnected.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fan_out_gives_every_target_the_message_once() {
        // not a multiple of the chunk, and more parts than workers
        let count = 10 * FAN_OUT_CHUNK + 7;
        let mut receivers = Vec::new();
        let targets: Arc<[(ConnId, Outlet)]> = (0..count)
            .map(|i| {
                let (tx, rx) = mpsc::channel(4);
                receivers.push(rx);
                (ConnId(i as u64), Outlet::Channel(tx))
            })
            .collect();
        // every 100th client is gone
        for rx in receivers.iter_mut().step_by(100) {
            rx.close();
        }
        let msg = Outbound::shared_event("tick".into(), serde_json::json!(1));
        let broken = fan_out(
            &ActorId::new("room", "a"),
            FanOut {
                targets,
                msg,
                parts: 5,
            },
        )
        .await;

        let mut broken: Vec<u64> = broken.into_iter().map(ConnId::get).collect();
        broken.sort_unstable();
        let gone: Vec<u64> = (0..count as u64).step_by(100).collect();
        assert_eq!(broken, gone);
        for (i, rx) in receivers.iter_mut().enumerate() {
            if i % 100 == 0 {
                continue;
            }
            let got = rx.try_recv().expect("every open target has the message");
            assert_eq!(
                got.text().as_str(),
                r#"{"v":1,"type":"event","event":"tick","payload":1}"#
            );
            assert!(rx.try_recv().is_err(), "target {i} got the message twice");
        }
    }
}
