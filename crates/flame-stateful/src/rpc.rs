//! Actions: [`Rpc`], what an action sees, and [`Actions`], the dispatch table that
//! [`#[actions]`](crate::actions) writes.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde_json::Value;

use super::actor::StatefulActor;
use super::connection::{ConnId, Connection};
use super::context::ActorCtx;
use super::error::ActorError;
use flame_actor::Actor;

/// What an action sees: the actor's context (through `Deref`: state, broadcast, schedule,
/// shutdown), plus who is calling and over which connection.
///
/// ```
/// use flame_stateful::{Rpc, StatefulActor};
///
/// fn who<A: StatefulActor>(rpc: &Rpc<A>) -> String {
///     match rpc.conn() {
///         Some(conn) => format!("connection {} of {:?}", conn.id(), rpc.caller()),
///         None => format!("{:?} without a connection", rpc.caller()),
///     }
/// }
/// ```
pub struct Rpc<A: StatefulActor> {
    pub(crate) ctx: ActorCtx<A>,
    pub(crate) caller: Arc<dyn Actor>,
    pub(crate) conn: Option<ConnId>,
}

impl<A: StatefulActor> std::fmt::Debug for Rpc<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc")
            .field("ctx", &self.ctx)
            .field("caller", &self.caller)
            .field("conn", &self.conn)
            .finish()
    }
}

impl<A: StatefulActor> Rpc<A> {
    /// Who is calling: the connection's caller, the in-process caller, or the scheduler for
    /// scheduled calls.
    pub fn caller(&self) -> &Arc<dyn Actor> {
        &self.caller
    }

    /// The calling connection's id, if the call came over one.
    pub fn conn_id(&self) -> Option<ConnId> {
        self.conn
    }

    /// The calling connection, if the call came over one.
    pub fn conn(&self) -> Option<&Connection<A>> {
        self.conn.and_then(|id| self.ctx.connection(id))
    }

    /// The calling connection, to change its state or subscriptions.
    pub fn conn_mut(&mut self) -> Option<&mut Connection<A>> {
        match self.conn {
            Some(id) => self.ctx.connection_mut(id),
            None => None,
        }
    }
}

impl<A: StatefulActor> Deref for Rpc<A> {
    type Target = ActorCtx<A>;

    fn deref(&self) -> &ActorCtx<A> {
        &self.ctx
    }
}

impl<A: StatefulActor> DerefMut for Rpc<A> {
    fn deref_mut(&mut self) -> &mut ActorCtx<A> {
        &mut self.ctx
    }
}

/// An actor's dispatch table: action name -> arguments from JSON -> call -> result to JSON.
///
/// Write it with [`#[actions]`](crate::actions) on an inherent impl block rather
/// than by hand:
///
/// ```
/// use flame_stateful::{actions, ActorError, Actions, InitCtx, Rpc, StatefulActor};
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
///     /// Adds `by` and returns the new count.
///     async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> Result<i64, ActorError> {
///         *rpc.state_mut() += by;
///         Ok(*rpc.state())
///     }
///
///     async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
///         *rpc.state()
///     }
/// }
///
/// assert_eq!(Counter::ACTIONS, &["increment", "get"]);
/// ```
pub trait Actions: StatefulActor {
    /// The action names, in declaration order.
    const ACTIONS: &'static [&'static str];

    /// Calls the action `method` with positional JSON `args`.
    ///
    /// Errors: `action_not_found` for an unknown name, `invalid_arguments` for a wrong count or
    /// type, and whatever the action returns.
    fn dispatch(
        &self,
        rpc: &mut Rpc<Self>,
        method: &str,
        args: Vec<Value>,
    ) -> impl Future<Output = Result<Value, ActorError>> + Send;
}

/// What the `#[actions]` macro expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json::Value;

    pub use crate::handle::{Argument, Output};
    #[cfg(feature = "typescript")]
    pub use crate::typescript::{Declarations, Described};
    pub use flame_actor::Actor;

    use super::ActorError;
    use crate::protocol::ErrorCode;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// The positional arguments of one call.
    #[derive(Debug)]
    pub struct Args {
        method: &'static str,
        expected: usize,
        got: usize,
        args: std::vec::IntoIter<Value>,
        index: usize,
    }

    impl Args {
        /// Checks the count (missing trailing arguments read as `null`, for `Option`s).
        pub fn new(
            method: &'static str,
            args: Vec<Value>,
            expected: usize,
        ) -> Result<Self, ActorError> {
            let got = args.len();
            if got > expected {
                return Err(count_error(method, expected, got));
            }
            Ok(Self {
                method,
                expected,
                got,
                args: args.into_iter(),
                index: 0,
            })
        }

        /// The next argument, as a `T`.
        pub fn next<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, ActorError> {
            let index = self.index;
            self.index += 1;
            match self.args.next() {
                Some(value) => serde_json::from_value(value).map_err(|e| {
                    ActorError::with_code(
                        ErrorCode::InvalidArguments,
                        format!("argument {index} (`{name}`) of `{}`: {e}", self.method),
                    )
                }),
                None => serde_json::from_value(Value::Null)
                    .map_err(|_| count_error(self.method, self.expected, self.got)),
            }
        }
    }

    fn count_error(method: &str, expected: usize, got: usize) -> ActorError {
        ActorError::with_code(
            ErrorCode::InvalidArguments,
            format!("`{method}` takes {expected} argument(s), got {got}"),
        )
    }

    /// An action's plain return value, as JSON.
    pub fn output<T: Serialize>(value: T) -> Result<Value, ActorError> {
        serde_json::to_value(value).map_err(ActorError::internal)
    }

    /// An action's `Result`, as JSON or an [`ActorError`].
    pub fn result<T: Serialize, E: Into<ActorError>>(
        value: Result<T, E>,
    ) -> Result<Value, ActorError> {
        match value {
            Ok(value) => output(value),
            Err(e) => Err(e.into()),
        }
    }

    /// `action_not_found`.
    pub fn not_found(method: &str) -> ActorError {
        ActorError::with_code(
            ErrorCode::ActionNotFound,
            format!("no action named `{method}`"),
        )
    }
}
