//! The task-local actor scope: identity that survives `.await` and, on request, `tokio::spawn`.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::task::JoinHandle;

use crate::identity::{Actor, ActorContext, BackendActor};

tokio::task_local! {
    static CURRENT: Arc<dyn Actor>;
}

/// The shared default actor: a [`BackendActor`] named [`BackendActor::DEFAULT_NAME`].
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::default_actor;
///
/// assert_eq!(default_actor().actor_type(), "backend");
/// assert!(Arc::ptr_eq(&default_actor(), &default_actor()));
/// ```
pub fn default_actor() -> Arc<dyn Actor> {
    static DEFAULT: OnceLock<Arc<dyn Actor>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| Arc::new(BackendActor::default()))
        .clone()
}

/// Runs `future` with `actor` as the current actor, across every `.await` inside it.
///
/// Scopes nest: an inner scope shadows the outer one until it ends. A task started with
/// `tokio::spawn` inside the scope does *not* inherit it (tokio task-locals never cross
/// `spawn`); use [`spawn_as`] or [`spawn_with_current_actor`] for that.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{actor_scope, current_actor};
/// use flame_actor::WebSocketActor;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let conn = Arc::new(WebSocketActor::builder("c1").build());
/// let seen = actor_scope(conn, async {
///     tokio::task::yield_now().await;
///     current_actor().actor_type().to_owned()
/// })
/// .await;
/// assert_eq!(seen, "websocket");
/// assert_eq!(current_actor().actor_type(), "backend");
/// # }
/// ```
pub fn actor_scope<F: Future>(actor: Arc<dyn Actor>, future: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(actor, future)
}

/// Runs the synchronous `f` with `actor` as the current actor.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{current_actor, with_actor};
/// use flame_actor::BackendActor;
///
/// let name = with_actor(Arc::new(BackendActor::new("startup")), || current_actor().actor_id());
/// assert_eq!(name.as_deref(), Some("startup"));
/// ```
pub fn with_actor<R>(actor: Arc<dyn Actor>, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(actor, f)
}

/// The current actor: the one of the innermost [`actor_scope`], or the default
/// [`BackendActor`] outside any scope.
///
/// ```
/// use flame_actor::identity::current_actor;
/// use flame_actor::BackendActor;
///
/// assert!(current_actor().is::<BackendActor>());
/// ```
pub fn current_actor() -> Arc<dyn Actor> {
    try_current_actor().unwrap_or_else(default_actor)
}

/// The actor of the innermost [`actor_scope`], or `None` outside any scope.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{try_current_actor, with_actor};
/// use flame_actor::BackendActor;
///
/// assert!(try_current_actor().is_none());
/// assert!(with_actor(Arc::new(BackendActor::default()), try_current_actor).is_some());
/// ```
pub fn try_current_actor() -> Option<Arc<dyn Actor>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Spawns `future` on the tokio runtime with `actor` as its current actor.
///
/// # Panics
///
/// Outside a tokio runtime, like `tokio::spawn`.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{current_actor, spawn_as};
/// use flame_actor::BackendActor;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let job = spawn_as(Arc::new(BackendActor::new("scheduler")), async {
///     current_actor().actor_id()
/// });
/// assert_eq!(job.await.unwrap().as_deref(), Some("scheduler"));
/// # }
/// ```
pub fn spawn_as<F>(actor: Arc<dyn Actor>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(CURRENT.scope(actor, future))
}

/// Spawns `future` with the spawning task's current actor (see [`current_actor`]), so the
/// identity follows the work into the new task.
///
/// # Panics
///
/// Outside a tokio runtime, like `tokio::spawn`.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{actor_scope, current_actor, spawn_with_current_actor};
/// use flame_actor::WebSocketActor;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let conn = Arc::new(WebSocketActor::builder("c7").build());
/// let id = actor_scope(conn, async {
///     spawn_with_current_actor(async { current_actor().actor_id() }).await.unwrap()
/// })
/// .await;
/// assert_eq!(id.as_deref(), Some("c7"));
/// # }
/// ```
pub fn spawn_with_current_actor<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_as(current_actor(), future)
}

/// The task-local actor scope as an [`ActorContext`]: wherever there is no request context at
/// hand (a background job, a listener), `ActorScope` answers "who is acting?".
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::identity::{ActorContext, ActorScope, actor_scope};
/// use flame_actor::BackendActor;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(ActorScope.actor().actor_id().as_deref(), Some("system"));
/// let id = actor_scope(Arc::new(BackendActor::new("startup")), async {
///     ActorScope.actor().actor_id()
/// })
/// .await;
/// assert_eq!(id.as_deref(), Some("startup"));
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActorScope;

impl ActorScope {
    /// Whether an actor scope is active in this task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_actor::identity::{with_actor, ActorScope};
    /// use flame_actor::BackendActor;
    ///
    /// assert!(!ActorScope::is_active());
    /// assert!(with_actor(Arc::new(BackendActor::default()), ActorScope::is_active));
    /// ```
    pub fn is_active() -> bool {
        CURRENT.try_with(|_| ()).is_ok()
    }
}

impl ActorContext for ActorScope {
    fn actor(&self) -> Arc<dyn Actor> {
        current_actor()
    }
}

/// A tracing span that records who is acting (`actor.type`, `actor.id`); enter it, or
/// `.instrument(..)` a future with it, so every log line inside names the actor.
///
/// ```
/// use flame_actor::identity::actor_span;
/// use flame_actor::BackendActor;
///
/// let span = actor_span(&BackendActor::new("scheduler"));
/// let _guard = span.enter();
/// tracing::info!("running the nightly job");
/// ```
pub fn actor_span(actor: &dyn Actor) -> tracing::Span {
    tracing::info_span!(
        "actor",
        actor.r#type = actor.actor_type(),
        actor.id = actor.actor_id().as_deref().unwrap_or("-")
    )
}
