//! Typed handles: [`Handle`], what `#[actions]` builds each actor's handle on, and
//! [`CallError`], the error of a call through it, which a flame handler can return.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use flame_actor::Actor;
use flame_core::{Reply, ReturnError, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{ErrorCode, WireError};
use crate::rpc::Actions;
use crate::system::ActorSystem;

/// Who calls through a handle that was given no caller: the program itself, in process.
///
/// ```
/// use flame_actor::Actor;
/// use flame_stateful::LocalCaller;
/// assert_eq!(LocalCaller.actor_type(), "local");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalCaller;

impl Actor for LocalCaller {
    fn actor_type(&self) -> &str {
        "local"
    }
}

/// The error of a call through a typed handle.
///
/// As a flame return value it answers the HTTP status of its code (the table of
/// [`flame_protocol::http_status`]: `action_not_found` 404, `forbidden` 403, an actor's own
/// code 400, ...) with flame's framework error, `{"error":{"code":...,"message":...}}`
/// ([`flame_core::ErrorBody`]), written through the app's `ReturnHandler` like every other
/// framework error; so a handler can `?` a call. (The actor protocol's own HTTP RPC keeps the
/// protocol's bare `{"code":...,"message":...}`.)
///
/// ```
/// use flame_core::{ReturnError, StatusCode};
/// use flame_stateful::CallError;
/// use flame_stateful::protocol::{ErrorCode, WireError};
///
/// let e = CallError::Actor(WireError::new(ErrorCode::Forbidden, "admins only"));
/// assert_eq!(e.code(), "forbidden");
/// assert_eq!(e.status(), StatusCode::FORBIDDEN);
/// let reply = e.into_error_reply();
/// assert_eq!(
///     reply.body_bytes().as_deref(),
///     Some(&br#"{"error":{"code":"forbidden","message":"admins only"}}"#[..])
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The actor, or the actor system, refused the call (its wire error, as a client of
    /// the protocol would see it).
    #[error(transparent)]
    Actor(WireError),
    /// An argument could not be turned into JSON (a map with non-string keys, a failing
    /// `Serialize`).
    #[error("an argument of `{method}` cannot be serialized: {source}")]
    Arguments {
        /// The action.
        method: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// The answer did not read as the action's return type (its `Serialize` and
    /// `Deserialize` disagree).
    #[error("the answer of `{method}` does not read as its return type: {source}")]
    Output {
        /// The action.
        method: &'static str,
        /// Why.
        source: serde_json::Error,
    },
}

impl CallError {
    /// The protocol code: the actor's own, or `internal_error` for the (de)serialization
    /// errors.
    pub fn code(&self) -> &str {
        match self {
            CallError::Actor(e) => &e.code,
            CallError::Arguments { .. } | CallError::Output { .. } => {
                ErrorCode::InternalError.as_str()
            }
        }
    }

    /// The error as a client sees it: the details of the (de)serialization errors stay in
    /// the server log.
    pub fn to_wire(&self) -> WireError {
        match self {
            CallError::Actor(e) => e.clone(),
            CallError::Arguments { .. } | CallError::Output { .. } => WireError::internal(),
        }
    }
}

impl ReturnError for CallError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(crate::protocol::http_status(self.code()))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn into_error_reply(self) -> Reply {
        if !matches!(self, CallError::Actor(_)) {
            tracing::error!(error = %self, "typed actor call failed");
        }
        let status = self.status();
        let wire = self.to_wire();
        Reply::json_error(status, wire.code, wire.message)
    }
}

impl From<CallError> for WireError {
    fn from(e: CallError) -> Self {
        e.to_wire()
    }
}

/// A typed way to one instance of the actor `A`, by key: what the handle `#[actions]`
/// writes for an actor (`Counter::handle(&system, key)`) wraps, one method per action.
///
/// The kind's name is the one `A` was registered under (the first, if twice). Calls come
/// from [`LocalCaller`] unless [`with_caller`](Handle::with_caller) says otherwise (in a
/// handler, `c.actor()`, so that the actor sees who is asking).
///
/// ```
/// use flame_stateful::{actions, ActorError, ActorSystem, Handle, InitCtx, Rpc, StatefulActor};
/// use flame_stateful::store::MemoryStore;
///
/// #[derive(Default)]
/// struct Counter;
///
/// impl StatefulActor for Counter {
///     type State = i64;
///     type ConnParams = ();
///     type ConnState = ();
///     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
/// }
///
/// #[actions]
/// impl Counter {
///     async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
///         *rpc.state_mut() += by;
///         *rpc.state()
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder()
///     .store(MemoryStore::new())
///     .register_default::<Counter>("counter")
///     .build()
///     .await?;
/// // what `#[actions]` writes for you ...
/// let n: i64 = Counter::handle(&system, "a").increment(2).await?;
/// assert_eq!(n, 2);
/// // ... and the untyped layer under it
/// let n: i64 = Handle::<Counter>::new(&system, "a").call("increment", vec![3.into()]).await?;
/// assert_eq!(n, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub struct Handle<A> {
    system: ActorSystem,
    key: Arc<str>,
    caller: Arc<dyn Actor>,
    actor: PhantomData<fn() -> A>,
}

