//! flame's stateful actors, in the manner of Rivet: long-lived objects with persisted state,
//! lifecycle hooks, connections that carry their own state, actions (RPC methods) and
//! events, which survive restarts and crashes without losing acknowledged state.
//!
//! - [`StatefulActor`]: the trait, its types and hooks; [`ActorCtx`], [`Rpc`]: what hooks
//!   and actions see; [`actions`]: the attribute that turns an inherent impl into the
//!   dispatch table.
//! - [`ActorSystem`]: kinds by name, instances by (name, key), calls, connections, destroy.
//! - [`Handle`], [`CallError`]: typed calls (`Counter::handle(&system, key).increment(2)`),
//!   written by [`actions`]; a handler can return their error.
//! - [`Connection`], [`ConnectionHandle`]: a client's connection, from both sides.
//! - [`ActorConfig`]: every limit and timeout.
//! - [`CommitStats`], [`CommitRecord`]: the group committer at work, counted and its last
//!   [`RECENT_COMMITS`] transactions (`commit.rs`, `commit_record.rs`).
//! - [`StateError`]: a stored state this code cannot read (versions and migrations:
//!   [`StatefulActor::STATE_VERSION`], [`StatefulActor::migrate`]).
//! - [`store`]: where the state is kept: [`store::ActorStore`], redb (the `redb` feature, on
//!   by default), memory.
//! - [`cluster`]: several nodes sharing one store (cluster mode): the [`cluster::Directory`]
//!   a clustered store implements (ownership with epochs, fenced commits, the node's lease),
//!   forwarding to the owning node.
//! - [`transport`]: an actor system on a flame app: WebSocket connections, the HTTP RPC, the
//!   JavaScript client.
//! - [`protocol`]: the wire messages and error codes (the `flame-protocol` crate).
//!
//! Who calls is an identity actor from `flame-actor`; the Rust client is `flame-client`.
//!
//! **The durability rule: an acknowledged change is never lost.** After a message changed
//! the state, the state is committed to the store before the reply and the events go out;
//! writes from many actors are grouped into one transaction. Rivet throttles its saves; flame
//! commits before it answers.
//!
//! ```
//! use std::sync::Arc;
//! use flame_actor::Actor;
//! use flame_protocol::ServerMessage;
//! use flame_stateful::{actions, ActorCtx, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
//! use flame_stateful::store::MemoryStore;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default)]
//! struct Counter;
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct State { count: i64 }
//!
//! impl StatefulActor for Counter {
//!     type State = State;
//!     type ConnParams = ();
//!     type ConnState = ();
//!
//!     async fn on_initialize(&self, _: &InitCtx) -> Result<State, ActorError> {
//!         Ok(State { count: 0 })
//!     }
//!
//!     async fn on_state_change(&self, ctx: &mut ActorCtx<Self>) {
//!         ctx.broadcast("count", ctx.state().count);
//!     }
//! }
//!
//! #[actions]
//! impl Counter {
//!     async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> Result<i64, ActorError> {
//!         rpc.state_mut().count += by;
//!         Ok(rpc.state().count)
//!     }
//! }
//!
//! #[derive(Debug)]
//! struct Browser;
//! impl Actor for Browser { fn actor_type(&self) -> &str { "websocket" } }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let system = ActorSystem::builder()
//!     .store(MemoryStore::new())
//!     .register_default::<Counter>("counter")
//!     .build()
//!     .await?;
//! let mut conn = system.connect("counter", "room-1", "", Arc::new(Browser)).await?;
//! assert!(matches!(conn.recv().await, Some(ServerMessage::Init { .. })));
//! conn.subscribe("count").await?;
//! conn.send_text(r#"{"v":1,"type":"rpc","id":1,"method":"increment","args":[2]}"#).await?;
//! // the event and the answer come once the new count is committed
//! assert_eq!(conn.recv().await, Some(ServerMessage::Event { event: "count".into(), payload: 2.into() }));
//! assert_eq!(conn.recv().await, Some(ServerMessage::RpcOk { id: 1, output: 2.into() }));
//! system.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

