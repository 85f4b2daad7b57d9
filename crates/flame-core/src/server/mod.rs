//! Serving: a frozen app as a tower `Service`, `run()`, `serve()` and graceful shutdown.
//!
//! `serve()` runs flame's own accept loop on hyper: every limit a client can push on is in
//! [`ServerConfig`] (`config.rs`); the loop, the connection cap and accept errors are in
//! `accept.rs`; one connection and its idle watchdog in `connection.rs`; the request body's
//! read timeout in `body.rs` ([`BodyReadTimeout`]); the open-files limit in `file_limit.rs`.

mod accept;
mod body;
mod config;
mod connection;
mod file_limit;
mod stats;

pub use body::BodyReadTimeout;
pub use config::ServerConfig;
pub use stats::ServerStats;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::Method;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::context::{AppShared, Context, NewContext};
use crate::env::{Env, env};
use crate::error::ServeError;
use crate::flame::{BeforeHook, Flame, RouteDef, method_index};
use crate::handler::BoxedHandler;
use crate::router::{Captures, Tree};

/// The environment variable holding the address `run()` listens on.
pub const ADDR_VAR: &str = "FLAME_ADDR";

/// The address `run()` listens on when `FLAME_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "0.0.0.0:2830";

pub(crate) struct App {
    pub(crate) shared: Arc<AppShared>,
    pub(crate) trees: [Option<Tree<usize>>; 9],
    pub(crate) routes: Vec<RouteDef>,
    pub(crate) chains: Vec<Arc<[BoxedHandler]>>,
    pub(crate) not_found: Arc<[BoxedHandler]>,
    /// Whether a path known under other methods answers 405 (`Flame::method_not_allowed`).
    pub(crate) method_not_allowed: bool,
    pub(crate) befores: Vec<BeforeHook>,
    /// The empty route pattern of requests no route matches.
    pub(crate) no_route: Arc<str>,
}

impl App {
    fn find(
        &self,
        method: &Method,
        parts: &http::request::Parts,
        captures: &mut Captures,
    ) -> Option<usize> {
        let tree = self.trees[method_index(method)?].as_ref()?;
        tree.find(parts.uri.path(), captures, |id| {
            self.routes[*id].accepts(parts)
        })
        .copied()
    }

    /// The methods with a route matching the request's path, for a 405 answer.
    fn allowed_methods(&self, parts: &http::request::Parts) -> Vec<Method> {
        let mut scratch = Captures::new();
        crate::flame::METHODS
            .iter()
            .zip(&self.trees)
            .filter(|(method, tree)| {
                **method != parts.method
                    && tree.as_ref().is_some_and(|tree| {
                        tree.find(parts.uri.path(), &mut scratch, |id| {
                            self.routes[*id].accepts(parts)
                        })
                        .is_some()
                    })
            })
            .map(|(method, _)| method.clone())
            .collect()
    }

    /// Routes the request and runs its chain as far as it goes synchronously. A chain of
    /// synchronous handlers finishes here, with no future allocated; the first handler that
    /// returns a pending future moves the rest of the chain into one boxed future.
    pub(crate) fn dispatch(
        &self,
        request: http::Request<Body>,
        remote: Option<SocketAddr>,
    ) -> ResponseFuture {
        let (mut parts, body) = request.into_parts();
        for before in &self.befores {
            if let Some(response) = before(&mut parts) {
                return ResponseFuture::ready(response);
            }
        }
        let mut captures = Captures::new();
        let found = self.find(&parts.method, &parts, &mut captures);
        let allowed = match found {
            None if self.method_not_allowed => self.allowed_methods(&parts),
            _ => Vec::new(),
        };
        let (route, chain) = match found {
            Some(id) => (self.routes[id].pattern.clone(), self.chains[id].clone()),
            None => (self.no_route.clone(), self.not_found.clone()),
        };
        let remote = remote.or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0)
        });
        let span = tracing::info_span!(
            "request",
            method = %parts.method,
            path = %parts.uri.path(),
            route = %route,
            actor.r#type = tracing::field::Empty,
            actor.id = tracing::field::Empty,
        );
        let is_head = parts.method == Method::HEAD;
        let ctx = Context::new(NewContext {
            app: self.shared.clone(),
            chain,
            parts,
            body,
            route,
            captures,
            remote,
            span: span.clone(),
        });
        if found.is_none() {
            if allowed.is_empty() {
                ctx.response_writer()
                    .set_default_status(http::StatusCode::NOT_FOUND);
            } else {
                not_allowed(&ctx, allowed);
            }
        }
        let pending = {
            let _entered = span.enter();
            ctx.run_until_pending()
        };
        match pending {
            None => ResponseFuture::ready(finish(ctx, is_head)),
            Some(handler) => ResponseFuture::pending(
                async move {
                    handler.await;
                    if !ctx.response_writer().written() {
                        ctx.run().await;
                    }
                    finish(ctx, is_head)
                }
                .instrument(span),
            ),
        }
    }
}

