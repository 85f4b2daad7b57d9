//! [`UserActor`], the [`AuthenticatedUser`] actor, and how any actor (a WebSocket connection
//! in particular) acts as a user.

use std::any::TypeId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use flame_actor::{Actor, WebSocketActor};
use parking_lot::RwLock;

use crate::{Revocation, User};

/// An actor that is a signed-in user: Flamigo's `UserActor`.
///
/// Unlike Flamigo's, `user()` cannot be nil: an actor is a `UserActor` only while it has a
/// user. Use [`as_user_actor`] to ask whether any `dyn Actor` acts as a user.
///
/// ```
/// use flame_auth::{AuthenticatedUser, User, UserActor};
///
/// let actor = AuthenticatedUser::new(User::new("u1", "ada"));
/// assert_eq!(actor.user().username, "ada");
/// ```
pub trait UserActor: Actor {
    /// The signed-in user.
    fn user(&self) -> &User;

    /// When the credential this identity rests on expires, if it does. Validators refuse an
    /// expired user actor (a WebSocket connection can outlive its token).
    fn expires_at(&self) -> Option<SystemTime> {
        None
    }

    /// How this identity learns that its session was revoked, if it can be. Validators
    /// refuse a revoked user actor.
    fn revocation(&self) -> Option<&Revocation> {
        None
    }
}

/// The actor of a request or job carrying a verified user: actor type `"user"`, actor id the
/// user's id. Token verifiers produce it; [`expires_at`](UserActor::expires_at) is the token's
/// expiry.
///
/// ```
/// use flame_actor::Actor;
/// use flame_auth::{AuthenticatedUser, User};
///
/// let actor = AuthenticatedUser::new(User::new("u1", "ada"));
/// assert_eq!(actor.actor_type(), "user");
/// assert_eq!(actor.actor_id().as_deref(), Some("u1"));
/// ```
#[derive(Clone, Debug)]
pub struct AuthenticatedUser {
    user: Arc<User>,
    expires_at: Option<SystemTime>,
    revocation: Option<Revocation>,
}

/// Two identities are equal when they are the same user with the same expiry; whether they
/// can be revoked does not enter.
impl PartialEq for AuthenticatedUser {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user && self.expires_at == other.expires_at
    }
}

impl AuthenticatedUser {
    /// The actor type string of every authenticated user actor.
    pub const TYPE: &'static str = "user";

    /// A user actor that does not expire.
    ///
    /// ```
    /// use flame_auth::{AuthenticatedUser, User, UserActor};
    ///
    /// assert_eq!(AuthenticatedUser::new(User::new("u1", "ada")).expires_at(), None);
    /// ```
    pub fn new(user: impl Into<Arc<User>>) -> Self {
        Self {
            user: user.into(),
            expires_at: None,
            revocation: None,
        }
    }

    /// Ties this identity to a [`Revocation`]: once revoked, validators refuse it and
    /// [`identity_ended`](crate::identity_ended) resolves.
    ///
    /// ```
    /// use flame_auth::{is_authenticated, ActorClaimValidator, AuthenticatedUser, Revocation, User};
    ///
    /// let (revoker, revocation) = Revocation::channel();
    /// let actor = AuthenticatedUser::new(User::new("u1", "ada")).revocable(revocation);
    /// assert!(is_authenticated().validate(&actor).is_ok());
    /// revoker.revoke();
    /// assert_eq!(is_authenticated().validate(&actor).unwrap_err().code(), "invalid_token");
    /// ```
    pub fn revocable(mut self, revocation: Revocation) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// Sets when this identity expires.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::{AuthenticatedUser, User, UserActor};
    ///
    /// let at = SystemTime::now() + Duration::from_secs(60);
    /// assert_eq!(AuthenticatedUser::new(User::new("u1", "ada")).expiring_at(at).expires_at(), Some(at));
    /// ```
    pub fn expiring_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The shared user.
    ///
    /// ```
    /// use flame_auth::{AuthenticatedUser, User};
    ///
    /// let actor = AuthenticatedUser::new(User::new("u1", "ada"));
    /// let user = actor.shared_user().clone(); // cheap: an Arc
    /// assert_eq!(user.id, "u1");
    /// ```
    pub fn shared_user(&self) -> &Arc<User> {
        &self.user
    }

