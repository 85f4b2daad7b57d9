//! tower `Layer`s (tower-http's CORS, compression, timeout, request id, trace, limits ...) in
//! flame: around the whole app ([`Flame::layer`]), or at a place in a chain: a group's
//! middleware ([`tower_layer`]) or a route ([`RouteRef::layer`](crate::RouteRef::layer)).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use std::borrow::Cow;

use crate::context::Context;
use crate::flame::Flame;
use crate::handler::{BoxedHandler, Invocable, Invocation};
use crate::server::App;

/// The service a layer given to [`Flame::layer`] wraps: the flame app, or the next layer.
pub type LayerService = BoxCloneSyncService<http::Request<Body>, Response, Infallible>;

/// One `f.layer(l)`, waiting for the app to be frozen.
pub(crate) type ApplyLayer = Box<dyn FnOnce(LayerService) -> LayerService + Send + Sync>;

impl Flame {
    /// Wraps the whole app in a tower [`Layer`]: any of tower-http's (CORS, compression,
    /// timeout, request id, trace, body limits ...) or your own.
    ///
    /// Inside a [group](Flame::group)'s closure, `g.layer(l)` layers that group instead: the
    /// group's routes registered after the call run it, after the group's middleware (as
    /// [`tower_layer`] at the end of the group's middleware list would).
    ///
    #[doc = include_str!("docs/layer_order.md")]
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_core::{Flame, StatusCode};
    /// use tower_http::timeout::TimeoutLayer;
    ///
    /// let mut f = Flame::new();
    /// f.layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10)));
    /// f.get("/", || "hello");
    /// ```
    pub fn layer<L>(&mut self, layer: L) -> &mut Self
    where
        L: Layer<LayerService> + Send + Sync + 'static,
        L::Service: Service<http::Request<Body>> + Clone + Send + Sync + 'static,
        <L::Service as Service<http::Request<Body>>>::Response: IntoResponse + 'static,
        <L::Service as Service<http::Request<Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
    {
        if let Some(group) = self.innermost_group_handlers() {
            group.push(BoxedHandler::from_invocable(tower_layer(layer)));
            return self;
        }
        self.layers
            .push(Box::new(move |inner: LayerService| boxed(layer, inner)));
        self
    }
}

fn boxed<L>(layer: L, inner: LayerService) -> LayerService
where
    L: Layer<LayerService>,
    L::Service: Service<http::Request<Body>> + Clone + Send + Sync + 'static,
    <L::Service as Service<http::Request<Body>>>::Response: IntoResponse + 'static,
    <L::Service as Service<http::Request<Body>>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    BoxCloneSyncService::new(
        layer
            .layer(inner)
            .map_response(IntoResponse::into_response)
            .map_err(Into::into),
    )
}

/// A tower layer as a handler: it wraps the rest of the chain after it.
///
/// Put it where it should run among the middleware: as a group's middleware, it runs after
/// the global middleware and before the group's routes; in `use_`, after the middleware
/// before it. It gets the request as flame has it at that point, the rest of the chain runs
/// with the request the layer passes on, and the layer's response is the answer (what the
/// middleware before it see after `c.next().await`).
///
/// ```
/// use flame_core::Flame;
/// use tower_http::cors::CorsLayer;
///
/// let mut f = Flame::new();
/// f.group("/api", |f| {
///     f.get("/items", || "items");
/// }, flame_core::tower_layer(CorsLayer::permissive()));
/// ```
pub fn tower_layer<L>(layer: L) -> TowerLayer
where
    L: Layer<LayerService>,
    L::Service: Service<http::Request<Body>> + Clone + Send + Sync + 'static,
    <L::Service as Service<http::Request<Body>>>::Response: IntoResponse + 'static,
    <L::Service as Service<http::Request<Body>>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    TowerLayer {
        service: boxed(layer, BoxCloneSyncService::new(RestOfChain)),
    }
}

/// A tower layer in a chain: see [`tower_layer`].
#[derive(Clone)]
pub struct TowerLayer {
    service: LayerService,
}

impl std::fmt::Debug for TowerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TowerLayer")
    }
}

/// Which context the rest of the chain belongs to, carried through the layer in the request.
#[derive(Clone)]
struct Continuation(Context);

impl Invocable for TowerLayer {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("flame_core::TowerLayer")
    }

    fn call(&self, ctx: &Context, _ordinal: usize) -> Invocation {
        let mut request = ctx.to_http_request();
        request.extensions_mut().insert(Continuation(ctx.clone()));
        let response = call(&self.service, request, None);
        let ctx = ctx.clone();
        Invocation::Pending(Box::pin(async move {
            let response = response.await;
            ctx.response_writer().write_response(response);
        }))
    }
}

/// The service under a [`TowerLayer`]: the rest of the chain, in a context holding the request
/// as the layer passed it on.
#[derive(Clone)]
struct RestOfChain;

impl Service<http::Request<Body>> for RestOfChain {
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Some(Continuation(parent)) = request.extensions_mut().remove::<Continuation>() else {
            // Only a layer that builds a request of its own loses the continuation.
            return Box::pin(async {
                let mut response =
                    Response::new(Body::from("a tower layer dropped flame's request"));
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                Ok(response)
            });
        };
        let ctx = parent.fork(request);
        Box::pin(async move {
            ctx.run().await;
            Ok(ctx.into_response())
        })
    }
}

/// The innermost service under the layers: routing and the chain.
#[derive(Clone)]
struct Dispatch(Arc<App>);

impl Service<http::Request<Body>> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = crate::server::ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The peer address travels as axum's `ConnectInfo`, which dispatch reads.
        self.0.dispatch(request, None)
    }
}

/// The app under its layers, the first layer added outermost; `None` without layers, so the
/// plain path stays as it was.
pub(crate) fn apply(app: &Arc<App>, layers: Vec<ApplyLayer>) -> Option<LayerService> {
    if layers.is_empty() {
        return None;
    }
    let mut service = BoxCloneSyncService::new(Dispatch(app.clone()));
    for apply in layers.into_iter().rev() {
        service = apply(service);
    }
    Some(service)
}

/// Calls the layered app; the peer address goes in the request as `ConnectInfo`.
pub(crate) fn call(
    service: &LayerService,
    mut request: http::Request<Body>,
    remote: Option<std::net::SocketAddr>,
) -> impl Future<Output = Response> + Send + 'static {
    if let Some(remote) = remote
        && request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .is_none()
    {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(remote));
    }
    let service = service.clone();
    async move {
        match service.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}
