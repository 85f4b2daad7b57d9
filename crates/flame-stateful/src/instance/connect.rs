//! Connections coming and going: `on_before_connect` and `on_connect` for a new one,
//! `on_disconnect` (exactly once) for one that ends.

use super::{Connect, Instance, Release};
use crate::actor::ConnectOptions;
use crate::connection::{ConnId, Connection};
use crate::error::ActorError;
use crate::lifecycle::{Outcome, guarded};
use crate::protocol::{ErrorCode, WireError};
use crate::rpc::Actions;

impl<A: Actions> Instance<A> {
    /// Takes connection `conn` out, publishing the new count to the registry.
    pub(super) fn remove_connection(&mut self, conn: ConnId) -> Option<Connection<A>> {
        let connection = self.rpc.ctx.remove_connection(conn)?;
        self.presence
            .publish_connections(self.rpc.ctx.connections.len());
        Some(connection)
    }

    pub(super) async fn on_disconnect(&mut self, conn: Connection<A>) {
        let limit = self.shared.config.hook_timeout;
        match guarded(limit, self.actor.on_disconnect(&mut self.rpc.ctx, &conn)).await {
            Outcome::Done(()) => {}
            Outcome::Panicked(message) => Box::pin(self.crash("on_disconnect", &message)).await,
            Outcome::TimedOut => {
                tracing::warn!(actor = %self.id(), conn = %conn.id(), "on_disconnect timed out");
            }
        }
        tracing::debug!(actor = %self.id(), conn = %conn.id(), "disconnected");
    }

    pub(super) async fn connect(&mut self, connect: Connect) {
        let Connect {
            conn,
            params,
            caller,
            outlet,
            reply,
        } = connect;
        let text = if params.trim().is_empty() {
            "null"
        } else {
            params.as_str()
        };
        let params: A::ConnParams = match serde_json::from_str(text) {
            Ok(params) => params,
            Err(e) => {
                let _ = reply.send(Err(WireError::new(
                    ErrorCode::InvalidParams,
                    format!("invalid connection params: {e}"),
                )));
                return;
            }
        };
        let opts = ConnectOptions {
            params,
            caller,
            conn_id: conn,
        };
        let limit = self.shared.config.connect_timeout;
        let outcome = guarded(
            limit,
            self.actor.on_before_connect(&mut self.rpc.ctx, &opts),
        )
        .await;
        let refused = |e: &ActorError| {
            if e.is_public() {
                e.to_wire()
            } else {
                WireError::new(ErrorCode::ConnectionRejected, "the connection was rejected")
            }
        };
        let conn_state = match outcome {
            Outcome::Done(Ok(state)) => {
                // accepted: from here on this actor exists for good
                self.ledger.accept();
                state
            }
            Outcome::Done(Err(e)) => {
                tracing::debug!(actor = %self.id(), conn = %conn, error = %e, "on_before_connect refused a connection");
                self.settle(None, None).await;
                let _ = reply.send(Err(refused(&e)));
                return;
            }
            Outcome::Panicked(message) => {
                Box::pin(self.crash("on_before_connect", &message)).await;
                let _ = reply.send(Err(WireError::internal()));
                return;
            }
            Outcome::TimedOut => {
                self.rpc.ctx.dirty = true;
                self.discard_changes();
                let _ = reply.send(Err(WireError::new(
                    ErrorCode::ConnectionRejected,
                    "on_before_connect timed out",
                )));
                return;
            }
        };
        let ConnectOptions { params, caller, .. } = opts;
        let effects = self.rpc.ctx.effects.clone();
        let connection = Connection::new(conn, params, conn_state, caller, outlet, effects);
        let outcome = guarded(limit, self.actor.on_connect(&mut self.rpc.ctx, &connection)).await;
        let error = match outcome {
            Outcome::Done(Ok(())) => None,
            Outcome::Done(Err(e)) => Some(refused(&e)),
            Outcome::Panicked(message) => {
                Box::pin(self.crash("on_connect", &message)).await;
                Some(WireError::internal())
            }
            Outcome::TimedOut => Some(WireError::new(
                ErrorCode::ConnectionRejected,
                "on_connect timed out",
            )),
        };
        match error {
            None => {
                tracing::debug!(actor = %self.id(), conn = %conn, "connected");
                self.rpc.ctx.insert_connection(connection);
                self.presence
                    .publish_connections(self.rpc.ctx.connections.len());
                // settle stages on_connect's changes before it queues `Connected`, so the
                // answer waits for them to commit, and `init` goes out before any event
                self.settle(Some(Release::Connected { conn, reply }), None)
                    .await;
            }
            Some(error) => {
                let mut connection = connection;
                connection.attached.disarm();
                Box::pin(self.on_disconnect(connection)).await;
                self.settle(None, None).await;
                let _ = reply.send(Err(error));
            }
        }
    }

    pub(super) async fn disconnect_broken(&mut self) {
        while let Some(conn) = self.broken.pop() {
            if let Some(connection) = self.remove_connection(conn) {
                Box::pin(self.on_disconnect(connection)).await;
                self.settle(None, None).await;
            }
        }
    }
}
