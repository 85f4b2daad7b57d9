//! Actor claim validators: pluggable checks on the acting actor, run before your logic.

use std::borrow::Cow;
use std::time::SystemTime;

use flame_actor::{Actor, BackendActor, WebSocketActor};

use crate::{AuthError, TokenRejection, User, as_user_actor};

/// A check on the acting actor, Flamigo's `ActorClaimValidator`: anything
/// `Fn(&dyn Actor) -> Result<(), AuthError>`.
///
/// Pass several to [`verify_actor_claims`](crate::verify_actor_claims) or
/// [`require_actor_with_claims`](crate::require_actor_with_claims) as
/// `&[&validator, &validator]`.
///
/// ```
/// use flame_actor::{Actor, BackendActor};
/// use flame_auth::{ActorClaimValidator, AuthError};
///
/// let not_on_sundays = |actor: &dyn Actor| -> Result<(), AuthError> {
///     if actor.actor_type() == "backend" { Ok(()) } else { Err(AuthError::forbidden("closed")) }
/// };
/// assert!(not_on_sundays.validate(&BackendActor::default()).is_ok());
/// ```
pub trait ActorClaimValidator: Send + Sync {
    /// `Ok(())` when the actor passes.
    ///
    /// # Errors
    ///
    /// Why the actor does not pass.
    fn validate(&self, actor: &dyn Actor) -> Result<(), AuthError>;
}

impl<F> ActorClaimValidator for F
where
    F: Fn(&dyn Actor) -> Result<(), AuthError> + Send + Sync,
{
    fn validate(&self, actor: &dyn Actor) -> Result<(), AuthError> {
        self(actor)
    }
}

/// The user of `actor` if it acts as one whose credential has not expired.
pub(crate) fn signed_in_user(actor: &dyn Actor) -> Result<&User, AuthError> {
    let user_actor = as_user_actor(actor).ok_or(AuthError::NotAuthenticated)?;
    still_valid(user_actor)?;
    Ok(user_actor.user())
}

/// The one rule for a user actor, everywhere: refused once revoked, or from its
/// `expires_at` on (which already includes the verifier's leeway).
pub(crate) fn still_valid(user_actor: &dyn crate::UserActor) -> Result<(), AuthError> {
    if user_actor
        .revocation()
        .is_some_and(crate::Revocation::is_revoked)
    {
        return Err(AuthError::InvalidToken(TokenRejection::Revoked));
    }
    if user_actor
        .expires_at()
        .is_some_and(|at| at <= SystemTime::now())
    {
        return Err(AuthError::InvalidToken(TokenRejection::Expired));
    }
    Ok(())
}

/// Passes when the actor acts as a signed-in user (see [`as_user_actor`]) whose credential
/// has not expired.
///
/// # Errors
///
/// [`AuthError::NotAuthenticated`]; [`AuthError::InvalidToken`] (expired) for a user actor
/// past its [`expires_at`](crate::UserActor::expires_at).
///
/// ```
/// use flame_actor::BackendActor;
/// use flame_auth::{is_authenticated, ActorClaimValidator, AuthError, AuthenticatedUser, User};
///
/// assert!(is_authenticated().validate(&AuthenticatedUser::new(User::new("u1", "ada"))).is_ok());
/// assert_eq!(is_authenticated().validate(&BackendActor::default()), Err(AuthError::NotAuthenticated));
/// ```
pub fn is_authenticated() -> impl ActorClaimValidator + Clone + 'static {
    |actor: &dyn Actor| signed_in_user(actor).map(|_| ())
}

/// Passes when the actor does not act as a user: login, registration, public actions.
///
/// # Errors
///
/// [`AuthError::AlreadyAuthenticated`].
///
/// ```
/// use flame_actor::WebSocketActor;
/// use flame_auth::{is_unauthenticated, ActorClaimValidator, AuthError, AuthenticatedUser, User};
///
/// assert!(is_unauthenticated().validate(&WebSocketActor::builder("c1").build()).is_ok());
/// assert_eq!(
///     is_unauthenticated().validate(&AuthenticatedUser::new(User::new("u1", "ada"))),
///     Err(AuthError::AlreadyAuthenticated)
/// );
/// ```
pub fn is_unauthenticated() -> impl ActorClaimValidator + Clone + 'static {
    |actor: &dyn Actor| match as_user_actor(actor) {
        Some(_) => Err(AuthError::AlreadyAuthenticated),
        None => Ok(()),
    }
}

/// Passes when the actor is a signed-in user holding `permission`.
///
/// # Errors
///
/// [`AuthError::NotAuthenticated`] (or an expired token) without a user;
/// [`AuthError::NoPermission`] when the user lacks the permission.
///
/// ```
/// use flame_auth::{has_permission, ActorClaimValidator, AuthError, AuthenticatedUser, User};
///
/// let ada = AuthenticatedUser::new(User::new("u1", "ada").with_permission("posts:write"));
/// assert!(has_permission("posts:write").validate(&ada).is_ok());
/// assert_eq!(
///     has_permission("posts:delete").validate(&ada),
///     Err(AuthError::NoPermission { permission: "posts:delete".into() })
/// );
/// ```
pub fn has_permission(
    permission: impl Into<Cow<'static, str>>,
) -> impl ActorClaimValidator + Clone + 'static {
    let permission = permission.into();
    move |actor: &dyn Actor| {
        if signed_in_user(actor)?.has_permission(&permission) {
            Ok(())
        } else {
            Err(AuthError::NoPermission {
                permission: permission.clone(),
            })
        }
    }
}

