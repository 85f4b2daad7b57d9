//! Starting an instance: its state as stored (or, for a new actor, as `on_initialize`
//! makes it), then `on_start`.
//!
//! A new actor is *provisional*: its initial state is not written until a call or a
//! connection is accepted (see the [ledger](super::ledger)), so requests that are refused
//! (an unknown action, a connection `on_before_connect` turns away) leave nothing behind.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::ledger::CommitLedger;
use super::{Factory, Instance, Msg, Spawn, drain, unavailable};
use crate::actor::InitCtx;
use crate::cluster::Placement;
use crate::connection::Connection;
use crate::context::ActorCtx;
use crate::forward::NOT_THE_OWNER;
use crate::kv::KvSpace;
use crate::lifecycle::{Outcome, guarded};
use crate::protocol::WireError;
use crate::rpc::{Actions, Rpc};
use crate::schedule::SchedulerCmd;
use crate::store::ActorId;
use crate::system::{Kind, Remote, Shared};
use crate::versioned::{self, serialize_state};

/// The instance's task: load, run, and, each time it hibernates, wait for the message
/// that wakes it and load again.
pub(crate) async fn run<A: Actions>(spawn: Spawn, factory: Factory<A>) {
    // Boxed: loading and starting happen once per activation, and inline their futures
    // would be part of the task's size for the instance's whole life.
    let mut next = Box::pin(load_and_start(spawn, factory, HashMap::new())).await;
    while let Some((instance, rx)) = next {
        let Some((asleep, rx)) = instance.main_loop(rx).await else {
            return;
        };
        next = Box::pin(asleep.wake(rx)).await;
    }
}

/// Why an instance could not start: what its queued callers are told.
struct StartFailure {
    error: WireError,
    /// The actor was destroyed: its key never comes back.
    destroyed: bool,
}

impl StartFailure {
    fn unavailable(message: &str) -> Self {
        Self {
            error: unavailable(message),
            destroyed: false,
        }
    }
}

/// A loaded (or initialized) actor.
struct Loaded<A: Actions> {
    actor: A,
    state: A::State,
    snapshot: Vec<u8>,
    /// Never committed: made by `on_initialize` just now.
    fresh: bool,
    /// Migrated from an older stored version: `snapshot` is to be written.
    migrated: bool,
}

