//! [`Flame`]: an instance with its own injector, middleware and routes.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use flame_inject::Injector;
use http::request::Parts;
use http::{HeaderName, Method};
use regex::Regex;

use crate::context::AppShared;
use crate::error::{CheckReport, MissingDependency};
use crate::handler::{BoxedHandler, IntoHandlers, is_builtin};
use crate::router::Tree;

/// Every method a route can be registered for, in Flamego's order.
pub const METHODS: [Method; 9] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::HEAD,
    Method::CONNECT,
    Method::TRACE,
];

pub(crate) fn method_index(method: &Method) -> Option<usize> {
    METHODS.iter().position(|m| m == method)
}

/// A hook that runs before routing; returning a response stops the request with it.
pub type BeforeHook = Arc<dyn Fn(&mut Parts) -> Option<axum::response::Response> + Send + Sync>;

/// A predicate a request must satisfy for a route to match.
pub type RoutePredicate = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// The default limit on request bodies read through flame: 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub(crate) struct RouteDef {
    /// Where the route's own handlers start in `handlers`, after its groups' middleware.
    pub(crate) own_start: usize,
    /// How many tower layers were added to the route with `RouteRef::layer`.
    pub(crate) own_layers: usize,
    pub(crate) method: Method,
    pub(crate) pattern: Arc<str>,
    pub(crate) handlers: Vec<BoxedHandler>,
    pub(crate) headers: Vec<(HeaderName, Regex)>,
    pub(crate) predicates: Vec<RoutePredicate>,
}

impl RouteDef {
    pub(crate) fn accepts(&self, parts: &Parts) -> bool {
        self.headers.iter().all(|(name, regex)| {
            parts
                .headers
                .get_all(name)
                .iter()
                .any(|value| value.to_str().is_ok_and(|value| regex.is_match(value)))
        }) && self.predicates.iter().all(|predicate| predicate(parts))
    }
}

struct Group {
    prefix: String,
    handlers: Vec<BoxedHandler>,
}

/// One registered route, as [`Flame::route_table`] lists it.
///
/// ```
/// fn line(r: &flame_core::RouteInfo) -> String {
///     format!("{} {} ({} handlers)", r.method, r.pattern, r.handlers.len())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The pattern as registered, e.g. `/users/{id}`.
    pub pattern: String,
    /// The names of the middleware before its handlers: global, then its groups'.
    pub middleware: Vec<String>,
    /// The names of its own handlers, then the action's, if any.
    pub handlers: Vec<String>,
}

/// A flame instance: its own injector, middleware, routes and settings.
///
/// Instances are independent: two in one process share nothing.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f1 = Flame::classic(); // Logger, Recovery, Static("public")
/// let mut f2 = Flame::new();     // nothing
/// f2.use_(flame_core::recovery());
/// f1.get("/", || "one");
/// f2.get("/", || "two");
/// ```
pub struct Flame {
    injector: Injector,
    middleware: Vec<BoxedHandler>,
    pub(crate) routes: Vec<RouteDef>,
    trees: HashMap<Method, Tree<usize>>,
    groups: Vec<Group>,
    not_found: Vec<BoxedHandler>,
    action: Option<BoxedHandler>,
    pub(crate) befores: Vec<BeforeHook>,
    auto_head: bool,
    method_not_allowed: bool,
    body_limit: usize,
    names: HashMap<String, usize>,
    pub(crate) layers: Vec<crate::layer::ApplyLayer>,
    pub(crate) server: crate::server::ServerConfig,
    pub(crate) stats: crate::server::ServerStats,
}

impl fmt::Debug for Flame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flame")
            .field(
                "middleware",
                &self
                    .middleware
                    .iter()
                    .map(BoxedHandler::name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "routes",
                &self
                    .routes
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.pattern))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Flame {
    fn default() -> Self {
        Self::new()
    }
}

