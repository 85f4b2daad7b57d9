//! The one way out of an instance, whatever the reason (a failure, the system's shutdown,
//! a destroy, idle unloading), in one order:
//!
//! 1. stop intake: the registry marks the key retiring, so a new activation of it waits
//!    until this one is gone, and the mailbox is closed; queued messages never ran, and are
//!    answered `unavailable` (safe to retry);
//! 2. settle the ledger: write everything staged, and answer every caller whose change
//!    committed (and send the events) before any connection is closed;
//! 3. close every connection (`close` with the reason) and run `on_disconnect`;
//! 4. the final commit: what `on_disconnect` changed;
//! 5. only then leave the registry.
//!
//! A destroy settles first and writes the tombstone before anything else; when that write
//! fails, nothing changes and the actor stays. An idle instance leaves only when nothing is
//! pending at all, so it has nothing to settle.

use tokio::sync::{mpsc, oneshot};

use super::{Instance, Msg, destroyed_error, unavailable};
use crate::connection::ConnId;
use crate::error::SystemError;
use crate::protocol::{ErrorCode, WireError};
use crate::rpc::Actions;
use crate::schedule::SchedulerCmd;
use crate::store::ActorWrite;

/// Why the main loop ends.
#[derive(Debug)]
pub(super) enum Exit {
    /// Idle: already out of the registry, with nothing pending.
    Unloaded,
    /// `ActorSystem::destroy` (`Some`), or the actor's own `shutdown()` (`None`).
    Destroy(Option<oneshot::Sender<Result<(), SystemError>>>),
    /// The system shuts down (or was dropped).
    Stop(Option<oneshot::Sender<()>>),
    /// The actor cannot go on.
    Failed(String),
}

/// What became of the instance.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    Gone,
    /// A destroy failed: the actor goes on as it was.
    StillHere,
}

/// Fails the queued messages with `error`, except that a queued disconnect's waiter is kept,
/// to be told once its connection is closed with all the others.
fn drain_keeping_disconnects(
    rx: &mut mpsc::Receiver<Msg>,
    error: &WireError,
) -> Vec<oneshot::Sender<()>> {
    rx.close();
    let mut waiting = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        match msg {
            Msg::Disconnect(request) => {
                if let Some(done) = request.done {
                    waiting.push(done);
                }
            }
            msg => msg.fail(error),
        }
    }
    waiting
}

impl<A: Actions> Instance<A> {
    pub(super) async fn exit(&mut self, exit: Exit, rx: &mut mpsc::Receiver<Msg>) -> Ended {
        let id = self.id().clone();
        match exit {
            Exit::Unloaded => {
                super::drain(rx, &unavailable("the actor was unloaded"));
                Ended::Gone
            }
            Exit::Destroy(done) => self.destroy(done, rx).await,
            Exit::Stop(done) => {
                let reason = "the actor system is shutting down";
                self.teardown(rx, ErrorCode::Unavailable, reason).await;
                tracing::debug!(actor = %id, "stopped");
                if let Some(done) = done {
                    let _ = done.send(());
                }
                Ended::Gone
            }
            Exit::Failed(reason) if self.fenced => {
                // transient: the clients reconnect and reach the actor's new owner
                self.teardown(rx, ErrorCode::Unavailable, &reason).await;
                tracing::info!(actor = %id, reason, "deactivated: another node owns the actor");
                Ended::Gone
            }
            Exit::Failed(reason) => {
                self.teardown(rx, ErrorCode::InternalError, &reason).await;
                tracing::error!(actor = %id, reason, "the actor stopped after a failure");
                Ended::Gone
            }
        }
    }

    /// Steps 1 to 5 of the [module docs](self).
    async fn teardown(&mut self, rx: &mut mpsc::Receiver<Msg>, code: ErrorCode, reason: &str) {
        let key = self.id().key.clone();
        self.kind.begin_retire(&key, self.generation);
        let waiting = drain_keeping_disconnects(rx, &unavailable(reason));
        self.settle_ledger().await;
        self.close_all(code, reason).await;
        self.settle(None, None).await;
        self.settle_ledger().await;
        self.ledger.discard_provisional();
        self.kind.retire(&key, self.generation, false);
        for done in waiting {
            let _ = done.send(());
        }
    }

    /// Settles, writes the tombstone, and only once it is durable closes the connections
    /// (`actor_destroyed`) and leaves for good.
    async fn destroy(
        &mut self,
        done: Option<oneshot::Sender<Result<(), SystemError>>>,
        rx: &mut mpsc::Receiver<Msg>,
    ) -> Ended {
        let id = self.id().clone();
        let settled = self.settle_ledger().await;
        let mut write = ActorWrite::new(id.clone());
        write.destroy = true;
        if let Err(e) = self.shared.commit_now(write, self.epoch).await {
            tracing::error!(actor = %id, error = %e, "could not write the tombstone; the actor stays as it was");
            if let Some(done) = done {
                let _ = done.send(Err(e.into()));
            }
            if !settled {
                // a write before the tombstone failed too: go back to what the store has
                Box::pin(self.reload()).await;
            }
            return Ended::StillHere;
        }
        tracing::info!(actor = %id, "destroyed");
        // The tombstone is durable: the key is gone for good, and nothing of this instance
        // is written again.
        self.kind.retire(&id.key, self.generation, true);
        let _ = self
            .shared
            .scheduler
            .send(SchedulerCmd::RemoveActor(id.clone()));
        let waiting = drain_keeping_disconnects(rx, &destroyed_error(&id));
        self.close_all(ErrorCode::ActorDestroyed, "the actor was destroyed")
            .await;
        // what on_disconnect changed dies with the actor
        for release in self.ledger.failed() {
            self.fail_release(release, &WireError::internal());
        }
        self.rpc.ctx.effects.lock().clear();
        for done in waiting {
            let _ = done.send(());
        }
        if let Some(done) = done {
            let _ = done.send(Ok(()));
        }
        Ended::Gone
    }

    /// Closes every connection with `code` and `reason` (after everything released to
    /// it), running `on_disconnect` for each.
    async fn close_all(&mut self, code: ErrorCode, reason: &str) {
        let conns: Vec<ConnId> = self.rpc.ctx.connections().map(|c| c.id()).collect();
        for conn in conns {
            if let Some(connection) = self.remove_connection(conn) {
                connection.outlet().close(code.as_str(), reason);
                Box::pin(self.on_disconnect(connection)).await;
            }
        }
        self.broken.clear();
    }
}
