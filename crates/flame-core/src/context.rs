//! The request [`Context`]: the chain, the request-scoped injector, the request and response.

use std::any::{Any, TypeId};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::Body;
use axum::response::Response;
use flame_inject::Injector;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri};
use parking_lot::{Mutex, MutexGuard};
use tracing::Span;

use crate::handler::{BoxedHandler, Invocation};
use crate::params::Params;
use crate::request::Request;
use crate::response_writer::{ResponseState, ResponseWriter};
use crate::return_value::ReturnHandler;
use crate::router::Captures;

/// What every request of one app shares: the app injector and the settings.
#[derive(Debug)]
pub(crate) struct AppShared {
    pub(crate) injector: Arc<Injector>,
    pub(crate) return_handler: Option<ReturnHandler>,
    pub(crate) body_limit: usize,
    pub(crate) named_routes: std::collections::HashMap<String, Arc<str>>,
}

pub(crate) struct Inner {
    app: Arc<AppShared>,
    chain: Arc<[BoxedHandler]>,
    index: AtomicUsize,
    pub(crate) parts: Parts,
    pub(crate) body: Mutex<Option<Body>>,
    pub(crate) route: Arc<str>,
    pub(crate) captures: Captures,
    response: Mutex<ResponseState>,
    /// Request-scoped values, without a parent: `get` asks the builtins first and the app's
    /// injector last, and a parent link would make that order implicit.
    scope: Mutex<Injector>,
    scope_used: AtomicBool,
    pub(crate) remote: Option<SocketAddr>,
    span: Span,
    actor: Mutex<Option<(String, Option<String>)>>,
    /// A lock-free copy of the response state's `written`, for the chain loop; set, never
    /// cleared, under the response lock.
    written: AtomicBool,
}

/// The actor type recorded for a request when no middleware recorded another: the system
/// itself, as Flamigo's `BackendActor`.
pub const DEFAULT_ACTOR_TYPE: &str = "backend";

/// Everything about the current request, as a cheap handle (one `Arc`).
///
/// A handler takes it as an argument like any other service. It runs the rest of the chain
/// with [`next`](Context::next), maps request-scoped values with [`map`](Context::map), and
/// gives access to the request, its route params and the response.
///
/// ```
/// use flame_core::{Context, Flame};
///
/// let mut f = Flame::new();
/// // Middleware: before and after logic around the rest of the chain.
/// f.use_(|c: Context| async move {
///     let started = std::time::Instant::now();
///     c.next().await;
///     tracing::info!(elapsed = ?started.elapsed(), status = %c.response_writer().status());
/// });
/// f.get("/hello/{name}", |c: Context| format!("Hello, {}!", c.param("name")));
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("method", &self.inner.parts.method)
            .field("uri", &self.inner.parts.uri)
            .field("route", &self.inner.route)
            .field("index", &self.inner.index.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

pub(crate) struct NewContext {
    pub(crate) app: Arc<AppShared>,
    pub(crate) chain: Arc<[BoxedHandler]>,
    pub(crate) parts: Parts,
    pub(crate) body: Body,
    pub(crate) route: Arc<str>,
    pub(crate) captures: Captures,
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) span: Span,
}

impl Context {
    pub(crate) fn new(new: NewContext) -> Self {
        Self {
            inner: Arc::new(Inner {
                app: new.app,
                chain: new.chain,
                index: AtomicUsize::new(0),
                parts: new.parts,
                body: Mutex::new(Some(new.body)),
                route: new.route,
                captures: new.captures,
                response: Mutex::new(ResponseState::default()),
                scope: Mutex::new(Injector::new()),
                scope_used: AtomicBool::new(false),
                remote: new.remote,
                span: new.span,
                actor: Mutex::new(None),
                written: AtomicBool::new(false),
            }),
        }
    }

    /// The request as an `http::Request`, for a tower layer in the chain: the head cloned, the
    /// body taken (the layer's inner service gives both back through [`Context::fork`]).
    pub(crate) fn to_http_request(&self) -> http::Request<Body> {
        let parts = &self.inner.parts;
        let body = self.inner.body.lock().take().unwrap_or_default();
        let mut request = http::Request::new(body);
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        *request.extensions_mut() = parts.extensions.clone();
        request
    }

