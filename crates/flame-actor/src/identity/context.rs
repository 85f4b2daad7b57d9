//! [`ActorContext`]: anything that knows the current actor, and [`require_actor`].

use std::sync::Arc;

use crate::identity::{Actor, CurrentActor, IdentityError};

/// Anything that knows who is acting: a request context, an RPC context, the task-local
/// [`ActorScope`](crate::identity::ActorScope), a [`CurrentActor`].
///
/// This is Flamigo's `Context.Actor()`. flame-core's request `Context` implements it by
/// reading the actor mapped into the request (the default [`BackendActor`] when none was).
///
/// [`BackendActor`]: crate::BackendActor
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{Actor, ActorContext, BackendActor};
///
/// struct Job { actor: Arc<dyn Actor> }
///
/// impl ActorContext for Job {
///     fn actor(&self) -> Arc<dyn Actor> { self.actor.clone() }
/// }
///
/// let job = Job { actor: Arc::new(BackendActor::new("scheduler")) };
/// assert_eq!(job.actor().actor_type(), "backend");
/// ```
pub trait ActorContext {
    /// The actor executing the current piece of work.
    fn actor(&self) -> Arc<dyn Actor>;
}

impl ActorContext for CurrentActor {
    fn actor(&self) -> Arc<dyn Actor> {
        self.0.clone()
    }
}

impl ActorContext for Arc<dyn Actor> {
    fn actor(&self) -> Arc<dyn Actor> {
        self.clone()
    }
}

impl<T: Actor> ActorContext for Arc<T> {
    fn actor(&self) -> Arc<dyn Actor> {
        self.clone()
    }
}

impl<C: ActorContext + ?Sized> ActorContext for &C {
    fn actor(&self) -> Arc<dyn Actor> {
        (**self).actor()
    }
}

/// The current actor of `source` as a `T`.
///
/// # Errors
///
/// [`IdentityError::WrongType`], naming the expected and the actual type, when the actor is not
/// a `T`.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{require_actor, Actor, BackendActor, WebSocketActor};
///
/// let actor: Arc<dyn Actor> = Arc::new(WebSocketActor::builder("c1").build());
/// let conn: Arc<WebSocketActor> = require_actor(&actor).unwrap();
/// assert_eq!(conn.connection_id(), "c1");
/// assert!(require_actor::<BackendActor>(&actor).is_err());
/// ```
pub fn require_actor<T: Actor>(
    source: &(impl ActorContext + ?Sized),
) -> Result<Arc<T>, IdentityError> {
    source
        .actor()
        .downcast_arc::<T>()
        .map_err(|actor| wrong_type::<T>(&*actor))
}

/// `actor` as a `&T`, for when you hold a borrowed actor.
///
/// # Errors
///
/// [`IdentityError::WrongType`] when the actor is not a `T`.
///
/// ```
/// use flame_actor::{require_actor_ref, Actor, BackendActor, WebSocketActor};
///
/// let actor: &dyn Actor = &BackendActor::new("startup");
/// assert_eq!(require_actor_ref::<BackendActor>(actor).unwrap().name(), "startup");
/// let err = require_actor_ref::<WebSocketActor>(actor).unwrap_err();
/// assert!(err.to_string().contains("actor type \"backend\""));
/// ```
pub fn require_actor_ref<T: Actor>(actor: &dyn Actor) -> Result<&T, IdentityError> {
    actor
        .downcast_ref::<T>()
        .ok_or_else(|| wrong_type::<T>(actor))
}

fn wrong_type<T: Actor>(actual: &dyn Actor) -> IdentityError {
    IdentityError::WrongType {
        expected: std::any::type_name::<T>(),
        actual: actual.rust_type_name(),
        actual_type: actual.actor_type().to_owned(),
    }
}

/// A request's actor: the one a middleware set with [`ContextActorExt::set_actor`] (or mapped
/// as a [`CurrentActor`]), else the task-local scope's, else the default
/// [`BackendActor`](crate::BackendActor).
///
/// ```
/// use flame_actor::{ActorContext, ContextActorExt};
/// use flame_core::{Context, Flame};
///
/// let mut f = Flame::new();
/// f.get("/whoami", |c: Context| c.actor().actor_type().to_owned()); // "backend"
/// ```
impl ActorContext for flame_core::Context {
    fn actor(&self) -> Arc<dyn Actor> {
        match self.get::<CurrentActor>() {
            Some(current) => current.0,
            None => crate::identity::current_actor(),
        }
    }
}

/// Setting the actor of a request.
pub trait ContextActorExt {
    /// Makes `actor` the actor of the rest of this request: mapped as [`CurrentActor`] (so
    /// handlers can take it as an argument) and recorded on the request's span as
    /// `actor.type` / `actor.id`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::{Actor, ActorContext, ContextActorExt, CurrentActor};
    /// use flame_core::{Context, Flame, HandlerExt};
    ///
    /// #[derive(Debug)]
    /// struct ApiToken(String);
    /// impl Actor for ApiToken {
    ///     fn actor_type(&self) -> &str { "api_token" }
    ///     fn actor_id(&self) -> Option<String> { Some(self.0.clone()) }
    /// }
    ///
    /// let mut f = Flame::new();
    /// f.use_((|c: Context| c.set_actor(Arc::new(ApiToken("ci".into())))).provides::<CurrentActor>());
    /// f.get("/", |actor: CurrentActor| actor.actor_type().to_owned()); // "api_token"
    /// ```
    fn set_actor(&self, actor: Arc<dyn Actor>);
}

impl ContextActorExt for flame_core::Context {
    fn set_actor(&self, actor: Arc<dyn Actor>) {
        self.record_actor(actor.actor_type(), actor.actor_id().as_deref());
        self.map(CurrentActor(actor));
    }
}