    /// Whether the identity has expired at `now`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::{AuthenticatedUser, User};
    ///
    /// let now = SystemTime::now();
    /// let actor = AuthenticatedUser::new(User::new("u1", "ada")).expiring_at(now);
    /// assert!(actor.is_expired_at(now + Duration::from_secs(1)));
    /// assert!(!actor.is_expired_at(now - Duration::from_secs(1)));
    /// ```
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl Actor for AuthenticatedUser {
    fn actor_type(&self) -> &str {
        Self::TYPE
    }

    fn actor_id(&self) -> Option<String> {
        Some(self.user.id.clone())
    }
}

impl UserActor for AuthenticatedUser {
    fn user(&self) -> &User {
        &self.user
    }

    fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    fn revocation(&self) -> Option<&Revocation> {
        self.revocation.as_ref()
    }
}

/// Finds the user actor in a borrowed actor.
type Resolver = fn(&dyn Actor) -> Option<&dyn UserActor>;

static CUSTOM_USER_ACTORS: RwLock<Vec<(TypeId, Resolver)>> = RwLock::new(Vec::new());
static HAS_CUSTOM_USER_ACTORS: AtomicBool = AtomicBool::new(false);

/// Makes a custom [`UserActor`] type known to [`as_user_actor`] and so to the validators
/// ([`is_authenticated`](crate::is_authenticated), [`has_permission`](crate::has_permission),
/// ...). Call it once at startup; calling it again for the same type does nothing.
///
/// [`AuthenticatedUser`], and any actor carrying one in its
/// [`extensions`](Actor::extensions), need no registration.
///
/// ```
/// use flame_actor::Actor;
/// use flame_auth::{as_user_actor, register_user_actor, User, UserActor};
///
/// #[derive(Debug)]
/// struct ApiToken { owner: User }
/// impl Actor for ApiToken { fn actor_type(&self) -> &str { "api_token" } }
/// impl UserActor for ApiToken { fn user(&self) -> &User { &self.owner } }
///
/// let token = ApiToken { owner: User::new("u1", "ci-bot") };
/// register_user_actor::<ApiToken>();
/// assert_eq!(as_user_actor(&token).map(|u| u.user().id.as_str()), Some("u1"));
/// ```
pub fn register_user_actor<T: UserActor>() {
    fn resolve<T: UserActor>(actor: &dyn Actor) -> Option<&dyn UserActor> {
        actor.downcast_ref::<T>().map(|user| user as &dyn UserActor)
    }
    let mut registry = CUSTOM_USER_ACTORS.write();
    if registry.iter().all(|(id, _)| *id != TypeId::of::<T>()) {
        registry.push((TypeId::of::<T>(), resolve::<T>));
        HAS_CUSTOM_USER_ACTORS.store(true, Ordering::Release);
        tracing::debug!(
            user_actor = std::any::type_name::<T>(),
            "registered a user actor type"
        );
    }
}

/// The user this actor acts as, if it acts as one.
///
/// In order:
/// 1. an [`AuthenticatedUser`] is itself;
/// 2. an actor carrying an `AuthenticatedUser` in its [`extensions`](Actor::extensions) acts
///    as that user: this is how an authenticated [`WebSocketActor`] stays a `WebSocketActor`
///    (for `require_actor::<WebSocketActor>`, `is_websocket`) and is a user as well
///    (see [`WebSocketUserExt`]);
/// 3. a type registered with [`register_user_actor`] is itself.
///
/// In case 2 the returned `&dyn UserActor` is the user facet of the actor (its
/// `actor_type()` is `"user"`); the actor you passed is still the one acting.
///
/// ```
/// use flame_actor::{Actor, BackendActor, WebSocketActor};
/// use flame_auth::{as_user_actor, AuthenticatedUser, User, WebSocketUserExt};
///
/// let conn = WebSocketActor::builder("c1").build();
/// assert!(as_user_actor(&conn).is_none());
///
/// let conn = conn.authenticated(AuthenticatedUser::new(User::new("u1", "ada")));
/// assert_eq!(conn.actor_type(), "websocket");
/// assert_eq!(as_user_actor(&conn).map(|u| u.user().username.as_str()), Some("ada"));
/// assert!(as_user_actor(&BackendActor::default()).is_none());
/// ```
pub fn as_user_actor(actor: &dyn Actor) -> Option<&dyn UserActor> {
    resolver_for(actor).and_then(|resolve| resolve(actor))
}

/// The signed-in user of this actor, if it acts as one (see [`as_user_actor`]).
///
/// ```
/// use flame_actor::BackendActor;
/// use flame_auth::{user_of, AuthenticatedUser, User};
///
/// assert_eq!(user_of(&AuthenticatedUser::new(User::new("u1", "ada"))).map(|u| u.id.as_str()), Some("u1"));
/// assert!(user_of(&BackendActor::default()).is_none());
/// ```
pub fn user_of(actor: &dyn Actor) -> Option<&User> {
    as_user_actor(actor).map(UserActor::user)
}

/// Which of the three ways of [`as_user_actor`] finds the user in `actor`.
pub(crate) fn resolver_for(actor: &dyn Actor) -> Option<Resolver> {
    fn itself(actor: &dyn Actor) -> Option<&dyn UserActor> {
        actor
            .downcast_ref::<AuthenticatedUser>()
            .map(|user| user as &dyn UserActor)
    }
    fn in_extensions(actor: &dyn Actor) -> Option<&dyn UserActor> {
        actor
            .extension::<AuthenticatedUser>()
            .map(|user| user as &dyn UserActor)
    }
    if actor.is::<AuthenticatedUser>() {
        return Some(itself);
    }
    if actor.extension::<AuthenticatedUser>().is_some() {
        return Some(in_extensions);
    }
    if HAS_CUSTOM_USER_ACTORS.load(Ordering::Acquire) {
        let id = (actor as &dyn std::any::Any).type_id();
        return CUSTOM_USER_ACTORS
            .read()
            .iter()
            .find(|(registered, _)| *registered == id)
            .map(|(_, resolve)| *resolve);
    }
    None
}

/// Authentication for [`WebSocketActor`]s: a connection that authenticates becomes a new
/// snapshot of itself carrying the [`AuthenticatedUser`].
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{require_actor, Actor, WebSocketActor};
/// use flame_auth::{require_user_actor_with_claims, is_websocket, AuthenticatedUser, User, WebSocketUserExt};
///
/// let conn = WebSocketActor::builder("c1").build();
/// let conn: Arc<dyn Actor> = Arc::new(conn.authenticated(AuthenticatedUser::new(User::new("u1", "ada"))));
///
/// // Still a WebSocketActor ...
/// assert_eq!(require_actor::<WebSocketActor>(&conn).unwrap().user().map(|u| u.id.as_str()), Some("u1"));
/// // ... and a user actor.
/// let current = require_user_actor_with_claims(&conn, &[&is_websocket()]).unwrap();
/// assert_eq!(current.user().username, "ada");
/// ```
pub trait WebSocketUserExt {
    /// A new snapshot of this connection, authenticated as `user` (replacing any earlier
    /// user).
    fn authenticated(&self, user: AuthenticatedUser) -> WebSocketActor;