/// Starts a 405 answer: the status, `Allow`, and the methods for the not-found chain.
fn not_allowed(ctx: &Context, allowed: Vec<Method>) {
    let writer = ctx.response_writer();
    writer.set_default_status(http::StatusCode::METHOD_NOT_ALLOWED);
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(allow) = http::HeaderValue::try_from(allow) {
        writer.headers_mut().insert(http::header::ALLOW, allow);
    }
    ctx.map(crate::flame::AllowedMethods(allowed));
}

fn finish(ctx: Context, is_head: bool) -> Response {
    ctx.record_default_actor();
    let mut response = ctx.into_response();
    if is_head {
        *response.body_mut() = Body::empty();
    }
    response
}

/// The future of a [`FlameService`] call: ready at once when every handler of the chain was
/// synchronous, a boxed future otherwise.
pub struct ResponseFuture {
    state: Stage,
}

enum Stage {
    Ready(Option<Response>),
    Pending(BoxFuture<'static, Response>),
}

impl ResponseFuture {
    fn ready(response: Response) -> Self {
        Self {
            state: Stage::Ready(Some(response)),
        }
    }

    fn pending(future: impl Future<Output = Response> + Send + 'static) -> Self {
        Self {
            state: Stage::Pending(Box::pin(future)),
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            Stage::Ready(_) => "ready",
            Stage::Pending(_) => "pending",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            Stage::Ready(response) => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            Stage::Pending(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

/// A flame app as a tower [`Service`](tower::Service): mount it in axum, serve it with hyper,
/// or call it with `tower::ServiceExt::oneshot` in tests.
///
/// ```
/// use flame_core::Flame;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut f = Flame::new();
/// f.get("/hello", || "Hello, world!");
///
/// // Mounted inside an axum app:
/// let app = axum::Router::new().nest_service("/flame", f.into_service());
/// let request = http::Request::get("/flame/hello").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct FlameService {
    app: Arc<App>,
    /// The app under its tower layers, when it has any (see [`Flame::layer`]).
    layered: Option<crate::layer::LayerService>,
    remote: Option<SocketAddr>,
}

impl std::fmt::Debug for FlameService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlameService")
            .field("routes", &self.app.routes.len())
            .field("remote", &self.remote)
            .finish()
    }
}

impl<B> tower::Service<http::Request<B>> for FlameService
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.respond(request.map(Body::new))
    }
}

impl FlameService {
    fn respond(&self, request: http::Request<Body>) -> ResponseFuture {
        match &self.layered {
            None => self.app.dispatch(request, self.remote),
            Some(layered) => {
                ResponseFuture::pending(crate::layer::call(layered, request, self.remote))
            }
        }
    }

    /// The same app, for the requests of one connection from `remote`.
    fn for_peer(&self, remote: SocketAddr) -> Self {
        let mut service = self.clone();
        service.remote = Some(remote);
        service
    }
}

impl<L> tower::Service<axum::serve::IncomingStream<'_, L>> for FlameService
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    type Response = FlameService;
    type Error = Infallible;
    type Future = Ready<Result<FlameService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        let mut service = self.clone();
        service.remote = Some(*stream.remote_addr());
        ready(Ok(service))
    }
}

impl Flame {
    /// Freezes the app into a tower `Service`.
    pub fn into_service(mut self) -> FlameService {
        let layers = std::mem::take(&mut self.layers);
        let app = Arc::new(self.build());
        FlameService {
            layered: crate::layer::apply(&app, layers),
            app,
            remote: None,
        }
    }

    /// Freezes the app into an axum `Router` that sends every request to it, so axum routes
    /// and layers can be added around it.
    pub fn into_router(self) -> axum::Router {
        axum::Router::new().fallback_service(self.into_service())
    }