impl Flame {
    /// A bare instance: no middleware, no routes; every `#[service]` constructor mapped.
    pub fn new() -> Self {
        let mut injector = Injector::new();
        injector.map_services();
        Self {
            injector,
            middleware: Vec::new(),
            routes: Vec::new(),
            trees: HashMap::new(),
            groups: Vec::new(),
            not_found: Vec::new(),
            action: None,
            befores: Vec::new(),
            auto_head: false,
            method_not_allowed: false,
            body_limit: DEFAULT_BODY_LIMIT,
            names: HashMap::new(),
            layers: Vec::new(),
            server: crate::server::ServerConfig::default(),
            stats: crate::server::ServerStats::default(),
        }
    }

    /// A classic instance: [`Logger`](crate::Logger), [`Recovery`](crate::Recovery) and
    /// [`Static`](crate::Static) serving `public/`, in that order. It is exactly:
    ///
    /// ```
    /// use flame_core::{Flame, StaticOptions};
    ///
    /// let mut f = Flame::new();
    /// f.use_((flame_core::logger(), flame_core::recovery(), flame_core::static_files(StaticOptions::new("public"))));
    /// ```
    pub fn classic() -> Self {
        let mut flame = Self::new();
        flame.use_((
            crate::logger(),
            crate::recovery(),
            crate::static_files(crate::StaticOptions::new("public")),
        ));
        flame
    }

    /// Adds global middleware, run for every request in registration order, even when no route
    /// matches. (`use` is a Rust keyword, hence the underscore.)
    pub fn use_<M>(&mut self, handlers: impl IntoHandlers<M>) -> &mut Self {
        self.middleware.extend(handlers.into_handlers());
        self
    }

    /// Replaces the whole global middleware stack.
    pub fn handlers<M>(&mut self, handlers: impl IntoHandlers<M>) -> &mut Self {
        self.middleware = handlers.into_handlers();
        self
    }

    /// Sets a handler that runs after every route's handlers (when none of them wrote).
    pub fn action<M>(&mut self, handler: impl crate::Handler<M>) -> &mut Self {
        self.action = Some(handler.into_boxed());
        self
    }

    /// Adds a hook that runs before routing, with the request head; it may rewrite it, and
    /// returning a response stops the request there.
    pub fn before(
        &mut self,
        hook: impl Fn(&mut Parts) -> Option<axum::response::Response> + Send + Sync + 'static,
    ) -> &mut Self {
        self.befores.push(Arc::new(hook));
        self
    }