    /// A new snapshot of this connection without a user (sign-out).
    fn signed_out(&self) -> WebSocketActor;

    /// The connection's user, if it authenticated.
    fn user(&self) -> Option<&User>;

    /// The connection's user actor, if it authenticated.
    fn user_actor(&self) -> Option<&AuthenticatedUser>;
}

impl WebSocketUserExt for WebSocketActor {
    fn authenticated(&self, user: AuthenticatedUser) -> WebSocketActor {
        self.to_builder().extension(user).build()
    }

    fn signed_out(&self) -> WebSocketActor {
        self.to_builder()
            .without_extension::<AuthenticatedUser>()
            .build()
    }

    fn user(&self) -> Option<&User> {
        self.user_actor().map(UserActor::user)
    }

    fn user_actor(&self) -> Option<&AuthenticatedUser> {
        self.extensions().get::<AuthenticatedUser>()
    }
}

/// An owned handle on the acting user: the acting actor (an [`AuthenticatedUser`], an
/// authenticated [`WebSocketActor`], a registered custom type) together with a cheap way to
/// its user. [`require_user_actor_with_claims`](crate::require_user_actor_with_claims)
/// returns it.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::Actor;
/// use flame_auth::{CurrentUser, AuthenticatedUser, User};
///
/// let actor: Arc<dyn Actor> = Arc::new(AuthenticatedUser::new(User::new("u1", "ada")));
/// let current = CurrentUser::from_actor(actor).unwrap();
/// assert_eq!(current.user().id, "u1");
/// assert_eq!(current.actor().actor_type(), "user");
/// ```
#[derive(Clone)]
pub struct CurrentUser {
    actor: Arc<dyn Actor>,
    resolve: Resolver,
}

impl CurrentUser {
    /// The handle, if `actor` acts as a user (see [`as_user_actor`]).
    ///
    /// # Errors
    ///
    /// Gives the actor back when it does not act as a user.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::{Actor, BackendActor};
    /// use flame_auth::CurrentUser;
    ///
    /// let backend: Arc<dyn Actor> = Arc::new(BackendActor::default());
    /// assert!(CurrentUser::from_actor(backend).is_err());
    /// ```
    pub fn from_actor(actor: Arc<dyn Actor>) -> Result<Self, Arc<dyn Actor>> {
        match resolver_for(&*actor) {
            Some(resolve) if resolve(&*actor).is_some() => Ok(Self { actor, resolve }),
            _ => Err(actor),
        }
    }