// Lets `#[actions]` name this crate as `::flame_stateful` from inside it too.
#[allow(unused_extern_crates)]
extern crate self as flame_stateful;

pub use flame_protocol as protocol;

pub mod cluster;
pub mod store;
pub mod transport;
#[cfg(feature = "typescript")]
pub mod typescript;

mod actor;
mod commit;
mod commit_record;
mod config;
mod connection;
mod context;
mod error;
mod forward;
mod handle;
mod instance;
mod kv;
mod lifecycle;
mod outbound;
mod rpc;
mod schedule;
mod system;
mod versioned;

pub use self::actor::{ConnectOptions, InitCtx, StatefulActor};
pub use self::commit::{COMMIT_BATCH_BOUNDS, COMMIT_LATENCY_BOUNDS, CommitStats};
pub use self::commit_record::{COMMIT_RECORD_ACTORS, CommitRecord, RECENT_COMMITS};
pub use self::config::ActorConfig;
pub use self::connection::{ConnId, Connection, ConnectionHandle, ConnectionSender, InboundError};
pub use self::context::ActorCtx;
pub use self::error::{ActorError, SystemError};
pub use self::handle::{CallError, Handle, LocalCaller};
pub use self::kv::{Kv, KvPage};
pub use self::outbound::Outbound;
pub(crate) use self::outbound::{Outlet, Refused, Sink};
pub use self::rpc::{Actions, Rpc};
pub use self::schedule::SchedulerActor;
pub use self::system::{ActorRef, ActorSystem, ActorSystemBuilder, LiveKey, StoredState};
pub use self::versioned::StateError;

/// Turns an inherent impl block into the actor's [`Actions`] (its RPC dispatch table).
///
/// Each method with a `&self` receiver becomes an action named after it. Its first
/// argument, if its type mentions `Rpc`, receives the [`Rpc`] context; the others are the
/// positional arguments, deserialized from JSON (missing trailing ones read as `null`, so
/// `Option`s may be left out). It returns a serializable value or a `Result<T, E>` with
/// `E: Into<ActorError>` (such as `ActorError` or `anyhow::Error`).
///
/// `#[action(skip)]` leaves a method out; `#[action(name = "other")]` renames it.
///
/// For an actor type that is not generic, it also writes a typed handle: a struct named
/// after the type (`Counter` -> `CounterHandle`, in the same module) with one `async`
/// method per action, taking the action's argument types and returning
/// `Result<T, CallError>` (`T` is what the action returns, the `T` of a `Result<T, E>`;
/// `&str` reads as `String`), and `Counter::handle(&system, key)` to make one (see
/// [`Handle`]). So the names `handle` (on the actor) and `CounterHandle` are taken; an
/// action whose types mention `Self` leaves the handle out.
///
/// With the `typescript` feature it also writes `Counter::typescript()`, the actor's
/// TypeScript declarations for the JavaScript client (see the `typescript` module).
/// `#[actions(events(name = Type, ...))]` declares the events the actor broadcasts and their
/// payload types for those declarations; without the feature the list is checked for syntax
/// only.
///
/// See [`Actions`] for an example.
pub use flame_macros::actions;

/// The code `#[actions]` writes for the `typescript` feature, kept or dropped by this
/// crate's own features (the calling crate's features cannot tell).
#[doc(hidden)]
#[cfg(feature = "typescript")]
#[macro_export]
macro_rules! __typescript {
    ($($item:tt)*) => { $($item)* };
}

#[doc(hidden)]
#[cfg(not(feature = "typescript"))]
#[macro_export]
macro_rules! __typescript {
    ($($item:tt)*) => {};
}

#[doc(hidden)]
pub use self::rpc::__private;
