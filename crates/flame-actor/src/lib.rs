//! flame's actors.
//!
//! - [`identity`]: actors as identity, in the manner of Flamigo: [`Actor`], [`CurrentActor`],
//!   [`BackendActor`], [`WebSocketActor`], [`ActorContext`], [`require_actor`], the task-local
//!   [`actor_scope`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod identity;

pub use identity::{
    Actor, ActorContext, ActorError, ActorScope, BackendActor, CurrentActor, WebSocketActor,
    actor_scope, current_actor, require_actor, require_actor_ref, spawn_as,
};