    /// Maps an app-wide service, available to every handler of this instance.
    pub fn map<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.injector.map(value);
        self
    }

    /// Maps a shared service under the type `Arc<T>`, typically a trait object.
    pub fn map_to<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        self.injector.map_to(value);
        self
    }

    /// The app-wide injector.
    pub fn injector(&self) -> &Injector {
        &self.injector
    }

    /// The type names of the app-wide services, sorted: what [`map`](Self::map),
    /// [`map_to`](Self::map_to) and the `#[service]` constructors put in this instance's
    /// injector (see [`Injector::mapped_type_names`]). What an inspector shows.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// #[derive(Clone)]
    /// struct Db;
    /// trait Mailer: Send + Sync {}
    /// struct Smtp;
    /// impl Mailer for Smtp {}
    ///
    /// let mut f = flame_core::Flame::new();
    /// f.map(Db).map_to::<dyn Mailer>(Arc::new(Smtp));
    /// let services = f.services();
    /// assert!(services.iter().any(|name| name.ends_with("::Db")));
    /// assert!(services.iter().any(|name| name.contains("dyn") && name.contains("Mailer")));
    /// assert!(services.is_sorted());
    /// ```
    pub fn services(&self) -> Vec<&'static str> {
        let mut names = self.injector.mapped_type_names();
        names.sort_unstable();
        names
    }

    /// Registers a `HEAD` route with the same handlers for every `GET` route registered after
    /// this call (as in Flamego, routes registered before it are unchanged).
    pub fn auto_head(&mut self, enabled: bool) -> &mut Self {
        self.auto_head = enabled;
        self
    }

    /// Answers `405 Method Not Allowed` with an `Allow` header, instead of Flamego's 404,
    /// when no route matches the request's method but a route of another method matches
    /// its path. Off by default: Flamego answers 404 there.
    ///
    /// The request goes through the not-found chain with the status 405, the `Allow` header
    /// set and the [`AllowedMethods`] mapped; the default not-found handler answers with the
    /// framework's JSON error, code `method_not_allowed`, through the app's
    /// [`ReturnHandler`](crate::ReturnHandler).
    ///
    /// ```
    /// use flame_core::Flame;
    ///
    /// let mut f = Flame::new();
    /// f.method_not_allowed(true);
    /// f.get("/items", || "items");
    /// // POST /items now answers 405 with `Allow: GET`; POST /nowhere still 404.
    /// ```
    pub fn method_not_allowed(&mut self, enabled: bool) -> &mut Self {
        self.method_not_allowed = enabled;
        self
    }

    /// The largest request body [`Request::body_bytes`](crate::Request::body_bytes) and the
    /// binders read. The limit applies while the body streams in: a body declared bigger
    /// (`Content-Length`) is refused before any of it is read, and a streamed one as soon as
    /// it passes the limit, with `413 Payload Too Large` either way.
    pub fn body_limit(&mut self, bytes: usize) -> &mut Self {
        self.body_limit = bytes;
        self
    }

    /// The limits and timeouts of the connections `serve()`/`run()` accept: header and body
    /// read timeouts, the idle timeout, the connection cap, HTTP/2's limits. See
    /// [`ServerConfig`](crate::server::ServerConfig) for each default.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_core::{Flame, server::ServerConfig};
    ///
    /// let mut f = Flame::new();
    /// f.server_config(ServerConfig {
    ///     header_read_timeout: Duration::from_secs(10),
    ///     ..ServerConfig::default()
    /// });
    /// ```
    pub fn server_config(&mut self, config: crate::server::ServerConfig) -> &mut Self {
        self.server = config;
        self
    }

    /// The counters `serve()`/`run()` will keep for this app: open connections, accepted,
    /// refused over the cap, accept errors, the cap and the open-files limit in force. Take
    /// the handle before serving; `flame_metrics::Metrics::register_server` exports it.
    ///
    /// ```
    /// let f = flame_core::Flame::new();
    /// let stats = f.server_stats();
    /// assert_eq!(stats.open_connections(), 0);
    /// ```
    pub fn server_stats(&self) -> crate::server::ServerStats {
        self.stats.clone()
    }

    /// Sets the handlers for requests no route matches (after the global middleware). The
    /// response status starts as 404 there (405 with [`Flame::method_not_allowed`]), so
    /// returning a plain body answers 404. The default answers Flamego's
    /// `404 page not found\n` as an error reply (code `not_found`), so a mapped
    /// [`ReturnHandler`](crate::ReturnHandler) may render it otherwise.
    pub fn not_found<M>(&mut self, handlers: impl IntoHandlers<M>) -> &mut Self {
        self.not_found = handlers.into_handlers();
        self
    }

    /// Registers `handlers` for `method` and `pattern`; the last handler is usually the route's,
    /// those before it route-level middleware.
    ///
    #[doc = include_str!("docs/route_syntax.md")]
    ///
    /// # Panics
    ///
    /// When the pattern is invalid or already registered for that method.
    #[track_caller]
    pub fn route<M>(
        &mut self,
        method: Method,
        pattern: &str,
        handlers: impl IntoHandlers<M>,
    ) -> RouteRef<'_> {
        let handlers = handlers.into_handlers();
        self.add_route(method, pattern, handlers)
    }

    #[track_caller]
    fn add_route(
        &mut self,
        method: Method,
        pattern: &str,
        route_handlers: Vec<BoxedHandler>,
    ) -> RouteRef<'_> {
        let mut full = String::new();
        let mut chain = Vec::new();
        for group in &self.groups {
            full = join_paths(&full, &group.prefix);
            chain.extend(group.handlers.iter().cloned());
        }
        let full = join_paths(&full, pattern);
        let own_start = chain.len();
        chain.extend(route_handlers);
        if chain.is_empty() {
            panic!("flame: cannot register {method} {full}: a route needs at least one handler");
        }
        let id = self.routes.len();
        let tree = self.trees.entry(method.clone()).or_default();
        if let Err(err) = tree.insert(&full, id) {
            panic!("flame: cannot register {method} {full}: {err}");
        }
        if method == Method::GET && self.auto_head {
            let head = self.trees.entry(Method::HEAD).or_default();
            if let Err(err) = head.insert(&full, id) {
                panic!("flame: cannot register HEAD {full} (auto_head): {err}");
            }
        }
        self.routes.push(RouteDef {
            own_start,
            own_layers: 0,
            method,
            pattern: Arc::from(full),
            handlers: chain,
            headers: Vec::new(),
            predicates: Vec::new(),
        });
        RouteRef {
            flame: self,
            ids: vec![id],
        }
    }

    /// Registers a `GET` route.
    #[track_caller]
    pub fn get<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::GET, pattern, handlers)
    }

    /// Registers a `POST` route.
    #[track_caller]
    pub fn post<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::POST, pattern, handlers)
    }

    /// Registers a `PUT` route.
    #[track_caller]
    pub fn put<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::PUT, pattern, handlers)
    }

    /// Registers a `PATCH` route.
    #[track_caller]
    pub fn patch<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::PATCH, pattern, handlers)
    }

    /// Registers a `DELETE` route.
    #[track_caller]
    pub fn delete<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::DELETE, pattern, handlers)
    }

    /// Registers an `OPTIONS` route.
    #[track_caller]
    pub fn options<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::OPTIONS, pattern, handlers)
    }

    /// Registers a `HEAD` route.
    #[track_caller]
    pub fn head<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::HEAD, pattern, handlers)
    }

    /// Registers a `CONNECT` route.
    #[track_caller]
    pub fn connect<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::CONNECT, pattern, handlers)
    }

    /// Registers a `TRACE` route.
    #[track_caller]
    pub fn trace<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.route(Method::TRACE, pattern, handlers)
    }

    /// Registers the same handlers for all nine methods.
    #[track_caller]
    pub fn any<M>(&mut self, pattern: &str, handlers: impl IntoHandlers<M>) -> RouteRef<'_> {
        self.routes_for(&METHODS, pattern, handlers.into_handlers())
    }

    /// Registers the same handlers for a comma-separated list of methods, e.g. `"GET,POST"`.
    ///
    /// # Panics
    ///
    /// On an unknown method name, and as [`Flame::route`] does.
    #[track_caller]
    pub fn routes<M>(
        &mut self,
        pattern: &str,
        methods: &str,
        handlers: impl IntoHandlers<M>,
    ) -> RouteRef<'_> {
        let methods: Vec<Method> = methods
            .split(',')
            .map(|name| {
                let name = name.trim().to_ascii_uppercase();
                METHODS
                    .iter()
                    .find(|m| m.as_str() == name)
                    .cloned()
                    .unwrap_or_else(|| {
                        panic!("flame: cannot register {pattern}: unknown method {name:?}")
                    })
            })
            .collect();
        self.routes_for(&methods, pattern, handlers.into_handlers())
    }

    #[track_caller]
    fn routes_for(
        &mut self,
        methods: &[Method],
        pattern: &str,
        handlers: Vec<BoxedHandler>,
    ) -> RouteRef<'_> {
        let mut ids = Vec::with_capacity(methods.len());
        for method in methods {
            let id = self
                .add_route(method.clone(), pattern, handlers.clone())
                .ids[0];
            ids.push(id);
        }
        RouteRef { flame: self, ids }
    }

    /// Registers several methods on one path: `f.combo("/p").get(h1).post(h2)`.
    pub fn combo(&mut self, pattern: &str) -> Combo<'_> {
        Combo {
            flame: self,
            pattern: pattern.to_owned(),
            seen: HashSet::new(),
        }
    }

    /// Registers the routes added by `routes` under `prefix`, with `middleware` run before each
    /// of their handlers (even though it is listed after them).
    ///
    /// ```
    /// use flame_core::{Context, Flame};
    ///
    /// let mut f = Flame::new();
    /// f.group("/api", |f| {
    ///     f.get("/users", || "users");
    ///     f.group("/v2", |f| { f.get("/users", || "v2 users"); }, ());
    /// }, |c: Context| {
    ///     c.response_writer().headers_mut().insert("x-api", "1".parse().unwrap());
    /// });
    /// ```
    pub fn group<M>(
        &mut self,
        prefix: &str,
        routes: impl FnOnce(&mut Flame),
        middleware: impl IntoHandlers<M>,
    ) -> &mut Self {
        self.groups.push(Group {
            prefix: prefix.to_owned(),
            handlers: middleware.into_handlers(),
        });
        routes(self);
        self.groups.pop();
        self
    }

    /// The middleware of the innermost group being registered (inside a group's closure):
    /// what is pushed there runs for that group's routes registered from then on.
    pub(crate) fn innermost_group_handlers(&mut self) -> Option<&mut Vec<BoxedHandler>> {
        self.groups.last_mut().map(|group| &mut group.handlers)
    }

    /// Lists every route whose chain needs a type that nothing provides: not the app
    /// injector, not a builtin, not a `provides` declaration earlier in the chain.
    ///
    /// ```
    /// use flame_core::Flame;
    ///
    /// #[derive(Clone)]
    /// struct Db;
    ///
    /// let mut f = Flame::new();
    /// f.get("/", |_: Db| "ok");
    /// let report = f.check();
    /// assert_eq!(report.missing.len(), 1);
    /// assert!(report.to_string().contains("GET /: the 0th handler"));
    /// f.map(Db);
    /// assert!(f.check().is_ok());
    /// ```
    pub fn check(&self) -> CheckReport {
        let mut report = CheckReport::default();
        for route in &self.routes {
            let chain = self.chain(&route.handlers);
            self.check_chain(
                &format!("{} {}", route.method, route.pattern),
                &chain,
                &mut report,
            );
        }
        let not_found = self.chain_without_action(&self.not_found);
        self.check_chain("(not found)", &not_found, &mut report);
        report
    }

    fn check_chain(&self, route: &str, chain: &[BoxedHandler], report: &mut CheckReport) {
        let mut provided = HashSet::new();
        for (ordinal, handler) in chain.iter().enumerate() {
            for need in handler.needs() {
                if !(is_builtin(need.id)
                    || self.injector.contains_type(need.id)
                    || provided.contains(&need.id))
                {
                    report.missing.push(MissingDependency {
                        route: route.to_owned(),
                        handler: handler.name().to_owned(),
                        ordinal,
                        type_name: need.name,
                    });
                }
            }
            provided.extend(handler.provided().iter().map(|d| d.id));
        }
    }

    /// The routes registered so far, in registration order: what an inspector or a startup
    /// log shows.
    ///
    /// ```
    /// let mut f = flame_core::Flame::new();
    /// f.use_(flame_core::recovery());
    /// f.get("/users/{id}", || "user");
    /// let routes = f.route_table();
    /// assert_eq!(routes[0].method, "GET");
    /// assert_eq!(routes[0].pattern, "/users/{id}");
    /// assert_eq!(routes[0].handlers.len(), 1);
    /// assert_eq!(routes[0].middleware.len(), 1);
    /// ```
    pub fn route_table(&self) -> Vec<RouteInfo> {
        self.routes
            .iter()
            .map(|route| {
                let (group, own) = route
                    .handlers
                    .split_at(route.own_start.min(route.handlers.len()));
                RouteInfo {
                    method: route.method.to_string(),
                    pattern: route.pattern.to_string(),
                    middleware: self
                        .middleware
                        .iter()
                        .chain(group)
                        .map(|h| h.name().to_owned())
                        .collect(),
                    handlers: own
                        .iter()
                        .chain(self.action.iter())
                        .map(|h| h.name().to_owned())
                        .collect(),
                }
            })
            .collect()
    }

    fn chain(&self, route_handlers: &[BoxedHandler]) -> Vec<BoxedHandler> {
        let mut chain = self.middleware.clone();
        chain.extend(route_handlers.iter().cloned());
        chain.extend(self.action.clone());
        chain
    }

    fn chain_without_action(&self, handlers: &[BoxedHandler]) -> Vec<BoxedHandler> {
        let mut chain = self.middleware.clone();
        chain.extend(handlers.iter().cloned());
        chain
    }

    pub(crate) fn build(self) -> crate::server::App {
        let not_found: Vec<BoxedHandler> = if self.not_found.is_empty() {
            // Flamego's default is Go's `http.NotFound`, which is `http.Error`: a trailing
            // newline and `nosniff`, unlike a returned error.
            vec![BoxedHandler::new(default_not_found)]
        } else {
            self.not_found.clone()
        };
        let not_found_chain: Arc<[BoxedHandler]> = self.chain_without_action(&not_found).into();
        let chains: Vec<Arc<[BoxedHandler]>> = self
            .routes
            .iter()
            .map(|route| self.chain(&route.handlers).into())
            .collect();
        let named_routes = self
            .names
            .iter()
            .map(|(name, id)| (name.clone(), self.routes[*id].pattern.clone()))
            .collect();
        let shared = Arc::new(AppShared {
            return_handler: self.injector.get::<crate::ReturnHandler>(),
            injector: Arc::new(self.injector),
            body_limit: self.body_limit,
            named_routes,
        });
        let mut trees: [Option<Tree<usize>>; 9] = Default::default();
        for (method, tree) in self.trees {
            if let Some(index) = method_index(&method) {
                trees[index] = Some(tree);
            }
        }
        crate::server::App {
            shared,
            trees,
            routes: self.routes,
            chains,
            not_found: not_found_chain,
            method_not_allowed: self.method_not_allowed,
            befores: self.befores,
            no_route: Arc::from(""),
        }
    }
}

