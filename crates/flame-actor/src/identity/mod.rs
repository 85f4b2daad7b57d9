//! Actors as identity: who is executing a piece of work.
//!
//! In flame, as in Flamigo, everything happens through an [`Actor`]: the backend itself, a
//! WebSocket connection, an authenticated user, an API token. The current actor travels with
//! the work, so services can ask who triggered them and adapt.
//!
//! - [`actor`](Actor): the trait, downcasts on `dyn Actor`, the injected [`CurrentActor`].
//! - [`BackendActor`]: the system itself, the default actor.
//! - [`WebSocketActor`]: a live WebSocket connection, with metadata and typed extensions.
//! - [`ActorContext`], [`require_actor`]: "who is acting?" from any context, as a concrete type.
//! - [`actor_scope`], [`current_actor`], [`spawn_as`]: the task-local scope, for work that has
//!   no request context (jobs, listeners, spawned tasks).
//! - [`IdentityError`]: what can go wrong.

mod actor;
mod backend;
mod context;
mod error;
mod scope;
mod websocket;

pub use actor::{Actor, CurrentActor};
pub use backend::BackendActor;
pub use context::{ActorContext, ContextActorExt, require_actor, require_actor_ref};
pub use error::IdentityError;
pub use scope::{
    ActorScope, actor_scope, actor_span, current_actor, default_actor, spawn_as,
    spawn_with_current_actor, try_current_actor, with_actor,
};
pub use websocket::{WebSocketActor, WebSocketActorBuilder, WebSocketIdentity};