    /// Runs the [startup check](Flame::check): refuses in `test`, warns otherwise.
    ///
    /// # Errors
    ///
    /// [`ServeError::Check`] in the test environment when a dependency is missing.
    pub fn startup_check(&self) -> Result<(), ServeError> {
        let report = self.check();
        if report.is_ok() {
            return Ok(());
        }
        if env() == Env::Test {
            return Err(ServeError::Check(report));
        }
        for missing in &report.missing {
            tracing::warn!(route = %missing.route, handler = %missing.handler, r#type = missing.type_name, "{missing}");
        }
        Ok(())
    }

    /// Serves on `listener` until SIGINT or SIGTERM, then shuts down gracefully; see
    /// [`Flame::serve_with_shutdown`] for the limits every connection is served under.
    ///
    /// # Errors
    ///
    /// A failed startup check in `test`. Accept errors are logged and retried, never
    /// returned.
    pub async fn serve(self, listener: TcpListener) -> Result<(), ServeError> {
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `signal` completes, then shuts down gracefully: in-flight
    /// requests finish, new connections are refused.
    ///
    /// Connections are served by flame's own accept loop on hyper (HTTP/1.1, and HTTP/2
    /// with prior knowledge), under the limits of [`Flame::server_config`]: header and body
    /// read timeouts, an idle timeout, a connection cap (503 over it), HTTP/2 stream and
    /// header limits. At start the soft limit on open files is raised to the hard limit.
    /// Accept errors (out of file descriptors) are logged once a second at most, with a
    /// backoff from 5 ms to 1 s between retries.
    ///
    /// # Errors
    ///
    /// A failed startup check in `test`.
    pub async fn serve_with_shutdown(
        mut self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        self.startup_check()?;
        let addr = listener
            .local_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string());
        tracing::info!(%addr, env = %env(), "flame listening");
        warn_if_development_in_public(&listener);
        let config = std::mem::take(&mut self.server);
        let stats = self.stats.clone();
        accept::serve(listener, self.into_service(), config, stats, signal).await;
        Ok(())
    }

    /// Builds a tokio runtime, listens on `FLAME_ADDR` (default `0.0.0.0:2830`) and serves
    /// until SIGINT or SIGTERM. Blocks.
    ///
    /// # Errors
    ///
    /// An invalid address, a failed bind, a failed startup check in `test`.
    pub fn run(self) -> Result<(), ServeError> {
        self.run_on(&listen_addr())
    }

    /// Like [`Flame::run`], on `addr` instead of `FLAME_ADDR`.
    ///
    /// # Errors
    ///
    /// An invalid address, a failed bind, a failed startup check in `test`.
    pub fn run_on(self, addr: &str) -> Result<(), ServeError> {
        let addr = addr.to_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|source| ServeError::Io {
                addr: addr.clone(),
                source,
            })?;
        runtime.block_on(async move {
            let listener = bind(&addr).await.map_err(|source| ServeError::Io {
                addr: addr.clone(),
                source,
            })?;
            self.serve(listener).await
        })
    }
}

/// Development mode answers a panic with its message and backtrace (Flamego's page): fine
/// on a laptop, a leak on a server. An app deployed without `FLAME_ENV=production` is in
/// development, so listening beyond loopback in development gets a loud warning.
fn warn_if_development_in_public(listener: &TcpListener) {
    if env() != Env::Development {
        return;
    }
    if let Ok(local) = listener.local_addr()
        && !local.ip().is_loopback()
    {
        tracing::warn!(
            addr = %local,
            "flame runs in DEVELOPMENT mode on a non-loopback address: a panic answers with its \
             message and backtrace to anyone who can reach this port. Set FLAME_ENV=production \
             before deploying (see the deploy checklist in the docs)."
        );
    }
}

/// How many connections the kernel may queue before they are accepted, at most (the kernel
/// caps it at `net.core.somaxconn`). tokio's and the standard library's `bind` ask for 128:
/// a burst above that (clients reconnecting after a restart) has its handshakes dropped and
/// retried a second later. Go, and so Flamego, asks for `somaxconn`.
///
/// ```
/// // the same backlog for a listener made by hand
/// let socket = tokio::net::TcpSocket::new_v4()?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let listener = socket.listen(flame_core::server::LISTEN_BACKLOG)?;
/// # drop(listener); Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` (`host:port`; the first address it resolves to that binds) with a
/// backlog of [`LISTEN_BACKLOG`] and `SO_REUSEADDR` (on Unix), as `run()` does.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let listener = flame_core::server::bind("127.0.0.1:0").await?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// An address that does not resolve, or the last bind error.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        match bind_one(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Sets up a connection `serve()` accepted: `TCP_NODELAY`, as Go's `net/http` (and so
/// Flamego) does. A WebSocket answer often follows an event by microseconds; with Nagle's
/// algorithm the second small write would wait for the peer's delayed ACK, 40 ms on Linux.
fn accepted(tcp: &mut tokio::net::TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
    }
}

/// The address from `FLAME_ADDR`, or [`DEFAULT_ADDR`].
pub fn listen_addr() -> String {
    std::env::var(ADDR_VAR)
        .ok()
        .filter(|addr| !addr.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_writes_at_once() {
        let listener = bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut server_side, _) = listener.accept().await.expect("accept");
        assert!(!server_side.nodelay().expect("nodelay"), "off by default");
        accepted(&mut server_side);
        assert!(server_side.nodelay().expect("nodelay"));
        drop(client);
    }
}
