//! [`BackendActor`]: the system itself.

use std::borrow::Cow;

use crate::identity::Actor;

/// The system itself acting: scheduled jobs, startup, a domain calling another domain.
///
/// It is the default actor: [`current_actor`](crate::identity::current_actor) returns one
/// (named [`BackendActor::DEFAULT_NAME`]) wherever no other actor was set. Its
/// [`actor_id`](Actor::actor_id) is the name of the part of the process that acts.
///
/// ```
/// use flame_actor::{Actor, BackendActor};
///
/// let scheduler = BackendActor::new("scheduler");
/// assert_eq!(scheduler.actor_type(), "backend");
/// assert_eq!(scheduler.name(), "scheduler");
/// assert_eq!(BackendActor::default().name(), "system");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackendActor {
    name: Cow<'static, str>,
}

impl BackendActor {
    /// The actor type string of every backend actor.
    pub const TYPE: &'static str = "backend";

    /// The name of the default backend actor.
    pub const DEFAULT_NAME: &'static str = "system";

    /// A backend actor for the named part of the process (`"scheduler"`, `"startup"`, a domain
    /// name). A `&'static str` is kept without allocating.
    ///
    /// ```
    /// use flame_actor::BackendActor;
    ///
    /// let billing = BackendActor::new(format!("domain:{}", "billing"));
    /// assert_eq!(billing.name(), "domain:billing");
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self { name: name.into() }
    }

    /// The name of the part of the process that acts.
    ///
    /// ```
    /// use flame_actor::BackendActor;
    ///
    /// assert_eq!(BackendActor::new("startup").name(), "startup");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for BackendActor {
    fn default() -> Self {
        Self::new(Self::DEFAULT_NAME)
    }
}

impl Actor for BackendActor {
    fn actor_type(&self) -> &str {
        Self::TYPE
    }

    fn actor_id(&self) -> Option<String> {
        Some(self.name.to_string())
    }
}
