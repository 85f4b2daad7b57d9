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
}

impl dyn Actor {
    /// Whether the concrete type behind this actor is `T`.
    pub fn is<T: Actor>(&self) -> bool {
        (self as &dyn Any).is::<T>()
    }

    /// The concrete actor, if it is a `T`.
    pub fn downcast_ref<T: Actor>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }

    /// The concrete shared actor, if it is a `T`; gives the `Arc` back otherwise.
    ///
    /// # Errors
    ///
    /// The original `Arc` when the actor is not a `T`.
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
/// Handlers take it as an argument like any other service.
#[derive(Clone, Debug)]
pub struct CurrentActor(pub Arc<dyn Actor>);

impl CurrentActor {
    /// Wraps an actor.
    pub fn new(actor: impl Actor) -> Self {
        Self(Arc::new(actor))
    }

    /// The shared actor.
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