    /// A context for the rest of this chain with the request a tower layer passed on: the same
    /// route, params, request-scoped values and position in the chain, and the response built
    /// so far (moved, not copied).
    pub(crate) fn fork(&self, request: http::Request<Body>) -> Self {
        let (parts, body) = request.into_parts();
        let inner = &self.inner;
        let child = Self::new(NewContext {
            app: inner.app.clone(),
            chain: inner.chain.clone(),
            parts,
            body,
            route: inner.route.clone(),
            captures: inner.captures.clone(),
            remote: inner.remote,
            span: inner.span.clone(),
        });
        child
            .inner
            .index
            .store(inner.index.load(Ordering::Acquire), Ordering::Release);
        if inner.scope_used.load(Ordering::Acquire) {
            *child.inner.scope.lock() = inner.scope.lock().clone();
            child.inner.scope_used.store(true, Ordering::Release);
        }
        (*child.inner.actor.lock()).clone_from(&inner.actor.lock());
        *child.state() = std::mem::take(&mut *self.state());
        child
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, ResponseState> {
        self.inner.response.lock()
    }

    /// Whether the response status has been written.
    pub(crate) fn written(&self) -> bool {
        self.inner.written.load(Ordering::Acquire)
    }

    /// Called under the response lock when the status is written.
    pub(crate) fn mark_written(&self) {
        self.inner.written.store(true, Ordering::Release);
    }

    /// Runs the rest of the chain, then returns: code after `c.next().await` runs once the
    /// handlers after this one are done (or one of them wrote the response).
    pub async fn next(&self) {
        self.run().await;
    }

    /// Runs the rest of the chain as far as it goes without waiting: [`Invocation::Ready`]
    /// when it has finished (every handler after this one completed synchronously, or one
    /// wrote the response), or [`Invocation::Pending`] with a future that finishes it.
    ///
    /// For an [`Invocable`](crate::Invocable) middleware with work to do after the rest of
    /// the chain: when the chain is synchronous (a plain `|| "text"` handler) it does that
    /// work at once and returns `Ready`, with no future of its own, where
    /// `c.next().await` always needs one.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use flame_core::{Context, Flame, Invocable, Invocation};
    ///
    /// /// Counts answered requests.
    /// struct Count(std::sync::Arc<std::sync::atomic::AtomicU64>);
    ///
    /// impl Invocable for Count {
    ///     fn name(&self) -> Cow<'static, str> { "Count".into() }
    ///     fn call(&self, c: &Context, _ordinal: usize) -> Invocation {
    ///         let count = self.0.clone();
    ///         match c.next_now() {
    ///             Invocation::Ready => {
    ///                 count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///                 Invocation::Ready
    ///             }
    ///             Invocation::Pending(rest) => Invocation::Pending(Box::pin(async move {
    ///                 rest.await;
    ///                 count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///             })),
    ///         }
    ///     }
    /// }
    ///
    /// let mut f = Flame::new();
    /// f.use_(Count(Default::default()));
    /// f.get("/", || "hello");
    /// ```
    pub fn next_now(&self) -> Invocation {
        let Some(pending) = self.run_until_pending() else {
            return Invocation::Ready;
        };
        let ctx = self.clone();
        Invocation::Pending(Box::pin(async move {
            pending.await;
            if !ctx.written() {
                ctx.run().await;
            }
        }))
    }

    /// Runs handlers while they complete synchronously; returns the first pending one, to be
    /// awaited before [`Context::run`] carries on with the rest.
    pub(crate) fn run_until_pending(&self) -> Option<futures_util::future::BoxFuture<'static, ()>> {
        loop {
            let index = self.inner.index.fetch_add(1, Ordering::AcqRel);
            let handler = self.inner.chain.get(index)?;
            if let Invocation::Pending(future) = handler.call(self, index) {
                return Some(future);
            }
            if self.written() {
                return None;
            }
        }
    }

    /// Runs the rest of the chain: handlers in order until one writes the response.
    pub(crate) async fn run(&self) {
        while let Some(pending) = self.run_until_pending() {
            pending.await;
            if self.written() {
                return;
            }
        }
    }

    pub(crate) fn into_response(self) -> Response {
        std::mem::take(&mut *self.state()).into_response()
    }

