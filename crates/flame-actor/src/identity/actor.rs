//! The [`Actor`] trait and the injected [`CurrentActor`].

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

/// Who is executing a piece of work.
///
/// `actor_type` names the kind of identity (`"backend"`, `"websocket"`, `"user"`, or your own),
/// so logic can branch on it; [`dyn Actor::downcast_ref`] recovers the concrete type.
///
/// ```
/// use flame_actor::Actor;
///
/// #[derive(Debug)]
/// struct ApiToken { name: String }
///
/// impl Actor for ApiToken {
///     fn actor_type(&self) -> &str { "api_token" }
///     fn actor_id(&self) -> Option<String> { Some(self.name.clone()) }
/// }
///
/// let actor: &dyn Actor = &ApiToken { name: "ci".into() };
/// assert_eq!(actor.actor_type(), "api_token");
/// assert_eq!(actor.downcast_ref::<ApiToken>().map(|t| t.name.as_str()), Some("ci"));
/// ```
pub trait Actor: Any + Send + Sync + Debug {
    /// The kind of identity, e.g. `"backend"`, `"websocket"`, `"user"`.
    fn actor_type(&self) -> &str;

    /// A stable identifier of this particular actor, where it has one (a user id, a
    /// connection id); recorded as `actor.id` in tracing spans.
    fn actor_id(&self) -> Option<String> {
        None
    }

    /// Typed values this actor carries besides its own fields, where it has any.
    ///
    /// Plugins attach what they know about the actor here without the actor type knowing
    /// them: flame-auth finds the authenticated user of a [`WebSocketActor`] this way. Custom
    /// actors that want the same treatment return their own map.
    ///
    /// [`WebSocketActor`]: crate::identity::WebSocketActor
    ///
    /// ```
    /// use flame_actor::Actor;
    ///
    /// #[derive(Debug)]
    /// struct Job { extensions: http::Extensions }
    ///
    /// impl Actor for Job {
    ///     fn actor_type(&self) -> &str { "job" }
    ///     fn extensions(&self) -> Option<&http::Extensions> { Some(&self.extensions) }
    /// }
    ///
    /// let mut extensions = http::Extensions::new();
    /// extensions.insert(7_u32);
    /// let job: &dyn Actor = &Job { extensions };
    /// assert_eq!(job.extension::<u32>(), Some(&7));
    /// ```
    fn extensions(&self) -> Option<&http::Extensions> {
        None
    }

    /// The Rust type behind this actor, for error messages and logs. Leave the default.
    ///
    /// ```
    /// use flame_actor::{Actor, BackendActor};
    ///
    /// let actor: &dyn Actor = &BackendActor::default();
    /// assert_eq!(actor.rust_type_name(), "flame_actor::identity::backend::BackendActor");
    /// ```
    fn rust_type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl dyn Actor {
    /// Whether the concrete type behind this actor is `T`.
    ///
    /// ```
    /// use flame_actor::{Actor, BackendActor, WebSocketActor};
    ///
    /// let actor: &dyn Actor = &BackendActor::new("scheduler");
    /// assert!(actor.is::<BackendActor>());
    /// assert!(!actor.is::<WebSocketActor>());
    /// ```
    pub fn is<T: Actor>(&self) -> bool {
        (self as &dyn Any).is::<T>()
    }

    /// The concrete actor, if it is a `T`.
    ///
    /// ```
    /// use flame_actor::{Actor, BackendActor};
    ///
    /// let actor: &dyn Actor = &BackendActor::new("startup");
    /// assert_eq!(actor.downcast_ref::<BackendActor>().map(BackendActor::name), Some("startup"));
    /// ```
    pub fn downcast_ref<T: Actor>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }

    /// A typed value from this actor's [`extensions`](Actor::extensions), if it carries one.
    ///
    /// ```
    /// use flame_actor::{Actor, WebSocketActor};
    ///
    /// let conn = WebSocketActor::builder("c1").extension(42_u64).build();
    /// let actor: &dyn Actor = &conn;
    /// assert_eq!(actor.extension::<u64>(), Some(&42));
    /// assert_eq!(actor.extension::<String>(), None);
    /// ```
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.extensions()
            .and_then(|extensions| extensions.get::<T>())
    }

    /// The concrete shared actor, if it is a `T`; gives the `Arc` back otherwise.
    ///
    /// # Errors
    ///
    /// The original `Arc` when the actor is not a `T`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::{Actor, BackendActor, WebSocketActor};
    ///
    /// let actor: Arc<dyn Actor> = Arc::new(BackendActor::new("startup"));
    /// let actor = actor.downcast_arc::<WebSocketActor>().unwrap_err();
    /// let backend: Arc<BackendActor> = actor.downcast_arc().unwrap();
    /// assert_eq!(backend.name(), "startup");
    /// ```
    pub fn downcast_arc<T: Actor>(self: Arc<Self>) -> Result<Arc<T>, Arc<Self>> {
        if self.is::<T>() {
            let any: Arc<dyn Any + Send + Sync> = self;
            Ok(any
                .downcast::<T>()
                .unwrap_or_else(|_| unreachable!("type checked above")))
        } else {
            Err(self)
        }
    }
}

/// The actor executing the current request, message or job, as an injectable value.
///
/// Handlers take it as an argument like any other service; it is also an
/// [`ActorContext`](crate::identity::ActorContext).
///
/// ```
/// use flame_actor::{BackendActor, CurrentActor};
///
/// let current = CurrentActor::new(BackendActor::new("startup"));
/// assert_eq!(current.actor_type(), "backend");
/// assert_eq!(current.actor_id().as_deref(), Some("startup"));
/// ```
#[derive(Clone, Debug)]
pub struct CurrentActor(pub Arc<dyn Actor>);

impl CurrentActor {
    /// Wraps an actor.
    ///
    /// ```
    /// use flame_actor::{BackendActor, CurrentActor};
    ///
    /// let current = CurrentActor::new(BackendActor::default());
    /// assert!(current.is::<BackendActor>());
    /// ```
    pub fn new(actor: impl Actor) -> Self {
        Self(Arc::new(actor))
    }

    /// The shared actor (the same one [`ActorContext::actor`] hands out as an owned `Arc`).
    ///
    /// [`ActorContext::actor`]: crate::identity::ActorContext::actor
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::{Actor, BackendActor, CurrentActor};
    ///
    /// let actor: Arc<dyn Actor> = Arc::new(BackendActor::default());
    /// let current = CurrentActor(actor.clone());
    /// assert!(Arc::ptr_eq(current.actor(), &actor));
    /// ```
    pub fn actor(&self) -> &Arc<dyn Actor> {
        &self.0
    }
}

impl std::ops::Deref for CurrentActor {
    type Target = dyn Actor;

    fn deref(&self) -> &dyn Actor {
        &*self.0
    }
}