/// Loads (or initializes) the state and runs `on_start`, with `connections` (those a
/// hibernating instance kept) already in place; `None` when the instance cannot start (it
/// has left the registry, its mailbox is drained and its connections are closed, with the
/// reason).
pub(super) async fn load_and_start<A: Actions>(
    spawn: Spawn,
    factory: Factory<A>,
    connections: HashMap<u64, Connection<A>>,
) -> Option<(Box<Instance<A>>, mpsc::Receiver<Msg>)> {
    let Spawn {
        kind,
        shared,
        key,
        generation,
        mut rx,
        alive,
        presence,
    } = spawn;
    let id = ActorId {
        name: kind.name.clone(),
        key,
    };
    let epoch = match activate(&shared, &kind, &id, generation).await {
        Activated::Alone => None,
        Activated::Here(epoch) => Some(epoch),
        Activated::Elsewhere => {
            // Out of the registry already: later messages go to the owner. The queued ones
            // follow them; the connections a hibernating instance kept reconnect there.
            hand_back(&shared, &id, &mut rx);
            close_kept(
                connections.values(),
                &unavailable("the actor moved to another node; reconnect"),
            );
            return None;
        }
        Activated::Failed => {
            kind.retire(&id.key, generation, false);
            let error = unavailable("the actor could not be activated on this node");
            drain(&mut rx, &error);
            close_kept(connections.values(), &error);
            return None;
        }
    };
    let loaded = match load_state(&shared, &id, &factory).await {
        Ok(loaded) => loaded,
        Err(failure) => {
            // Nothing was staged yet: nothing to settle before leaving.
            kind.retire(&id.key, generation, failure.destroyed);
            drain(&mut rx, &failure.error);
            close_kept(connections.values(), &failure.error);
            return None;
        }
    };

    let limits = Instance::<A>::ledger_limits(&shared);
    let mut ctx = ActorCtx::new(
        id.clone(),
        loaded.state,
        KvSpace::new(id.clone(), shared.store(), shared.config.kv_limits()),
    );
    ctx.connections = connections;
    presence.publish_connections(ctx.connections.len());
    presence.awake.store(true, Ordering::Release);
    let mut instance = Box::new(Instance {
        actor: loaded.actor,
        factory,
        rpc: Rpc {
            ctx,
            caller: shared.scheduler_caller.clone(),
            conn: None,
        },
        ledger: CommitLedger::new(id, loaded.snapshot, loaded.fresh, limits),
        shared,
        kind,
        generation,
        ack: None,
        broken: Vec::new(),
        stage_failed: None,
        failed: None,
        active: true,
        quiet_ticks: 0,
        alive,
        presence,
        epoch,
        fenced: false,
    });
    if loaded.migrated {
        // Staged before on_start: whatever the actor releases from now on waits for the
        // migrated state to be durable, and the next load finds the current version.
        let snapshot = instance.ledger.snapshot().to_vec();
        let _ = instance.ledger.stage_state(|buf| {
            buf.extend_from_slice(&snapshot);
            Ok::<(), std::convert::Infallible>(())
        });
    }
    if let Err(reason) = instance.start().await {
        tracing::error!(actor = %instance.id(), reason, "on_start failed");
        // `start` discarded on_start's changes: nothing is staged but what a provisional
        // actor never wrote.
        instance.ledger.discard_provisional();
        let key = instance.id().key.clone();
        instance.kind.retire(&key, generation, false);
        let error = unavailable("the actor could not be started");
        drain(&mut rx, &error);
        close_kept(instance.rpc.ctx.connections.values(), &error);
        return None;
    }
    instance.settle(None, None).await;
    instance.flush();
    tracing::debug!(actor = %instance.id(), fresh = instance.ledger.is_provisional(), "started");
    Some((instance, rx))
}

/// What the activation of an instance came to.
enum Activated {
    /// Not in cluster mode.
    Alone,
    /// This node owns the actor, with this epoch.
    Here(u64),
    /// Another node owns it; the instance left the registry.
    Elsewhere,
    /// The directory could not be asked, or this node is not alive.
    Failed,
}

/// Cluster mode: takes ownership of `id` before its state is loaded (and before
/// `on_start`), and schedules the alarms its previous owner left.
async fn activate(shared: &Shared, kind: &Kind, id: &ActorId, generation: u64) -> Activated {
    let Some(link) = shared.cluster.as_ref() else {
        return Activated::Alone;
    };
    match link.directory.activate(id).await {
        Ok(Placement::Here { epoch }) => {
            match link.directory.alarms_of(id).await {
                Ok(alarms) => {
                    for alarm in alarms {
                        let _ = shared.scheduler.send(SchedulerCmd::Add(id.clone(), alarm));
                    }
                }
                Err(e) => {
                    tracing::error!(actor = %id, error = %e, "could not read the actor's alarms");
                    return Activated::Failed;
                }
            }
            tracing::debug!(actor = %id, epoch, "activated here");
            Activated::Here(epoch)
        }
        Ok(Placement::Elsewhere { node, address }) => {
            tracing::debug!(actor = %id, node, address, "owned by another node");
            kind.moved_away(
                &id.key,
                generation,
                Remote {
                    node: node.into(),
                    address: address.into(),
                },
            );
            Activated::Elsewhere
        }
        Err(e) => {
            tracing::warn!(actor = %id, error = %e, "could not activate the actor");
            Activated::Failed
        }
    }
}

