//! The HTTP side of auth: the [`authenticate`] middleware, [`require`] and [`require_user`]
//! middleware with owned [`Validators`], and the [`AnonymousActor`] of requests without a
//! token.

use std::sync::{Arc, OnceLock};

use flame_actor::{
    Actor, ActorContext, ContextActorExt, CurrentActor, WebSocketActor, WebSocketIdentity,
    actor_scope,
};
use flame_core::{BoxedHandler, Context};

use crate::authenticate::Credentials;
use crate::{
    ActorClaimValidator, AuthError, AuthenticatedUser, Authenticator, CurrentUser,
    WebSocketUserExt, check_actor,
};

/// The actor of a request that presented no token, behind the [`authenticate`] middleware:
/// actor type `"anonymous"`.
///
/// Without an identity middleware a request runs as the default
/// [`BackendActor`](flame_actor::BackendActor), which would let validators such as
/// [`is_backend`](crate::is_backend) pass for any caller; `authenticate` makes an anonymous
/// caller explicit instead.
///
/// ```
/// use flame_actor::Actor;
/// use flame_auth::{is_authenticated, is_backend, is_unauthenticated, AnonymousActor, ActorClaimValidator};
///
/// let anonymous = AnonymousActor;
/// assert_eq!(anonymous.actor_type(), "anonymous");
/// assert!(is_unauthenticated().validate(&anonymous).is_ok());
/// assert!(is_authenticated().validate(&anonymous).is_err());
/// assert!(is_backend().validate(&anonymous).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AnonymousActor;

impl AnonymousActor {
    /// The actor type string of the anonymous actor.
    pub const TYPE: &'static str = "anonymous";

    /// The shared anonymous actor.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::AnonymousActor;
    ///
    /// assert!(Arc::ptr_eq(&AnonymousActor::shared(), &AnonymousActor::shared()));
    /// ```
    pub fn shared() -> Arc<dyn Actor> {
        static SHARED: OnceLock<Arc<dyn Actor>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(AnonymousActor)).clone()
    }
}

impl Actor for AnonymousActor {
    fn actor_type(&self) -> &str {
        Self::TYPE
    }
}

/// Middleware that authenticates every request with `authenticator`.
///
/// - A valid token (`Authorization: Bearer`, or the authenticator's cookie): the
///   [`AuthenticatedUser`] becomes the request's actor (mapped as
///   [`CurrentActor`], recorded on the request's span as `actor.type` / `actor.id`), the
///   user is mapped as [`CurrentUser`], and a [`WebSocketIdentity`] is mapped so that a
///   WebSocket connection opened by this request acts as this user.
/// - No token: the request runs as the [`AnonymousActor`]; validators decide what it may do.
/// - A bearer token that is refused (malformed, bad signature, expired, oversized), a
///   malformed `Authorization: Bearer` header, or more than one `Authorization` header: 401
///   with a `WWW-Authenticate` header and the JSON error body; the chain stops.
/// - A session cookie that is refused (expired, revoked, unknown): the request runs as the
///   [`AnonymousActor`] and the response clears the cookie, so routes that need no
///   authentication (the login page) still work; routes that do answer 401 as for anyone
///   anonymous.
/// - A request that uses the session cookie from another origin where that matters
///   (WebSocket upgrades, unsafe methods): 403, see
///   [`Authenticator::allowed_origin`].
///
/// The rest of the chain runs inside [`actor_scope`], so services without the request
/// context still see the user through [`current_actor`](flame_actor::current_actor).
/// It declares that it provides `CurrentActor` for [`Flame::check`](flame_core::Flame::check);
/// `CurrentUser` only exists for signed-in callers, so take it after [`require_user`].
///
/// ```
/// use flame_actor::{ActorContext, CurrentActor};
/// use flame_auth::jwt::{Expected, JwtVerifier};
/// use flame_auth::{authenticate, Authenticator};
/// use flame_core::Flame;
///
/// let verifier = JwtVerifier::hs256(b"a secret that is at least 32 bytes!", Expected::unchecked()).unwrap();
/// let mut f = Flame::new();
/// f.use_(authenticate(Authenticator::new(verifier).cookie("flame_session")));
/// f.get("/whoami", |actor: CurrentActor| actor.actor_type().to_owned()); // "user" or "anonymous"
/// assert!(f.check().is_ok());
/// ```
pub fn authenticate(authenticator: Authenticator) -> BoxedHandler {
    let authenticator = Arc::new(authenticator);
    BoxedHandler::new(move |c: Context| {
        let authenticator = authenticator.clone();
        async move { authenticate_request(&c, &authenticator).await }
    })
    .provides::<CurrentActor>()
}

