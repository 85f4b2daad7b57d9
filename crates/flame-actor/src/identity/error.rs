//! [`IdentityError`]: what can go wrong when asking for an actor.

/// What can go wrong when asking who is acting.
///
/// Named apart from `flame_stateful::ActorError` (what a stateful actor's action returns to its
/// client) because an app that uses both imports both.
///
/// ```
/// use flame_actor::{require_actor, IdentityError, BackendActor, CurrentActor, WebSocketActor};
///
/// let current = CurrentActor::new(BackendActor::new("scheduler"));
/// let err = require_actor::<WebSocketActor>(&current).unwrap_err();
/// assert!(matches!(err, IdentityError::WrongType { actual_type: ref t, .. } if t == "backend"));
/// assert!(err.to_string().contains("WebSocketActor"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The current actor is not of the requested Rust type.
    #[error(
        "expected the actor to be a `{expected}`, but it is a `{actual}` (actor type \"{actual_type}\")"
    )]
    WrongType {
        /// The requested Rust type.
        expected: &'static str,
        /// The Rust type of the current actor.
        actual: &'static str,
        /// The current actor's [`actor_type`](crate::Actor::actor_type).
        actual_type: String,
    },
}