/// The methods whose routes match a request's path when its own method's do not, mapped
/// into the request by [`Flame::method_not_allowed`] for the not-found chain.
///
/// ```
/// use flame_core::{AllowedMethods, Context, Flame, Method, StatusCode};
///
/// let mut f = Flame::new();
/// f.method_not_allowed(true);
/// f.not_found(|c: Context| match c.get::<AllowedMethods>() {
///     Some(AllowedMethods(methods)) => (StatusCode::METHOD_NOT_ALLOWED, format!("try {methods:?}")),
///     None => (StatusCode::NOT_FOUND, "nothing here".to_owned()),
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedMethods(pub Vec<Method>);

/// Flamego's default not-found answer (Go's `http.NotFound`), or 405 when
/// [`Flame::method_not_allowed`] found routes of other methods.
fn default_not_found(c: crate::Context) -> crate::Reply {
    match c.get::<AllowedMethods>() {
        Some(AllowedMethods(methods)) => {
            let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
            crate::Reply::json_error(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("method not allowed; allowed: {}", names.join(", ")),
            )
        }
        None => crate::Reply::go_http_error(
            http::StatusCode::NOT_FOUND,
            "not_found",
            "404 page not found",
        ),
    }
}

/// Joins a group prefix and a path as Flamego does, by concatenation (`"/sett"` + `"ings"` is
/// `/settings`), folding the doubled slash of `"/"` + `"/hello"`.
fn join_paths(prefix: &str, path: &str) -> String {
    match (prefix.ends_with('/'), path.strip_prefix('/')) {
        (true, Some(rest)) => format!("{prefix}{rest}"),
        _ => format!("{prefix}{path}"),
    }
}

