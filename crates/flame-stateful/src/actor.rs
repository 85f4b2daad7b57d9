//! The [`StatefulActor`] trait: an actor's types and its lifecycle hooks.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::connection::{ConnId, Connection};
use super::context::ActorCtx;
use super::error::ActorError;
use crate::store::ActorId;
use flame_actor::Actor;

/// A long-lived object with persisted state, lifecycle hooks, connections and actions.
///
/// The types travel as associated types; every hook but [`on_initialize`] has a default, so
/// an actor writes only the hooks it needs (`async fn` in the impl is fine). Actions (RPC
/// methods) live in an inherent impl marked [`#[actions]`](crate::actions).
///
/// The order of hooks in an instance's life:
///
/// 1. [`on_initialize`] once in the actor's whole life; its result is committed with the
///    first request the actor accepts (a call of an existing action, a connection that
///    passed `on_before_connect`), before that request is answered. A key that only saw
///    refused requests is never written.
/// 2. [`on_start`] at every start (the first, and after an unload, a crash or a restart of
///    the program), before any message or connection is handled.
/// 3. Per connection: [`on_before_connect`] (its error refuses the connection), then
///    [`on_connect`] (nothing the connection sends is handled before it succeeds; its error
///    disconnects), and [`on_disconnect`] exactly once per connection that passed
///    `on_before_connect`.
/// 4. [`on_state_change`] after each action or hook that changed the state.
///
/// ```
/// use flame_stateful::{ActorCtx, ActorError, ConnectOptions, InitCtx, StatefulActor};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default)]
/// struct Counter;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct State { count: i64 }
///
/// #[derive(Deserialize)]
/// struct Params { token: String }
///
/// #[derive(Default)]
/// struct ConnState { user: String }
///
/// impl StatefulActor for Counter {
///     type State = State;
///     type ConnParams = Params;
///     type ConnState = ConnState;
///
///     async fn on_initialize(&self, _ctx: &InitCtx) -> Result<State, ActorError> {
///         Ok(State { count: 0 })
///     }
///
///     async fn on_state_change(&self, ctx: &mut ActorCtx<Self>) {
///         ctx.broadcast("count", ctx.state().count);
///     }
///
///     async fn on_before_connect(
///         &self,
///         _ctx: &mut ActorCtx<Self>,
///         opts: &ConnectOptions<Params>,
///     ) -> Result<ConnState, ActorError> {
///         match opts.params.token.strip_prefix("user:") {
///             Some(user) => Ok(ConnState { user: user.to_owned() }),
///             None => Err(ActorError::unauthorized("invalid auth token")),
///         }
///     }
/// }
/// ```
///
/// [`on_initialize`]: StatefulActor::on_initialize
/// [`on_start`]: StatefulActor::on_start
/// [`on_state_change`]: StatefulActor::on_state_change
/// [`on_before_connect`]: StatefulActor::on_before_connect
/// [`on_connect`]: StatefulActor::on_connect
/// [`on_disconnect`]: StatefulActor::on_disconnect
pub trait StatefulActor: Send + Sync + Sized + 'static {
    /// The persisted state (stored as JSON).
    type State: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    /// What a client sends when it connects (JSON).
    type ConnParams: DeserializeOwned + Send + Sync + 'static;
    /// What [`on_before_connect`](StatefulActor::on_before_connect) returns; kept with the
    /// connection, not persisted. `Default` lets that hook have a default.
    type ConnState: Default + Send + Sync + 'static;

    /// The version of [`State`](StatefulActor::State) this code reads and writes; it is
    /// stored with the state. Raise it when the state's type changes in a way older stored
    /// states do not deserialize as, and teach [`migrate`](StatefulActor::migrate) the older
    /// forms. Versions start at 1; a state stored before versions existed is version 1.
    /// A stored state newer than this is refused (the key stays unavailable), never read.
    /// Default: 1.
    const STATE_VERSION: u32 = 1;

    /// Turns a state stored at `from_version` (older than
    /// [`STATE_VERSION`](StatefulActor::STATE_VERSION)) into the current state. It runs when
    /// such a state is loaded, before `on_start`; the result is written back (at the current
    /// version) before anything the actor does afterwards is released, so each stored
    /// version is migrated once. An error (or a panic) leaves the key unavailable with an
    /// error naming the actor, the version and the reason, until an operator repairs the
    /// state ([`ActorSystem::repair_state`](crate::ActorSystem::repair_state)).
    ///
    /// The default knows no older version: it fails.
    ///
    /// ```
    /// use flame_stateful::{ActorError, InitCtx, StatefulActor};
    /// use serde::{Deserialize, Serialize};
    /// use serde_json::{Value, json};
    ///
    /// struct Doc;
    ///
    /// /// Version 2: the title was split from the body (version 1 was one string).
    /// #[derive(Clone, Serialize, Deserialize)]
    /// struct State { title: String, body: String }
    ///
    /// impl StatefulActor for Doc {
    ///     type State = State;
    ///     type ConnParams = ();
    ///     type ConnState = ();
    ///     const STATE_VERSION: u32 = 2;
    ///
    ///     fn migrate(from_version: u32, stored: Value) -> Result<State, ActorError> {
    ///         match from_version {
    ///             1 => {
    ///                 let text: String = serde_json::from_value(stored)?;
    ///                 let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    ///                 Ok(State { title: title.into(), body: body.into() })
    ///             }
    ///             v => Err(ActorError::internal(format!("unknown state version {v}"))),
    ///         }
    ///     }
    ///
    ///     async fn on_initialize(&self, _: &InitCtx) -> Result<State, ActorError> {
    ///         Ok(State { title: String::new(), body: String::new() })
    ///     }
    /// }
    ///
    /// let state = Doc::migrate(1, json!("Hello\nworld")).unwrap();
    /// assert_eq!((state.title.as_str(), state.body.as_str()), ("Hello", "world"));
    /// ```
    fn migrate(from_version: u32, stored: serde_json::Value) -> Result<Self::State, ActorError> {
        let _ = stored;
        Err(ActorError::internal(format!(
            "no migration from state version {from_version} to {}",
            Self::STATE_VERSION
        )))
    }

    /// Makes the initial state, once in the actor's whole life (until the state is first
    /// committed, with the first accepted request, a new activation runs it again).
    fn on_initialize(
        &self,
        ctx: &InitCtx,
    ) -> impl Future<Output = Result<Self::State, ActorError>> + Send;

    /// Runs at every start, before any message or connection is handled: set up resources.
    /// A state stored by older code is already migrated ([`migrate`](StatefulActor::migrate)).
    /// An error (or a panic) fails the start; callers get `unavailable`.
    fn on_start(
        &self,
        ctx: &mut ActorCtx<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs after each action or hook that changed the state; the new state is
    /// `ctx.state()`. Events it broadcasts go out once that change is committed.
    fn on_state_change(&self, ctx: &mut ActorCtx<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Checks a new connection's params and caller; the result becomes the connection's
    /// state. An error refuses the connection and reaches the client with its code and
    /// message (the default code is the error's own, e.g. `unauthorized`).
    fn on_before_connect(
        &self,
        ctx: &mut ActorCtx<Self>,
        opts: &ConnectOptions<Self::ConnParams>,
    ) -> impl Future<Output = Result<Self::ConnState, ActorError>> + Send {
        let _ = (ctx, opts);
        async { Ok(Self::ConnState::default()) }
    }

    /// Runs once the connection is accepted, before anything it sends is handled. An error
    /// disconnects it (and `on_disconnect` runs).
    fn on_connect(
        &self,
        ctx: &mut ActorCtx<Self>,
        conn: &Connection<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, conn);
        async { Ok(()) }
    }

    /// Runs exactly once per connection that passed `on_before_connect`, however it ends
    /// (the client left, `on_connect` failed, the actor was destroyed or shut down).
    fn on_disconnect(
        &self,
        ctx: &mut ActorCtx<Self>,
        conn: &Connection<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, conn);
        async {}
    }
}

/// What `on_initialize` knows: which actor it is initializing.
///
/// ```
/// use flame_stateful::InitCtx;
/// use flame_stateful::store::ActorId;
/// let ctx = InitCtx::new(ActorId::new("counter", "a"));
/// assert_eq!((ctx.name(), ctx.key()), ("counter", "a"));
/// ```
#[derive(Debug, Clone)]
pub struct InitCtx {
    id: ActorId,
}

impl InitCtx {
    /// The context for initializing the actor `id`.
    pub fn new(id: ActorId) -> Self {
        Self { id }
    }

    /// The actor's kind name.
    pub fn name(&self) -> &str {
        &self.id.name
    }

    /// The actor's key.
    pub fn key(&self) -> &str {
        &self.id.key
    }

    /// The actor's id.
    pub fn id(&self) -> &ActorId {
        &self.id
    }
}

/// What [`StatefulActor::on_before_connect`] gets to decide on a connection.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectOptions<P> {
    /// The client's parameters.
    pub params: P,
    /// Who is connecting (a WebSocket actor, a user actor, ...).
    pub caller: Arc<dyn Actor>,
    /// The id the connection will have.
    pub conn_id: ConnId,
}
