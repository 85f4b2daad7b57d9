//! flame's actors.
//!
//! - [`identity`]: actors as identity, in the manner of Flamigo: [`Actor`], [`CurrentActor`],
//!   [`BackendActor`], [`WebSocketActor`], [`ActorContext`], [`require_actor`], the task-local
//!   [`actor_scope`].
//! - [`stateful`]: stateful, durable actors, in the manner of Rivet: [`stateful::StatefulActor`],
//!   [`stateful::ActorSystem`].
//! - [`store`]: where stateful actors keep their state: [`store::ActorStore`], redb, memory.
//! - [`protocol`]: the versioned JSON messages between clients and actors, and the error codes.
//! - [`websocket`]: WebSocket endpoints for plain flame apps, `f.websocket("/ws", handler)`
//!   ([`websocket::WebSocketExt`]), whose connections act as a [`WebSocketActor`].
//! - [`transport`]: an actor system on a flame app: WebSocket connections, the HTTP RPC, the
//!   JavaScript client.
//! - [`client`]: the Rust client, over tokio-tungstenite, with reconnects.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

// Lets `#[actions]` name this crate as `::flame_actor` from inside it too.
#[allow(unused_extern_crates)]
extern crate self as flame_actor;

pub mod client;
pub mod identity;
pub mod protocol;
pub mod stateful;
pub mod store;
pub mod transport;
pub mod websocket;

pub use identity::{
    Actor, ActorContext, ActorError, ActorScope, BackendActor, ContextActorExt, CurrentActor,
    WebSocketActor, WebSocketIdentity, actor_scope, current_actor, require_actor,
    require_actor_ref, spawn_as,
};
pub use websocket::{WebSocketConfig, WebSocketConnection, WebSocketExt};

#[doc(hidden)]
pub use stateful::rpc::__private;