    /// Maps `value` for the rest of this request, shadowing any app-wide value of its type.
    ///
    /// ```
    /// use flame_core::{Context, Flame};
    ///
    /// #[derive(Clone)]
    /// struct RequestId(u64);
    ///
    /// let mut f = Flame::new();
    /// f.use_(|c: Context| c.map(RequestId(42)));
    /// f.get("/", |id: RequestId| format!("request {}", id.0));
    /// ```
    pub fn map<T: Send + Sync + 'static>(&self, value: T) {
        self.inner.scope.lock().map(value);
        self.inner.scope_used.store(true, Ordering::Release);
    }

    /// Maps a shared value under the type `Arc<T>` (typically a trait object) for this request.
    pub fn map_to<T: ?Sized + Send + Sync + 'static>(&self, value: Arc<T>) {
        self.map(value);
    }

    /// A clone of the value of type `T`: a builtin (the context, request, response writer,
    /// params, span), a request-scoped value, or an app-wide one.
    pub fn get<T: Clone + 'static>(&self) -> Option<T> {
        if let Some(value) = self.builtin::<T>() {
            return Some(value);
        }
        if self.inner.scope_used.load(Ordering::Acquire)
            && let Some(value) = self.inner.scope.lock().get_ref::<T>()
        {
            return Some(value.clone());
        }
        self.inner.app.injector.get::<T>()
    }

    /// The shared value of type `T` (request scope first, then the app), without cloning `T`.
    pub fn get_shared<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if let Some(value) = self.builtin::<T>() {
            return Some(Arc::new(value));
        }
        let id = TypeId::of::<T>();
        let erased = if self.inner.scope_used.load(Ordering::Acquire) {
            self.inner.scope.lock().get_erased(id).cloned()
        } else {
            None
        };
        let erased = match erased {
            Some(erased) => erased,
            None => self.inner.app.injector.get_erased(id)?.clone(),
        };
        erased.downcast::<T>().ok()
    }

    /// Whether a value of type `T` can be injected in this request.
    pub fn contains<T: 'static>(&self) -> bool {
        let id = TypeId::of::<T>();
        crate::handler::is_builtin(id)
            || (self.inner.scope_used.load(Ordering::Acquire)
                && self.inner.scope.lock().contains_type(id))
            || self.inner.app.injector.contains_type(id)
    }

    fn builtin<T: 'static>(&self) -> Option<T> {
        fn cast<S: 'static, T: 'static>(value: S) -> Option<T> {
            let mut slot = Some(value);
            (&mut slot as &mut dyn Any)
                .downcast_mut::<Option<T>>()
                .and_then(Option::take)
        }
        let id = TypeId::of::<T>();
        if id == TypeId::of::<Context>() {
            cast(self.clone())
        } else if id == TypeId::of::<Request>() {
            cast(Request(self.clone()))
        } else if id == TypeId::of::<ResponseWriter>() {
            cast(ResponseWriter(self.clone()))
        } else if id == TypeId::of::<Params>() {
            cast(Params(self.clone()))
        } else if id == TypeId::of::<Span>() {
            cast(self.inner.span.clone())
        } else if id == TypeId::of::<crate::render::Render>() {
            cast(crate::render::Render(self.clone()))
        } else {
            None
        }
    }

    pub(crate) fn return_handler(&self) -> Option<ReturnHandler> {
        if self.inner.scope_used.load(Ordering::Acquire)
            && let Some(handler) = self.inner.scope.lock().get_ref::<ReturnHandler>()
        {
            return Some(handler.clone());
        }
        self.inner.app.return_handler.clone()
    }

    pub(crate) fn app(&self) -> &AppShared {
        &self.inner.app
    }

    /// The request, as a handle.
    pub fn request(&self) -> Request {
        Request(self.clone())
    }

    /// The response being written.
    pub fn response_writer(&self) -> ResponseWriter {
        ResponseWriter(self.clone())
    }

    /// The route params, as a handle.
    pub fn params(&self) -> Params {
        Params(self.clone())
    }

    /// The request's tracing span: log with `parent: c.span()` or run code `in_scope`.
    pub fn span(&self) -> &Span {
        &self.inner.span
    }

    /// Records who is executing this request (its actor's type and id) on the request's span
    /// as `actor.type` and `actor.id`, and for the Logger. Identity middleware (flame-actor,
    /// flame-auth) calls this; requests nobody records are `backend`.
    pub fn record_actor(&self, actor_type: &str, actor_id: Option<&str>) {
        self.inner.span.record("actor.type", actor_type);
        if let Some(id) = actor_id {
            self.inner.span.record("actor.id", id);
        }
        *self.inner.actor.lock() = Some((actor_type.to_owned(), actor_id.map(str::to_owned)));
    }

    /// The recorded actor type and id of this request: `("backend", None)` unless recorded.
    pub fn recorded_actor(&self) -> (String, Option<String>) {
        self.inner
            .actor
            .lock()
            .clone()
            .unwrap_or_else(|| (DEFAULT_ACTOR_TYPE.to_owned(), None))
    }

    pub(crate) fn record_default_actor(&self) {
        if !self.inner.span.is_disabled() && self.inner.actor.lock().is_none() {
            self.inner.span.record("actor.type", DEFAULT_ACTOR_TYPE);
        }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.inner.parts.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.inner.parts.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.parts.headers
    }

    /// The request's extensions (set by tower layers, e.g. axum's `ConnectInfo`).
    pub fn extensions(&self) -> &http::Extensions {
        &self.inner.parts.extensions
    }

    /// The value of the route bind `name`, or `""` when there is none (as in Flamego);
    /// `param("route")` is the matched route's pattern, as Flamego's `c.Param("route")`.
    ///
    /// ```
    /// # use flame_core::{Context, Flame};
    /// let mut f = Flame::new();
    /// // GET /users/7 answers `7 of /users/{id}`
    /// f.get("/users/{id}", |c: Context| format!("{} of {}", c.param("id"), c.param("route")));
    /// ```
    pub fn param(&self, name: &str) -> &str {
        if name == crate::params::ROUTE_PARAM && !self.inner.route.is_empty() {
            return &self.inner.route;
        }
        self.inner.captures.get(name).unwrap_or_default()
    }

    /// The route bind `name` as an `i32`, or 0 when absent or not a number (as in Flamego).
    pub fn param_int(&self, name: &str) -> i32 {
        self.param(name).parse().unwrap_or(0)
    }

    /// The route bind `name` as an `i64`, or 0 when absent or not a number.
    pub fn param_i64(&self, name: &str) -> i64 {
        self.param(name).parse().unwrap_or(0)
    }

    /// The query string parsed as Go's `url.ParseQuery` parses it: pairs split on `&`, a pair
    /// with a `;` or with invalid `%` escaping skipped, `+` as a space.
    fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let query = self.inner.parts.uri.query().unwrap_or_default();
        query.split('&').filter_map(|pair| {
            if pair.is_empty() || pair.contains(';') {
                return None;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((go_query_unescape(key)?, go_query_unescape(value)?))
        })
    }

    fn query_first(&self, name: &str) -> String {
        self.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
            .unwrap_or_default()
    }

    /// The first value of the query parameter `name`; `""` when it is absent.
    ///
    /// Every query helper comes in two forms, as Flamego's optional default: `query_x(name)`,
    /// and `query_x_or(name, default)`, which gives `default` when the value is absent or
    /// empty (`?q=`). Without a default, an absent value is the zero value, and a value that
    /// does not parse is the zero value in both forms, as in Flamego.
    ///
    /// ```
    /// # use flame_core::{Context, Flame};
    /// let mut f = Flame::new();
    /// // GET /search?q=rust&page=2&exact=true
    /// f.get("/search", |c: Context| {
    ///     format!("{} p{} exact={}", c.query_or("q", "everything"), c.query_int_or("page", 1), c.query_bool("exact"))
    /// });
    /// ```
    pub fn query(&self, name: &str) -> String {
        self.query_first(name)
    }

    /// The first value of the query parameter `name`, or `default` when it is absent or empty.
    pub fn query_or(&self, name: &str, default: &str) -> String {
        let value = self.query_first(name);
        if value.is_empty() {
            default.to_owned()
        } else {
            value
        }
    }

    /// The query parameter `name` with surrounding whitespace trimmed.
    pub fn query_trim(&self, name: &str) -> String {
        self.query(name).trim().to_owned()
    }

    /// The query parameter `name` (or `default` when absent or empty), whitespace trimmed.
    pub fn query_trim_or(&self, name: &str, default: &str) -> String {
        self.query_or(name, default).trim().to_owned()
    }

    /// Every value of the query parameter `name`, decoded once; empty when absent. A present
    /// but empty parameter (`?tag=`) is one empty string, as in Flamego.
    pub fn query_strings(&self, name: &str) -> Vec<String> {
        self.query_pairs()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value)
            .collect()
    }

    /// Every value of the query parameter `name`, or `default` when it is absent.
    ///
    /// ```
    /// # use flame_core::{Context, Flame};
    /// let mut f = Flame::new();
    /// // GET /tags answers `a,b`; GET /tags?tag=x&tag=y answers `x,y`
    /// f.get("/tags", |c: Context| c.query_strings_or("tag", &["a", "b"]).join(","));
    /// ```
    pub fn query_strings_or(&self, name: &str, default: &[&str]) -> Vec<String> {
        let mut present = false;
        let values: Vec<String> = self
            .query_pairs()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| {
                present = true;
                value
            })
            .collect();
        if present {
            values
        } else {
            default.iter().map(|value| (*value).to_owned()).collect()
        }
    }

    /// The query parameter `name` unescaped once more as Go's `url.QueryUnescape` does (`+`
    /// as space, `%XX` decoded); `""` when that escaping is invalid.
    pub fn query_unescape(&self, name: &str) -> String {
        go_query_unescape(&self.query(name)).unwrap_or_default()
    }

    /// As [`query_unescape`](Context::query_unescape), with `default` (itself unescaped, as in
    /// Flamego) when the value is absent or empty.
    pub fn query_unescape_or(&self, name: &str, default: &str) -> String {
        go_query_unescape(&self.query_or(name, default)).unwrap_or_default()
    }

    /// The query parameter `name` as a boolean, as Go's `strconv.ParseBool`: `1`, `t`, `T`,
    /// `true`, `TRUE`, `True` are true; anything else is false.
    pub fn query_bool(&self, name: &str) -> bool {
        parse_go_bool(&self.query(name))
    }

    /// The query parameter `name` as a boolean, or `default` when it is absent or empty:
    /// `?flag=` with a default of `true` is `true`.
    pub fn query_bool_or(&self, name: &str, default: bool) -> bool {
        let value = self.query(name);
        if value.is_empty() {
            default
        } else {
            parse_go_bool(&value)
        }
    }

    /// The query parameter `name` as an `i32`: 0 when absent or not a number; out of range
    /// saturates, as Go's `strconv.ParseInt` does.
    pub fn query_int(&self, name: &str) -> i32 {
        saturate_i32(parse_go_int(&self.query(name)))
    }

    /// As [`query_int`](Context::query_int), with `default` when absent or empty.
    pub fn query_int_or(&self, name: &str, default: i32) -> i32 {
        let value = self.query(name);
        if value.is_empty() {
            default
        } else {
            saturate_i32(parse_go_int(&value))
        }
    }

    /// The query parameter `name` as an `i64`: 0 when absent or not a number.
    pub fn query_i64(&self, name: &str) -> i64 {
        parse_go_int(&self.query(name))
    }

    /// As [`query_i64`](Context::query_i64), with `default` when absent or empty.
    pub fn query_i64_or(&self, name: &str, default: i64) -> i64 {
        let value = self.query(name);
        if value.is_empty() {
            default
        } else {
            parse_go_int(&value)
        }
    }

    /// The query parameter `name` as an `f64`: 0 when absent or not a number.
    pub fn query_f64(&self, name: &str) -> f64 {
        self.query(name).parse().unwrap_or(0.0)
    }

    /// As [`query_f64`](Context::query_f64), with `default` when absent or empty.
    pub fn query_f64_or(&self, name: &str, default: f64) -> f64 {
        let value = self.query(name);
        if value.is_empty() {
            default
        } else {
            value.parse().unwrap_or(0.0)
        }
    }

    /// The client's address: `X-Real-IP`, else the first `X-Forwarded-For` entry, else the
    /// peer's IP without its port; empty when none is known.
    ///
    /// Only trust the headers behind a proxy that sets them.
    pub fn remote_addr(&self) -> String {
        let header = |name: &str| {
            self.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or_default().trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        header("x-real-ip")
            .or_else(|| header("x-forwarded-for"))
            .or_else(|| self.peer_addr().map(|addr| addr.ip().to_string()))
            .unwrap_or_default()
    }

    /// Adds a `Set-Cookie` header; the value is percent-encoded.
    ///
    /// ```
    /// # use flame_core::{Context, Flame};
    /// let mut f = Flame::new();
    /// f.get("/login", |c: Context| {
    ///     c.set_cookie(cookie::Cookie::build(("session", "a b;c")).path("/").http_only(true).build());
    ///     "welcome"
    /// });
    /// f.get("/whoami", |c: Context| c.cookie("session"));
    /// ```
    pub fn set_cookie(&self, cookie: cookie::Cookie<'_>) {
        match http::HeaderValue::try_from(cookie.encoded().to_string()) {
            Ok(value) => {
                self.response_writer()
                    .headers_mut()
                    .append(http::header::SET_COOKIE, value);
            }
            Err(err) => tracing::warn!(%err, "cookie is not a valid header value"),
        }
    }

    /// The value of the request cookie `name`, unescaped as Go's `url.QueryUnescape` does
    /// (`%XX` and `+`); a value whose escaping is invalid is returned as it is, and an absent
    /// cookie is empty, as in Flamego.
    pub fn cookie(&self, name: &str) -> String {
        self.headers()
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| cookie::Cookie::split_parse(value.to_owned()))
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)
            .map(|cookie| {
                let raw = cookie.value_trimmed();
                go_query_unescape(raw).unwrap_or_else(|| raw.to_owned())
            })
            .unwrap_or_default()
    }

    /// The pattern of the matched route, e.g. `/users/{id}`; empty when no route matched.
    pub fn route(&self) -> &str {
        &self.inner.route
    }

    /// The peer's socket address, when known.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.remote
    }

    /// Redirects to `location` with 302 Found.
    pub fn redirect(&self, location: &str) {
        self.redirect_with(location, StatusCode::FOUND);
    }

    /// Redirects to `location` with `status` (use a 3xx).
    pub fn redirect_with(&self, location: &str, status: StatusCode) {
        let writer = self.response_writer();
        match http::HeaderValue::try_from(location) {
            Ok(value) => {
                writer.headers_mut().insert(http::header::LOCATION, value);
                writer.write_header(status);
            }
            Err(_) => {
                crate::Reply::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid redirect location {location:?}"),
                )
                .write_to(self);
            }
        }
    }

    /// The path of the named route `name` with its binds filled from `pairs`.
    ///
    /// # Errors
    ///
    /// When no route has that name, or a bind has no value.
    pub fn url_path(&self, name: &str, pairs: &[(&str, &str)]) -> Result<String, crate::HttpError> {
        let pattern = self
            .inner
            .app
            .named_routes
            .get(name)
            .ok_or_else(|| crate::HttpError::internal(format!("no route named {name:?}")))?;
        crate::router::url_path(pattern, pairs)
            .map_err(|err| crate::HttpError::internal(err.to_string()))
    }
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; `None` when a `%` does not start
/// two hex digits. Bytes that are not UTF-8 are replaced, as Rust strings must be.
fn go_query_unescape(value: &str) -> Option<String> {
    if !value.contains(['%', '+']) {
        return Some(value.to_owned());
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |b: u8| char::from(b).to_digit(16);
                let high = hex(*bytes.get(i + 1)?)?;
                let low = hex(*bytes.get(i + 2)?)?;
                out.push(u8::try_from(high * 16 + low).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `strconv.ParseBool`, an invalid value being false.
fn parse_go_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// Go's `strconv.ParseInt(value, 10, 64)` as Flamego uses it: 0 for no number, the nearest
/// bound when out of range.
fn parse_go_int(value: &str) -> i64 {
    match value.parse::<i64>() {
        Ok(n) => n,
        Err(err) => match err.kind() {
            std::num::IntErrorKind::PosOverflow => i64::MAX,
            std::num::IntErrorKind::NegOverflow => i64::MIN,
            _ => 0,
        },
    }
}

fn saturate_i32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_unescaping_and_parsing() {
        assert_eq!(go_query_unescape("a+b%21").as_deref(), Some("a b!"));
        assert_eq!(go_query_unescape("%zz"), None);
        assert_eq!(go_query_unescape("100%"), None);
        assert_eq!(parse_go_int("+12"), 12);
        assert_eq!(parse_go_int(" 12"), 0);
        assert_eq!(parse_go_int("99999999999999999999"), i64::MAX);
        assert_eq!(saturate_i32(i64::MIN), i32::MIN);
    }
}