/// The route(s) just registered: name them or add matching constraints.
#[derive(Debug)]
pub struct RouteRef<'a> {
    flame: &'a mut Flame,
    ids: Vec<usize>,
}

impl RouteRef<'_> {
    /// Names the route, for [`Context::url_path`](crate::Context::url_path).
    ///
    /// # Panics
    ///
    /// When another route already has that name.
    #[track_caller]
    pub fn name(self, name: &str) -> Self {
        if let Some(id) = self.ids.first()
            && self.flame.names.insert(name.to_owned(), *id).is_some()
        {
            panic!("flame: duplicated route name {name:?}");
        }
        self
    }

    /// Requires header `name` to match `pattern` (a regex; an empty pattern means "present and
    /// not empty"); otherwise matching falls through to the next candidate route. Call it once
    /// per header; all must match.
    ///
    /// # Panics
    ///
    /// When the header name or the regex is invalid.
    #[track_caller]
    pub fn headers(self, name: &str, pattern: &str) -> Self {
        let header = HeaderName::try_from(name)
            .unwrap_or_else(|err| panic!("flame: invalid header name {name:?}: {err}"));
        let regex = Regex::new(if pattern.is_empty() { "." } else { pattern })
            .unwrap_or_else(|err| panic!("flame: invalid header regex {pattern:?}: {err}"));
        for id in &self.ids {
            self.flame.routes[*id]
                .headers
                .push((header.clone(), regex.clone()));
        }
        self
    }

    /// Wraps the route's own handlers in a tower layer: it runs after the global and group
    /// middleware, before the route's handlers; several run in the order added. See
    /// [`tower_layer`](crate::tower_layer) for how a layer in a chain works.
    ///
    /// ```
    /// use flame_core::Flame;
    /// use tower_http::compression::CompressionLayer;
    ///
    /// let mut f = Flame::new();
    /// f.get("/report", || "a long report").layer(CompressionLayer::new());
    /// ```
    pub fn layer<L>(self, layer: L) -> Self
    where
        L: tower::Layer<crate::LayerService>,
        L::Service: tower::Service<http::Request<axum::body::Body>> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<http::Request<axum::body::Body>>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<http::Request<axum::body::Body>>>::Error:
            Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<http::Request<axum::body::Body>>>::Future: Send + 'static,
    {
        let handler = BoxedHandler::from_invocable(crate::tower_layer(layer));
        for id in &self.ids {
            let route = &mut self.flame.routes[*id];
            route
                .handlers
                .insert(route.own_start + route.own_layers, handler.clone());
            route.own_layers += 1;
        }
        self
    }

    /// Requires `predicate` to hold for the request head; otherwise matching falls through to
    /// the next candidate route.
    pub fn matches(self, predicate: impl Fn(&Parts) -> bool + Send + Sync + 'static) -> Self {
        let predicate: RoutePredicate = Arc::new(predicate);
        for id in &self.ids {
            self.flame.routes[*id].predicates.push(predicate.clone());
        }
        self
    }
}

/// Several methods on one path: see [`Flame::combo`].
#[derive(Debug)]
pub struct Combo<'a> {
    flame: &'a mut Flame,
    pattern: String,
    seen: HashSet<Method>,
}

macro_rules! combo_methods {
    ($($name:ident => $method:ident),*) => {$(
        #[doc = concat!("Registers `", stringify!($method), "` on the combo's path.")]
        ///
        /// # Panics
        ///
        /// When the method was already given for this combo.
        #[track_caller]
        pub fn $name<M>(mut self, handlers: impl IntoHandlers<M>) -> Self {
            self.add(Method::$method, handlers.into_handlers());
            self
        }
    )*};
}

impl Combo<'_> {
    #[track_caller]
    fn add(&mut self, method: Method, handlers: Vec<BoxedHandler>) {
        if !self.seen.insert(method.clone()) {
            panic!(
                "flame: duplicated method {method} for combo route {}",
                self.pattern
            );
        }
        let pattern = self.pattern.clone();
        self.flame.add_route(method, &pattern, handlers);
    }

    combo_methods!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE,
        options => OPTIONS, head => HEAD, connect => CONNECT, trace => TRACE);
}
