//! flame's web core: Flamego's ergonomics on tokio, hyper and axum.
//!
//! Any function is a handler; its arguments are injected by type when a request comes in;
//! whatever it returns becomes the response; middleware is a handler that calls
//! [`c.next().await`](Context::next).
//!
//! ```no_run
//! use flame_core::Flame;
//!
//! fn main() -> Result<(), flame_core::ServeError> {
//!     let mut f = Flame::classic();
//!     f.get("/", || "Hello, flame!");
//!     f.run() // FLAME_ADDR, default 0.0.0.0:2830
//! }
//! ```
//!
//! # Modules, in the order a request meets them
//!
//! - [`flame`]: [`Flame`], an independent instance: middleware, routes, groups, settings,
//!   the startup [`check`](Flame::check).
//! - [`server`]: [`FlameService`] (a tower `Service`, mountable in axum), `run`, `serve`.
//! - [`router`]: the route parser and matching tree.
//! - [`context`]: [`Context`], the request: the chain, request-scoped values, params.
//! - [`request`], [`params`], [`response_writer`], [`render`]: the builtin services every request has.
//! - [`bind`]: typed JSON, form and query data through serde ([`Json`], [`Form`], [`Query`]).
//! - [`handler`]: [`Handler`], any function as a handler; [`BoxedHandler`]; `provides`.
//! - [`return_value`]: [`Return`], [`Reply`], [`ReturnError`], [`Json`], [`Axum`], [`ReturnHandler`].
//! - [`logger`], [`recovery`], [`static_files`]: the classic middleware.
//! - [`websocket`]: upgrading a request to a WebSocket from a handler.
//! - [`env`]: [`Env`], from `FLAME_ENV`.
//! - [`error`]: [`HttpError`] for handlers, [`ServeError`], the [`CheckReport`].
//!
//! Services registered with `#[service]` anywhere in the program are mapped by
//! [`Flame::new`]; `#[handler]` turns a `fn` into a handler that may also borrow (`&T`).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod bind;
pub mod context;
pub mod env;
pub mod error;
pub mod flame;
pub mod handler;
pub mod logger;
pub mod params;
pub mod recovery;
pub mod render;
pub mod request;
pub mod response_writer;
pub mod return_value;
pub mod router;
pub mod server;
pub mod static_files;
pub mod websocket;

pub use bind::{Form, Query};
pub use context::Context;
pub use env::{Env, env, set_env};
pub use error::{CheckReport, HttpError, MissingDependency, ServeError};
pub use flame::{Combo, Flame, RouteRef};
pub use flame_inject::{Injector, Key, Slot};
pub use flame_macros::{handler, service};
pub use handler::{BoxedHandler, Handler, HandlerExt, IntoHandlers, Invocable, Invocation};
pub use http::{HeaderMap, Method, StatusCode};
pub use logger::{Logger, logger};
pub use params::Params;
pub use recovery::{Recovery, recovery};
pub use render::Render;
pub use request::Request;
pub use response_writer::ResponseWriter;
pub use return_value::{Axum, Json, Reply, Return, ReturnError, ReturnHandler};
pub use server::FlameService;
pub use static_files::{Static, StaticOptions, static_files};

#[doc(hidden)]
pub mod __private {
    pub use crate::handler::{Dependency, resolve, resolve_shared, write_return};
    pub use flame_inject;
}
