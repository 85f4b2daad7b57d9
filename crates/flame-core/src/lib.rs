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
//! # Contents, in the order a request meets them
//!
//! Each concept is a private file named after it, its types re-exported here; only the
//! modules that group free functions are public.
//!
//! - [`Flame`] (`flame.rs`): an independent instance: middleware, routes, groups, settings,
//!   the startup [`check`](Flame::check); [`RouteRef`], [`Combo`], [`METHODS`].
//! - [`server`]: [`FlameService`] (a tower `Service`, mountable in axum), `run`, `serve`
//!   (flame's accept loop on hyper, its limits in [`server::ServerConfig`]),
//!   [`server::bind`] and [`server::shutdown_signal`].
//! - `router/`: the route parser and matching tree, private (the syntax is documented on
//!   [`Flame::route`]).
//! - [`Context`] (`context.rs`): the request: the chain, request-scoped values, params.
//! - [`Request`], [`Params`], [`ResponseWriter`], [`Render`]: the builtin services every
//!   request has.
//! - [`bind`]: typed JSON, form and query data through serde ([`Json`], [`Form`], [`Query`]).
//! - `validate` (feature `validate`): `Valid<Json<T>>` and friends, checked with the
//!   `validator` crate, refused with 422 and the failing fields' paths.
//! - [`Flame::layer`] (`layer.rs`): tower layers around the whole app, [`tower_layer`] and
//!   `RouteRef::layer` at a place in a chain; [`LayerService`], [`TowerLayer`].
//! - [`Handler`] (`handler.rs`): any function as a handler; [`BoxedHandler`]; `provides`.
//! - [`Return`] (`return_value.rs`), [`Reply`], [`ReturnError`], [`Json`], [`Axum`],
//!   [`ReturnHandler`].
//! - [`Logger`], [`Recovery`], [`Static`]: the classic middleware.
//! - [`websocket`]: upgrading a request to a WebSocket from a handler.
//! - [`Env`] (`env.rs`), from `FLAME_ENV`.
//! - [`HttpError`] (`error.rs`) for handlers, [`ServeError`], the [`CheckReport`].
//! - [`ErrorBody`] (`error_format.rs`): the one JSON shape of framework errors, and which
//!   error is written how ([`ErrorFormat`]).
//!
//! # Feature flags
//!
//! - `validate` (off by default): the `validate` module and `Valid`, on the `validator`
//!   crate.
//!
//! Services registered with `#[service]` anywhere in the program are mapped by
//! [`Flame::new`]; `#[handler]` turns a `fn` into a handler that may also borrow (`&T`).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod bind;
mod context;
mod env;
mod error;
mod error_format;
mod flame;
mod handler;
mod layer;
mod logger;
mod params;
mod recovery;
mod render;
mod request;
mod response_writer;
mod return_value;
mod router;
pub mod server;
mod static_files;
#[cfg(feature = "validate")]
pub mod validate;
pub mod websocket;

pub use bind::{Form, Query, RawBody};
pub use context::{Context, DEFAULT_ACTOR_TYPE};
pub use env::{ENV_VAR, Env, UnknownEnv, env, set_env};
pub use error::{CheckReport, HttpError, MissingDependency, ServeError};
pub use error_format::{ErrorBody, ErrorFormat, ErrorInfo, FieldError, status_code_name};
pub use flame::{
    AllowedMethods, BeforeHook, Combo, DEFAULT_BODY_LIMIT, Flame, METHODS, RouteInfo,
    RoutePredicate, RouteRef,
};
pub use flame_inject::{Injector, Key, Slot};
pub use flame_macros::{handler, service};
pub use handler::{
    BoxedHandler, Handler, HandlerArg, HandlerExt, IntoHandlers, Invocable, Invocation, Prepare,
};
pub use http::{HeaderMap, Method, StatusCode};
pub use layer::{LayerService, TowerLayer, tower_layer};
pub use logger::{Logger, logger};
pub use params::Params;
pub use recovery::{Recovery, RecoveryOptions, recovery, recovery_with};
pub use render::Render;
pub use request::Request;
pub use response_writer::ResponseWriter;
pub use return_value::{Axum, Json, Reply, Return, ReturnError, ReturnHandler};
pub use server::FlameService;
pub use static_files::{Static, StaticOptions, static_files};
#[cfg(feature = "validate")]
pub use validate::Valid;

#[doc(hidden)]
pub mod __private {
    pub use crate::handler::{
        Dependency, Prepare, dependency, needs_preparing, resolve, resolve_shared, with_prepared,
        write_return,
    };
    pub use flame_inject;
}