    /// The acting actor.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::{Actor, WebSocketActor};
    /// use flame_auth::{CurrentUser, AuthenticatedUser, User, WebSocketUserExt};
    ///
    /// let conn = WebSocketActor::builder("c1").build().authenticated(AuthenticatedUser::new(User::new("u1", "ada")));
    /// let current = CurrentUser::from_actor(Arc::new(conn)).unwrap();
    /// assert_eq!(current.actor().actor_type(), "websocket");
    /// ```
    pub fn actor(&self) -> &Arc<dyn Actor> {
        &self.actor
    }

    /// The acting actor's user facet.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::{CurrentUser, AuthenticatedUser, User};
    ///
    /// let current = CurrentUser::from_actor(Arc::new(AuthenticatedUser::new(User::new("u1", "ada")))).unwrap();
    /// assert_eq!(current.user_actor().user().username, "ada");
    /// ```
    pub fn user_actor(&self) -> &dyn UserActor {
        match (self.resolve)(&*self.actor) {
            Some(user) => user,
            // Actors are immutable and `from_actor` checked this resolver on this actor.
            None => unreachable!("the resolver matched this actor when the handle was made"),
        }
    }

    /// The signed-in user.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::{CurrentUser, AuthenticatedUser, User};
    ///
    /// let current = CurrentUser::from_actor(Arc::new(AuthenticatedUser::new(User::new("u1", "ada")))).unwrap();
    /// assert!(!current.user().is_admin());
    /// ```
    pub fn user(&self) -> &User {
        self.user_actor().user()
    }
}

impl std::fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for CurrentUser {
    type Target = User;

    fn deref(&self) -> &User {
        self.user()
    }
}