/// Sends the messages queued for an instance that found its actor owned elsewhere back
/// through the system, which forwards them to the owner, in order. A call another node
/// forwarded here is refused instead (`NOT_THE_OWNER`): its node asks the directory again.
fn hand_back(shared: &Shared, id: &ActorId, rx: &mut mpsc::Receiver<Msg>) {
    rx.close();
    let mut queued = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        queued.push(msg);
    }
    if queued.is_empty() {
        return;
    }
    let system = shared.system.get().and_then(std::sync::Weak::upgrade);
    let id = id.clone();
    tokio::spawn(async move {
        for msg in queued {
            match &system {
                Some(_) if msg.is_forwarded() => msg.fail(&unavailable(NOT_THE_OWNER)),
                Some(system) => {
                    let _ = system.send(&id.name, &id.key, msg).await;
                }
                None => msg.fail(&unavailable("the actor system is shutting down")),
            }
        }
    });
}

/// Closes the connections an instance that cannot start was handed (a hibernating one's):
/// with no actor, `on_disconnect` cannot run; the clients learn why, and reconnect after
/// a transient code.
fn close_kept<'a, A: Actions>(
    connections: impl Iterator<Item = &'a Connection<A>>,
    error: &WireError,
) {
    for connection in connections {
        connection.outlet().close(&error.code, &error.message);
    }
}

/// The actor value, its state and the state serialized: as stored, or made by
/// `on_initialize` (not committed yet).
async fn load_state<A: Actions>(
    shared: &Shared,
    id: &ActorId,
    factory: &Factory<A>,
) -> Result<Loaded<A>, StartFailure> {
    let stored = shared.load(id).await.map_err(|e| {
        tracing::error!(actor = %id, error = %e, "could not load the actor");
        StartFailure::unavailable("the actor could not be loaded")
    })?;
    if stored.destroyed {
        return Err(StartFailure {
            error: super::destroyed_error(id),
            destroyed: true,
        });
    }
    let actor = factory(id);
    if let Some(bytes) = stored.state {
        let decoded = versioned::decode::<A>(id, &bytes).map_err(|e| {
            tracing::error!(actor = %id, error = %e, "the stored state cannot be read; the actor stays unavailable until it is repaired (ActorSystem::repair_state)");
            StartFailure::unavailable(&unreadable_message(&e))
        })?;
        return Ok(Loaded {
            actor,
            state: decoded.state,
            snapshot: decoded.bytes,
            fresh: false,
            migrated: decoded.migrated,
        });
    }
    let not_initialized = || StartFailure::unavailable("the actor could not be initialized");
    let init = InitCtx::new(id.clone());
    let state = match guarded(shared.config.hook_timeout, actor.on_initialize(&init)).await {
        Outcome::Done(Ok(state)) => state,
        outcome => {
            tracing::error!(actor = %id, outcome = ?outcome.describe(), "on_initialize failed");
            return Err(not_initialized());
        }
    };
    let mut snapshot = Vec::new();
    serialize_state(A::STATE_VERSION, &state, &mut snapshot).map_err(|e| {
        tracing::error!(actor = %id, error = %e, "the initial state does not serialize and read back");
        not_initialized()
    })?;
    tracing::debug!(actor = %id, "initialized (not committed until a request is accepted)");
    Ok(Loaded {
        actor,
        state,
        snapshot,
        fresh: true,
        migrated: false,
    })
}

/// What callers of an actor whose stored state cannot be read are told: which actor and
/// which version (the serde error, which shows the state's fields, goes to the log and to
/// [`ActorSystem::check_state`](crate::ActorSystem::check_state)).
fn unreadable_message(e: &versioned::StateError) -> String {
    use versioned::StateError::{BadHeader, MigrationFailed, Newer, Unreadable};
    match e {
        BadHeader { actor } => format!("the stored state of {actor} has a corrupt version header"),
        Newer {
            actor,
            stored,
            current,
        } => format!(
            "the stored state of {actor} is version {stored}, newer than this code's version {current}"
        ),
        Unreadable { actor, stored, .. } => {
            format!("the stored state of {actor} (version {stored}) cannot be read")
        }
        MigrationFailed {
            actor,
            stored,
            current,
            ..
        } => format!(
            "the stored state of {actor} (version {stored}) could not be migrated to version {current}"
        ),
    }
}

impl<A: Actions> std::fmt::Debug for Loaded<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}