async fn authenticate_request(c: &Context, authenticator: &Authenticator) -> Result<(), AuthError> {
    let credentials = authenticator.credentials(c.method(), c.headers()).await?;
    let actor: Arc<dyn Actor> = match credentials {
        Credentials::User(user) => {
            tracing::debug!(parent: c.span(), user.id = %user.shared_user().id, "request authenticated");
            c.map(connection_identity(user.clone()));
            let actor: Arc<dyn Actor> = Arc::new(user);
            if let Ok(current) = CurrentUser::from_actor(actor.clone()) {
                c.map(current);
            }
            actor
        }
        Credentials::None => AnonymousActor::shared(),
        Credentials::StaleCookie(err) => {
            tracing::debug!(parent: c.span(), error = %err, "stale session cookie cleared");
            if let Some(cookie) = authenticator.session_cookie() {
                c.set_cookie(cookie.clear());
            }
            AnonymousActor::shared()
        }
    };
    c.set_actor(actor.clone());
    actor_scope(actor, c.next()).await;
    Ok(())
}

/// The hook that makes a WebSocket connection opened by an authenticated request act as
/// its user.
fn connection_identity(user: AuthenticatedUser) -> WebSocketIdentity {
    WebSocketIdentity::new(move |connection: WebSocketActor| connection.authenticated(user.clone()))
}

/// An owned list of [`ActorClaimValidator`]s, for middleware that outlives one call.
///
/// Build one from a validator, a tuple of validators, or a `Vec` of shared ones.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::BackendActor;
/// use flame_auth::{has_permission, is_authenticated, IntoValidators, Validators};
///
/// let validators: Validators = (is_authenticated(), has_permission("posts:write")).into_validators();
/// assert_eq!(validators.len(), 2);
/// let backend: Arc<dyn flame_actor::Actor> = Arc::new(BackendActor::default());
/// assert_eq!(validators.check(&backend).unwrap_err().code(), "not_authenticated");
/// ```
#[derive(Clone, Default)]
pub struct Validators(Vec<Arc<dyn ActorClaimValidator>>);

impl Validators {
    /// No validators: every actor passes.
    ///
    /// ```
    /// use flame_auth::Validators;
    ///
    /// assert!(Validators::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a validator, run after the ones before it.
    ///
    /// ```
    /// use flame_auth::{is_admin, is_authenticated, Validators};
    ///
    /// let validators = Validators::new().with(is_authenticated()).with(is_admin());
    /// assert_eq!(validators.len(), 2);
    /// ```
    #[must_use]
    pub fn with(mut self, validator: impl ActorClaimValidator + 'static) -> Self {
        self.0.push(Arc::new(validator));
        self
    }

    /// How many validators there are.
    ///
    /// ```
    /// use flame_auth::{is_backend, IntoValidators};
    ///
    /// assert_eq!(is_backend().into_validators().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// use flame_auth::Validators;
    ///
    /// assert!(Validators::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs every validator, in order, on the acting actor of `source`; the actor when all
    /// pass.
    ///
    /// # Errors
    ///
    /// The first refusal.
    ///
    /// ```
    /// use flame_actor::ActorScope;
    /// use flame_auth::{is_backend, IntoValidators};
    ///
    /// assert_eq!(is_backend().into_validators().check(&ActorScope).unwrap().actor_type(), "backend");
    /// ```
    pub fn check(
        &self,
        source: &(impl ActorContext + ?Sized),
    ) -> Result<Arc<dyn Actor>, AuthError> {
        let actor = source.actor();
        let refs: Vec<&dyn ActorClaimValidator> = self.0.iter().map(|v| &**v).collect();
        check_actor(&*actor, &refs)?;
        Ok(actor)
    }
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validators")
            .field("len", &self.0.len())
            .finish()
    }
}

mod private {
    #[derive(Debug)]
    pub enum One {}
    #[derive(Debug)]
    pub enum List {}
    #[derive(Debug)]
    pub struct Tuple<T>(T);
}

