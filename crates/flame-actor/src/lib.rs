//! flame's actors as identity, in the manner of Flamigo: every piece of work knows *who* is
//! executing it (the backend itself, a WebSocket connection, a signed-in user, an API token),
//! and that identity travels with the context through handlers, services and background jobs.
//!
//! - [`identity`]: [`Actor`], [`CurrentActor`], [`BackendActor`], [`WebSocketActor`],
//!   [`ActorContext`], [`require_actor`], the task-local [`actor_scope`].
//! - [`websocket`]: WebSocket endpoints for plain flame apps, `f.websocket("/ws", handler)`
//!   ([`websocket::WebSocketExt`]), whose connections act as a [`WebSocketActor`].
//!
//! Stateful, durable actors (Rivet's) are the `flame-stateful` crate; this one has no
//! storage and no actor runtime, so an app that only needs identity (and `flame-auth`)
//! compiles neither.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod identity;
pub mod websocket;

pub use identity::{
    Actor, ActorContext, ActorScope, BackendActor, ContextActorExt, CurrentActor, IdentityError,
    WebSocketActor, WebSocketIdentity, actor_scope, current_actor, require_actor,
    require_actor_ref, spawn_as,
};
pub use websocket::{WebSocketConfig, WebSocketConnection, WebSocketExt};
