//! [`Metrics`]: the registry, the HTTP middleware and the scrape handler.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use flame_core::{Context, Invocable, Invocation, Reply};
use http::Method;
use parking_lot::{Mutex, RwLock};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rustc_hash::FxBuildHasher;

/// The `route` label of requests no route matched: one value for all of them, so a scan of
/// random paths cannot grow the number of series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The upper bounds, in seconds, of the request duration histogram's buckets.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The content type of what [`Metrics::render`] writes: the OpenMetrics text format (the
/// Prometheus text format with `# EOF` at the end), which Prometheus scrapes natively.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Arc<str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Arc<str>,
}

/// The `method` label values; the last one is for every other method.
const METHOD_LABELS: [&str; 10] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER",
];

/// The metric handles of one route, filled as requests come.
#[derive(Default)]
struct RouteSeries {
    durations: [OnceLock<Histogram>; METHOD_LABELS.len()],
    requests: RwLock<Vec<((usize, u16), Counter)>>,
}

struct Inner {
    registry: Mutex<Registry>,
    /// By route pattern: as bounded as the families (one entry per route and `unmatched`).
    routes: RwLock<HashMap<Arc<str>, RouteSeries, FxBuildHasher>>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
}

/// An app-owned Prometheus registry with flame's HTTP metrics in it; cheap to clone.
///
/// Series (all prefixed `flame_`):
/// - `flame_http_requests_total{method, route, status}`: finished requests;
/// - `flame_http_request_duration_seconds{method, route}`: a histogram
///   ([`DURATION_BUCKETS`]);
/// - `flame_http_requests_in_flight`: requests started and not finished.
///
/// `route` is the matched pattern (`/users/{id}`), never the raw path, and
/// [`UNMATCHED_ROUTE`] when no route matched; `method` is one of the nine standard methods
/// or `OTHER`. So the number of series is bounded by the app's routes, not by its clients.
///
/// ```
/// let metrics = flame_metrics::Metrics::new();
/// assert!(metrics.render().contains("flame_http_requests_in_flight 0"));
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with the HTTP metrics registered and nothing counted yet.
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// assert!(metrics.render().ends_with("# EOF\n"));
    /// ```
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(DURATION_BUCKETS)) as fn() -> Histogram,
        );
        let in_flight = Gauge::default();
        registry.register(
            "flame_http_requests",
            "HTTP requests finished, by method, matched route pattern and status",
            requests.clone(),
        );
        registry.register(
            "flame_http_request_duration_seconds",
            "HTTP request duration in seconds, by method and matched route pattern",
            durations.clone(),
        );
        registry.register(
            "flame_http_requests_in_flight",
            "HTTP requests started and not finished",
            in_flight.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                routes: RwLock::new(HashMap::default()),
                requests,
                durations,
                in_flight,
            }),
        }
    }

    /// Registers more metrics of the app's own in the same registry, so one scrape gets
    /// them all.
    ///
    /// ```
    /// use prometheus_client::metrics::counter::Counter;
    /// let metrics = flame_metrics::Metrics::new();
    /// let signups = Counter::<u64>::default();
    /// metrics.register(|r| r.register("signups", "Accounts created", signups.clone()));
    /// signups.inc();
    /// assert!(metrics.render().contains("signups_total 1"));
    /// ```
    pub fn register(&self, with: impl FnOnce(&mut Registry)) {
        with(&mut self.inner.registry.lock());
    }

    /// The middleware that counts requests; `use_` it first, so it sees every request and
    /// the status the rest of the chain wrote.
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// let mut f = flame_core::Flame::new();
    /// f.use_(metrics.middleware());
    /// ```
    pub fn middleware(&self) -> HttpMetrics {
        HttpMetrics {
            metrics: self.clone(),
        }
    }

    /// A handler that answers with the metrics in the OpenMetrics text format
    /// (`application/openmetrics-text`); mount it wherever the scraper looks (`/metrics` by
    /// convention).
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// let mut f = flame_core::Flame::new();
    /// f.get("/metrics", metrics.handler());
    /// ```
    pub fn handler(&self) -> impl Fn() -> Reply + Clone + Send + Sync + 'static {
        let metrics = self.clone();
        move || {
            Reply::with_content_type(
                metrics.render(),
                http::HeaderValue::from_static(CONTENT_TYPE),
            )
        }
    }

    /// Everything in the registry, in the OpenMetrics text format (the Prometheus text
    /// format, ending with `# EOF`).
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// let text = metrics.render();
    /// assert!(text.contains("# TYPE flame_http_requests_in_flight gauge"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.inner.registry.lock()) {
            tracing::error!(error = %e, "the metrics could not be encoded");
        }
        out
    }

    fn record(&self, method: usize, route: &str, status: u16, seconds: f64) {
        {
            let routes = self.inner.routes.read();
            if let Some(series) = routes.get(route) {
                self.record_in(series, method, route, status, seconds);
                return;
            }
        }
        let mut routes = self.inner.routes.write();
        let series = routes.entry(Arc::from(route)).or_default();
        self.record_in(series, method, route, status, seconds);
    }

    /// Records into the handles cached for one route: after a route's first request with a
    /// given method and status, a request costs an identity-hashed lookup and the updates,
    /// with no allocation and no hashing of the label set.
    fn record_in(
        &self,
        series: &RouteSeries,
        method: usize,
        route: &str,
        status: u16,
        seconds: f64,
    ) {
        series.durations[method]
            .get_or_init(|| {
                self.inner
                    .durations
                    .get_or_create(&RouteLabels {
                        method: METHOD_LABELS[method],
                        route: Arc::from(route),
                    })
                    .clone()
            })
            .observe(seconds);
        let key = (method, status);
        if let Some((_, counter)) = series.requests.read().iter().find(|(k, _)| *k == key) {
            counter.inc();
            return;
        }
        let mut requests = series.requests.write();
        if let Some((_, counter)) = requests.iter().find(|(k, _)| *k == key) {
            counter.inc();
            return;
        }
        let counter = self
            .inner
            .requests
            .get_or_create(&RequestLabels {
                method: METHOD_LABELS[method],
                route: Arc::from(route),
                status,
            })
            .clone();
        counter.inc();
        requests.push((key, counter));
    }
}

/// The middleware [`Metrics::middleware`] returns.
///
/// ```
/// let metrics = flame_metrics::Metrics::new();
/// let middleware: flame_metrics::HttpMetrics = metrics.middleware();
/// # let _ = middleware;
/// ```
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    metrics: Metrics,
}

/// Keeps the in-flight gauge right when a request is cancelled (its client went away).
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        Method::CONNECT => 7,
        Method::TRACE => 8,
        _ => 9,
    }
}

impl Invocable for HttpMetrics {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("flame_metrics::HttpMetrics")
    }

    fn call(&self, ctx: &Context, _ordinal: usize) -> Invocation {
        let ctx = ctx.clone();
        let metrics = self.metrics.clone();
        Invocation::Pending(Box::pin(async move {
            let started = Instant::now();
            metrics.inner.in_flight.inc();
            let guard = InFlight(metrics.inner.in_flight.clone());
            ctx.next().await;
            drop(guard);
            let route = match ctx.route() {
                "" => UNMATCHED_ROUTE,
                route => route,
            };
            let status = ctx.response_writer().status().as_u16();
            metrics.record(
                method_index(ctx.method()),
                route,
                status,
                started.elapsed().as_secs_f64(),
            );
        }))
    }
}