/// Anything that makes [`Validators`]: one validator, a tuple of up to eight, a
/// `Vec<Arc<dyn ActorClaimValidator>>`, or `Validators` itself. `M` is a marker you never
/// name.
///
/// ```
/// use flame_auth::{is_admin, is_authenticated, IntoValidators};
///
/// assert_eq!(is_admin().into_validators().len(), 1);
/// assert_eq!((is_authenticated(), is_admin()).into_validators().len(), 2);
/// ```
pub trait IntoValidators<M> {
    /// The owned list.
    fn into_validators(self) -> Validators;
}

impl<V: ActorClaimValidator + 'static> IntoValidators<private::One> for V {
    fn into_validators(self) -> Validators {
        Validators::new().with(self)
    }
}

impl IntoValidators<private::List> for Validators {
    fn into_validators(self) -> Validators {
        self
    }
}

impl IntoValidators<private::List> for Vec<Arc<dyn ActorClaimValidator>> {
    fn into_validators(self) -> Validators {
        Validators(self)
    }
}

macro_rules! tuple_validators {
    ($($v:ident),+) => {
        impl<$($v: ActorClaimValidator + 'static),+> IntoValidators<private::Tuple<($($v,)+)>> for ($($v,)+) {
            #[allow(non_snake_case)]
            fn into_validators(self) -> Validators {
                let ($($v,)+) = self;
                Validators::new()$(.with($v))+
            }
        }
    };
}

tuple_validators!(A);
tuple_validators!(A, B);
tuple_validators!(A, B, C);
tuple_validators!(A, B, C, D);
tuple_validators!(A, B, C, D, E);
tuple_validators!(A, B, C, D, E, F);
tuple_validators!(A, B, C, D, E, F, G);
tuple_validators!(A, B, C, D, E, F, G, H);

/// Middleware that lets the request through only when the acting actor passes every
/// validator; otherwise it answers with the first refusal (401 or 403, JSON body, stable
/// code). Put it after [`authenticate`].
///
/// ```
/// use flame_auth::jwt::{Expected, JwtVerifier};
/// use flame_auth::{authenticate, has_permission, is_authenticated, require, Authenticator};
/// use flame_core::Flame;
///
/// let verifier = JwtVerifier::hs256(b"a secret that is at least 32 bytes!", Expected::unchecked()).unwrap();
/// let mut f = Flame::new();
/// f.use_(authenticate(Authenticator::new(verifier)));
/// f.post("/posts", (require((is_authenticated(), has_permission("posts:write"))), || "created"));
/// ```
pub fn require<M>(validators: impl IntoValidators<M>) -> BoxedHandler {
    let validators = validators.into_validators();
    BoxedHandler::new(move |c: Context| -> Result<(), AuthError> {
        validators.check(&c).map(|_| ())
    })
}

/// Middleware like [`require`] that also requires a signed-in user (an authenticated
/// WebSocket connection counts), Flamigo's `RequireUserActorWithClaims`, and maps the
/// [`CurrentUser`] for the handlers after it (declared for the startup check).
///
/// # Errors answered
///
/// The first validator's refusal, else 401 `no_user_actor`.
///
/// ```
/// use flame_auth::jwt::{Expected, JwtVerifier};
/// use flame_auth::{authenticate, is_admin, require_user, Authenticator, CurrentUser};
/// use flame_core::Flame;
///
/// let verifier = JwtVerifier::hs256(b"a secret that is at least 32 bytes!", Expected::unchecked()).unwrap();
/// let mut f = Flame::new();
/// f.use_(authenticate(Authenticator::new(verifier)));
/// f.get("/me", (require_user(()), |user: CurrentUser| format!("hello, {}", user.username)));
/// f.get("/admin", (require_user(is_admin()), |user: CurrentUser| format!("root: {}", user.username)));
/// assert!(f.check().is_ok());
/// ```
pub fn require_user<M>(validators: impl IntoValidators<M>) -> BoxedHandler {
    let validators = validators.into_validators();
    BoxedHandler::new(move |c: Context| -> Result<(), AuthError> {
        let actor = validators.check(&c)?;
        let user = CurrentUser::from_actor(actor).map_err(|actor| AuthError::NoUserActor {
            actual_type: actor.actor_type().to_owned(),
        })?;
        // The same expiry and revocation rule as `is_authenticated`, whatever the validators.
        crate::validators::still_valid(user.user_actor())?;
        c.map(user);
        Ok(())
    })
    .provides::<CurrentUser>()
}

impl IntoValidators<private::List> for () {
    fn into_validators(self) -> Validators {
        Validators::new()
    }
}