impl<A> Clone for Handle<A> {
    fn clone(&self) -> Self {
        Self {
            system: self.system.clone(),
            key: self.key.clone(),
            caller: self.caller.clone(),
            actor: PhantomData,
        }
    }
}

impl<A> fmt::Debug for Handle<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("actor", &std::any::type_name::<A>())
            .field("key", &self.key)
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl<A: Actions> Handle<A> {
    /// A handle to the instance `key` of `A` in `system`, called by [`LocalCaller`].
    pub fn new(system: &ActorSystem, key: impl Into<Arc<str>>) -> Self {
        Self {
            system: system.clone(),
            key: key.into(),
            caller: Arc::new(LocalCaller),
            actor: PhantomData,
        }
    }

    /// The same instance, called by `caller`.
    #[must_use]
    pub fn with_caller(mut self, caller: Arc<dyn Actor>) -> Self {
        self.caller = caller;
        self
    }

    /// The instance's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Who calls.
    pub fn caller(&self) -> &Arc<dyn Actor> {
        &self.caller
    }

    /// Calls the action `method` with positional JSON `args` and reads the answer as `T`.
    ///
    /// # Errors
    ///
    /// [`CallError::Actor`] with the action's error, or `actor_not_found` (`A` is not
    /// registered), `actor_destroyed`, `unavailable`; [`CallError::Output`] when the answer
    /// is not a `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        args: Vec<Value>,
    ) -> Result<T, CallError> {
        let out = self.call_json(method, args).await?;
        serde_json::from_value(out).map_err(|source| CallError::Output { method, source })
    }

    /// Calls the action `method` with positional JSON `args`; the answer as JSON.
    ///
    /// # Errors
    ///
    /// [`CallError::Actor`] with the action's error, or `actor_not_found` (`A` is not
    /// registered), `actor_destroyed`, `unavailable`.
    pub async fn call_json(
        &self,
        method: &'static str,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let Some(name) = self.system.name_of::<A>() else {
            return Err(CallError::Actor(WireError::new(
                ErrorCode::ActorNotFound,
                format!(
                    "the actor type `{}` is not registered in this system",
                    std::any::type_name::<A>()
                ),
            )));
        };
        self.system
            .call(name, &self.key, method, args, self.caller.clone())
            .await
            .map_err(CallError::Actor)
    }
}

/// An argument of a typed call, as JSON; what the handles `#[actions]` writes require of
/// their argument types.
///
/// The lifetime is there so that the bound `Arg: Argument<'a>` on a handle's method is only
/// checked where the method is called: an action whose argument type is not `Serialize`
/// still compiles, and only its typed call does not.
pub trait Argument<'a> {
    /// The value as JSON.
    ///
    /// # Errors
    ///
    /// [`CallError::Arguments`] when it does not serialize.
    fn to_argument(&self, method: &'static str) -> Result<Value, CallError>;
}

impl<T: Serialize + ?Sized> Argument<'_> for T {
    fn to_argument(&self, method: &'static str) -> Result<Value, CallError> {
        serde_json::to_value(self).map_err(|source| CallError::Arguments { method, source })
    }
}

/// An action's answer read back from JSON; the return-type side of [`Argument`].
pub trait Output<'a>: Sized {
    /// The value from JSON.
    ///
    /// # Errors
    ///
    /// [`CallError::Output`] when it does not read as `Self`.
    fn from_output(method: &'static str, value: Value) -> Result<Self, CallError>;
}

impl<T: DeserializeOwned> Output<'_> for T {
    fn from_output(method: &'static str, value: Value) -> Result<Self, CallError> {
        serde_json::from_value(value).map_err(|source| CallError::Output { method, source })
    }
}
