//! Hibernation: an idle instance that still has connections (or handles) lets go of its
//! actor, its state and its caches, and keeps only what its clients need: its mailbox,
//! its connections (outlets, params, connection state, subscriptions) and its place in the
//! registry. Its task waits on the mailbox without a timer, so a hibernating actor costs no
//! CPU; the next message of any kind (a call, an event subscription, a disconnect, an
//! alarm, a stop or destroy) loads it again, runs `on_start` as after any load, and is
//! handled as usual.
//!
//! The rule that makes this safe: an instance hibernates only when its ledger is settled
//! (everything it acknowledged is committed), nothing is in flight and its mailbox is
//! empty. The state is read back from the store on waking, so nothing lives only in the
//! hibernating task.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, watch};

use super::start::load_and_start;
use super::teardown::{Ended, Exit};
use super::{Factory, Instance, Msg, Presence, Spawn, unavailable};
use crate::connection::Connection;
use crate::rpc::Actions;
use crate::system::{Kind, Shared};

/// What a hibernating instance's task keeps.
pub(super) struct Hibernated<A: Actions> {
    factory: Factory<A>,
    shared: Arc<Shared>,
    kind: Arc<Kind>,
    key: Arc<str>,
    generation: u64,
    alive: watch::Sender<()>,
    presence: Arc<Presence>,
    /// A vector, not the actor's map: a map's smallest table holds four entries, and most
    /// hibernating actors have one or two connections.
    connections: Vec<Connection<A>>,
}

impl<A: Actions> Instance<A> {
    /// Lets go of everything but what [`Hibernated`] keeps. The caller checked that the
    /// ledger is settled and the mailbox empty.
    pub(super) fn hibernate(self) -> Hibernated<A> {
        let this = self;
        let mut ctx = this.rpc.ctx;
        tracing::debug!(actor = %ctx.id, connections = ctx.connections.len(), "hibernating");
        this.presence.awake.store(false, Ordering::Release);
        Hibernated {
            factory: this.factory,
            shared: this.shared,
            kind: this.kind,
            key: ctx.id.key.clone(),
            generation: this.generation,
            alive: this.alive,
            presence: this.presence,
            connections: ctx.connections.drain().map(|(_, c)| c).collect(),
        }
    }
}

impl<A: Actions> Hibernated<A> {
    /// Waits for the next message, loads the actor again with the kept connections, and
    /// handles the message (with whatever else is in the mailbox, as any batch). `None`:
    /// the instance is over (its mailbox closed, it could not be loaded, in which case the
    /// message, the mailbox and the connections are answered with the reason, or the
    /// message ended it).
    pub(super) async fn wake(
        self: Box<Self>,
        mut rx: mpsc::Receiver<Msg>,
    ) -> Option<(Box<Instance<A>>, mpsc::Receiver<Msg>)> {
        let this = *self;
        let Some(first) = rx.recv().await else {
            // every sender is gone, the registry's too: nobody can reach the actor again
            this.kind.retire(&this.key, this.generation, false);
            return None;
        };
        tracing::debug!(actor.name = %this.kind.name, actor.key = %this.key, "waking");
        let connections: HashMap<u64, Connection<A>> = this
            .connections
            .into_iter()
            .map(|c| (c.id().get(), c))
            .collect();
        let spawn = Spawn {
            kind: this.kind,
            shared: this.shared,
            key: this.key,
            generation: this.generation,
            rx,
            alive: this.alive,
            presence: this.presence,
        };
        // Boxed, like everything awaited below: this future is what a hibernating actor
        // holds while it waits, so only what waiting needs may be inline.
        let Some((mut instance, mut rx)) =
            Box::pin(load_and_start(spawn, this.factory, connections)).await
        else {
            first.fail(&unavailable("the actor could not be woken"));
            return None;
        };
        instance.active = true;
        let exit = Box::pin(instance.handle_batch(first, &mut rx)).await;
        if let Some(exit) = exit.or_else(|| instance.failed.take().map(Exit::Failed)) {
            match Box::pin(instance.exit(exit, &mut rx)).await {
                Ended::Gone => return None,
                Ended::StillHere => {}
            }
        }
        Some((instance, rx))
    }
}
