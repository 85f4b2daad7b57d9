//! Flamigo's `RequireActorWithClaims`: run the validators, then ask for the actor's type.

use std::sync::Arc;

use flame_actor::{Actor, ActorContext};

use crate::{ActorClaimValidator, AuthError, CurrentUser};

/// Runs `validators` on a borrowed actor, in order; the first refusal is returned.
///
/// # Errors
///
/// The first validator's refusal.
///
/// ```
/// use flame_actor::BackendActor;
/// use flame_auth::{check_actor, is_backend, is_authenticated, AuthError};
///
/// let backend = BackendActor::default();
/// assert!(check_actor(&backend, &[&is_backend()]).is_ok());
/// assert_eq!(check_actor(&backend, &[&is_backend(), &is_authenticated()]), Err(AuthError::NotAuthenticated));
/// ```
pub fn check_actor(
    actor: &dyn Actor,
    validators: &[&dyn ActorClaimValidator],
) -> Result<(), AuthError> {
    validators
        .iter()
        .try_for_each(|validator| validator.validate(actor))
}

/// The acting actor of `source`, once every validator accepted it.
///
/// `source` is anything that knows the current actor: flame-core's request `Context`, the
/// task-local [`ActorScope`](flame_actor::ActorScope), a
/// [`CurrentActor`](flame_actor::CurrentActor), an `Arc<dyn Actor>`.
///
/// # Errors
///
/// The first validator's refusal.
///
/// ```
/// use flame_actor::ActorScope;
/// use flame_auth::{is_backend, verify_actor_claims};
///
/// // Outside any scope the backend acts.
/// let actor = verify_actor_claims(&ActorScope, &[&is_backend()]).unwrap();
/// assert_eq!(actor.actor_type(), "backend");
/// ```
pub fn verify_actor_claims(
    source: &(impl ActorContext + ?Sized),
    validators: &[&dyn ActorClaimValidator],
) -> Result<Arc<dyn Actor>, AuthError> {
    let actor = source.actor();
    check_actor(&*actor, validators)?;
    Ok(actor)
}

/// Flamigo's `RequireActorWithClaims[T]`: every validator runs on the acting actor, in
/// order, and then the actor must be a `T`.
///
/// # Errors
///
/// The first validator's refusal, else [`AuthError::InvalidActorType`] when the actor is
/// not a `T`.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{Actor, WebSocketActor};
/// use flame_auth::{has_permission, require_actor_with_claims, AuthenticatedUser, User};
///
/// let actor: Arc<dyn Actor> = Arc::new(AuthenticatedUser::new(User::new("u1", "ada").with_permission("posts:write")));
/// let user = require_actor_with_claims::<AuthenticatedUser>(&actor, &[&has_permission("posts:write")]).unwrap();
/// assert_eq!(user.actor_id().as_deref(), Some("u1"));
///
/// let err = require_actor_with_claims::<WebSocketActor>(&actor, &[]).unwrap_err();
/// assert_eq!(err.code(), "invalid_actor_type");
/// ```
pub fn require_actor_with_claims<T: Actor>(
    source: &(impl ActorContext + ?Sized),
    validators: &[&dyn ActorClaimValidator],
) -> Result<Arc<T>, AuthError> {
    let actor = verify_actor_claims(source, validators)?;
    flame_actor::require_actor::<T>(&actor).map_err(AuthError::from)
}

/// Flamigo's `RequireUserActorWithClaims`: every validator runs, and then the actor must act
/// as a user (see [`as_user_actor`](crate::as_user_actor)), an authenticated WebSocket
/// connection included.
///
/// # Errors
///
/// The first validator's refusal, else [`AuthError::NoUserActor`].
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{Actor, BackendActor};
/// use flame_auth::{is_admin, require_user_actor_with_claims, AuthenticatedUser, User};
///
/// let root: Arc<dyn Actor> = Arc::new(AuthenticatedUser::new(User::new("u0", "root").with_permission("admin")));
/// assert_eq!(require_user_actor_with_claims(&root, &[&is_admin()]).unwrap().username, "root");
///
/// let backend: Arc<dyn Actor> = Arc::new(BackendActor::default());
/// assert_eq!(require_user_actor_with_claims(&backend, &[]).unwrap_err().code(), "no_user_actor");
/// ```
pub fn require_user_actor_with_claims(
    source: &(impl ActorContext + ?Sized),
    validators: &[&dyn ActorClaimValidator],
) -> Result<CurrentUser, AuthError> {
    let actor = verify_actor_claims(source, validators)?;
    CurrentUser::from_actor(actor).map_err(|actor| AuthError::NoUserActor {
        actual_type: actor.actor_type().to_owned(),
    })
}