/// Passes when the actor is a signed-in user holding the
/// [`ADMIN_PERMISSION`](crate::ADMIN_PERMISSION).
///
/// # Errors
///
/// As [`has_permission`].
///
/// ```
/// use flame_auth::{is_admin, ActorClaimValidator, AuthenticatedUser, User};
///
/// assert!(is_admin().validate(&AuthenticatedUser::new(User::new("u0", "root").with_permission("admin"))).is_ok());
/// assert!(is_admin().validate(&AuthenticatedUser::new(User::new("u1", "ada"))).is_err());
/// ```
pub fn is_admin() -> impl ActorClaimValidator + Clone + 'static {
    has_permission(crate::ADMIN_PERMISSION)
}

/// Passes when the actor's concrete Rust type is `T`.
///
/// # Errors
///
/// [`AuthError::InvalidActorType`] naming `T` and the actual type.
///
/// ```
/// use flame_actor::{BackendActor, WebSocketActor};
/// use flame_auth::{of_type, ActorClaimValidator};
///
/// assert!(of_type::<BackendActor>().validate(&BackendActor::default()).is_ok());
/// let err = of_type::<WebSocketActor>().validate(&BackendActor::default()).unwrap_err();
/// assert_eq!(err.code(), "invalid_actor_type");
/// ```
pub fn of_type<T: Actor>() -> impl ActorClaimValidator + Clone + 'static {
    |actor: &dyn Actor| {
        if actor.is::<T>() {
            Ok(())
        } else {
            Err(invalid_type(std::any::type_name::<T>().into(), actor))
        }
    }
}

/// Passes when the actor's [`actor_type`](Actor::actor_type) is `name`, whatever its Rust
/// type.
///
/// # Errors
///
/// [`AuthError::InvalidActorType`].
///
/// ```
/// use flame_actor::BackendActor;
/// use flame_auth::{is_actor_of_type, ActorClaimValidator};
///
/// assert!(is_actor_of_type("backend").validate(&BackendActor::default()).is_ok());
/// assert!(is_actor_of_type("user").validate(&BackendActor::default()).is_err());
/// ```
pub fn is_actor_of_type(
    name: impl Into<Cow<'static, str>>,
) -> impl ActorClaimValidator + Clone + 'static {
    let name = name.into();
    move |actor: &dyn Actor| {
        if actor.actor_type() == name {
            Ok(())
        } else {
            Err(invalid_type(name.clone(), actor))
        }
    }
}

/// Passes when the backend itself acts (a [`BackendActor`]).
///
/// # Errors
///
/// [`AuthError::InvalidActorType`].
///
/// ```
/// use flame_actor::{BackendActor, WebSocketActor};
/// use flame_auth::{is_backend, ActorClaimValidator};
///
/// assert!(is_backend().validate(&BackendActor::new("scheduler")).is_ok());
/// assert!(is_backend().validate(&WebSocketActor::builder("c1").build()).is_err());
/// ```
pub fn is_backend() -> impl ActorClaimValidator + Clone + 'static {
    of_type::<BackendActor>()
}

/// Passes when a WebSocket connection acts (a [`WebSocketActor`], authenticated or not).
///
/// # Errors
///
/// [`AuthError::InvalidActorType`].
///
/// ```
/// use flame_actor::{BackendActor, WebSocketActor};
/// use flame_auth::{is_websocket, ActorClaimValidator};
///
/// assert!(is_websocket().validate(&WebSocketActor::builder("c1").build()).is_ok());
/// assert!(is_websocket().validate(&BackendActor::default()).is_err());
/// ```
pub fn is_websocket() -> impl ActorClaimValidator + Clone + 'static {
    of_type::<WebSocketActor>()
}

/// Passes when the actor is anything but a [`WebSocketActor`] (Flamigo's `IsNotWebsocket`).
///
/// # Errors
///
/// [`AuthError::InvalidActorType`].
///
/// ```
/// use flame_actor::{BackendActor, WebSocketActor};
/// use flame_auth::{is_not_websocket, ActorClaimValidator};
///
/// assert!(is_not_websocket().validate(&BackendActor::default()).is_ok());
/// assert!(is_not_websocket().validate(&WebSocketActor::builder("c1").build()).is_err());
/// ```
pub fn is_not_websocket() -> impl ActorClaimValidator + Clone + 'static {
    |actor: &dyn Actor| {
        if actor.is::<WebSocketActor>() {
            Err(invalid_type("not a WebSocket connection".into(), actor))
        } else {
            Ok(())
        }
    }
}

fn invalid_type(expected: Cow<'static, str>, actor: &dyn Actor) -> AuthError {
    AuthError::InvalidActorType {
        expected,
        actual: actor.rust_type_name(),
        actual_type: actor.actor_type().to_owned(),
    }
}
