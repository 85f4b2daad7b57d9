//! [`Metrics`]: the registry, the HTTP middleware and the scrape handler.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Instant;

use flame_core::{Context, Invocable, Invocation, Reply};
use http::Method;
use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
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

/// The most shards, whatever the core count.
const MAX_SHARDS: usize = 64;

/// One route and method's durations: a count per bucket of [`DURATION_BUCKETS`] and one for
/// the rest (`+Inf`), not cumulative.
#[derive(Clone, Debug, Default)]
struct Durations {
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Durations {
    fn observe(&mut self, seconds: f64) {
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|upper| seconds <= *upper)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[bucket] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// What one shard counted for one route: a handful of methods and statuses each, so short
/// lists beat maps.
#[derive(Debug, Default)]
struct RouteStats {
    durations: Vec<(usize, Durations)>,
    requests: Vec<((usize, u16), u64)>,
}

impl RouteStats {
    fn record(&mut self, method: usize, status: u16, seconds: f64) {
        match self.durations.iter_mut().find(|(m, _)| *m == method) {
            Some((_, durations)) => durations.observe(seconds),
            None => {
                let mut durations = Durations::default();
                durations.observe(seconds);
                self.durations.push((method, durations));
            }
        }
        let key = (method, status);
        match self.requests.iter_mut().find(|(k, _)| *k == key) {
            Some((_, count)) => *count += 1,
            None => self.requests.push((key, 1)),
        }
    }
}

/// One thread's share of the HTTP metrics. A request records into the shard of the thread
/// it started on, so the counters a core writes stay in its own cache: with one shared set,
/// every request on a multi-core server moved the same cache lines between the cores, which
/// cost several times what the recording itself does (see the metrics docs page).
/// Aligned so that two shards never share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    in_flight: AtomicI64,
    /// By route pattern: one entry per route and `unmatched`.
    routes: Mutex<HashMap<Arc<str>, RouteStats, FxBuildHasher>>,
}

impl Shard {
    fn record(&self, method: usize, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock();
        if let Some(stats) = routes.get_mut(route) {
            stats.record(method, status, seconds);
            return;
        }
        routes
            .entry(Arc::from(route))
            .or_default()
            .record(method, status, seconds);
    }
}

/// The HTTP series, kept in per-thread [`Shard`]s and summed when scraped.
#[derive(Debug)]
struct HttpSeries {
    shards: Box<[Arc<Shard>]>,
}

impl HttpSeries {
    fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(4, NonZeroUsize::get);
        // Twice the cores, so that the runtime's workers rarely share a shard with each
        // other or with the threads around them.
        let shards = (cores * 2).next_power_of_two().min(MAX_SHARDS);
        Self {
            shards: (0..shards).map(|_| Arc::default()).collect(),
        }
    }

    /// The calling thread's shard.
    fn shard(&self) -> &Arc<Shard> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static THREAD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        let thread = THREAD.with(|thread| *thread);
        &self.shards[thread % self.shards.len()]
    }
}

impl Collector for HttpSeries {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut in_flight = 0;
        let mut requests = BTreeMap::<(Arc<str>, usize, u16), u64>::new();
        let mut durations = BTreeMap::<(Arc<str>, usize), Durations>::new();
        for shard in &self.shards {
            in_flight += shard.in_flight.load(Ordering::Relaxed);
            for (route, stats) in shard.routes.lock().iter() {
                for ((method, status), count) in &stats.requests {
                    *requests
                        .entry((route.clone(), *method, *status))
                        .or_default() += count;
                }
                for (method, observed) in &stats.durations {
                    durations
                        .entry((route.clone(), *method))
                        .or_default()
                        .add(observed);
                }
            }
        }
        if !requests.is_empty() {
            let mut family = encoder.encode_descriptor(
                "flame_http_requests",
                "HTTP requests finished, by method, matched route pattern and status",
                None,
                MetricType::Counter,
            )?;
            for ((route, method, status), count) in requests {
                let labels = RequestLabels {
                    method: METHOD_LABELS[method],
                    route,
                    status,
                };
                family
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
        }
        if !durations.is_empty() {
            let mut family = encoder.encode_descriptor(
                "flame_http_request_duration_seconds",
                "HTTP request duration in seconds, by method and matched route pattern",
                None,
                MetricType::Histogram,
            )?;
            for ((route, method), observed) in durations {
                let labels = RouteLabels {
                    method: METHOD_LABELS[method],
                    route,
                };
                // The last bucket is `+Inf`, as prometheus-client's own histograms write it.
                let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
                    .iter()
                    .copied()
                    .chain([f64::MAX])
                    .zip(observed.buckets)
                    .collect();
                family
                    .encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(observed.sum, observed.count, &buckets, None)?;
            }
        }
        encoder
            .encode_descriptor(
                "flame_http_requests_in_flight",
                "HTTP requests started and not finished",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&in_flight)
    }
}

struct Inner {
    registry: Mutex<Registry>,
    http: Arc<HttpSeries>,
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
        let http = Arc::new(HttpSeries::new());
        registry.register_collector(Box::new(http.clone()));
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                http,
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

/// Counts a request in flight until dropped, so the gauge stays right when a request is
/// cancelled (its client went away) or a handler panics. Borrows the shard while the chain
/// runs synchronously and owns a reference to it once it waits.
struct InFlight<S: Deref<Target = Shard>>(S);

impl<S: Deref<Target = Shard>> InFlight<S> {
    fn start(shard: S) -> Self {
        shard.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(shard)
    }
}

impl<S: Deref<Target = Shard>> Drop for InFlight<S> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Records a finished request: its method, matched route, status and duration.
fn record(shard: &Shard, ctx: &Context, started: Instant) {
    let route = match ctx.route() {
        "" => UNMATCHED_ROUTE,
        route => route,
    };
    shard.record(
        method_index(ctx.method()),
        route,
        ctx.response_writer().status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
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
        let shard = self.metrics.inner.http.shard();
        let started = Instant::now();
        let in_flight = InFlight::start(&**shard);
        // A synchronous chain (most handlers) finishes inside `next_now`: then the request
        // is recorded at once, with no future, no clone of the context and no reference
        // count written, which is what `c.next().await` in a future would cost.
        match ctx.next_now() {
            Invocation::Ready => {
                record(shard, ctx, started);
                drop(in_flight);
                Invocation::Ready
            }
            Invocation::Pending(rest) => {
                // The count moves to a guard that owns its shard, to outlive this call.
                std::mem::forget(in_flight);
                let in_flight = InFlight(shard.clone());
                let ctx = ctx.clone();
                Invocation::Pending(Box::pin(async move {
                    rest.await;
                    record(&in_flight.0, &ctx, started);
                }))
            }
        }
    }
}
