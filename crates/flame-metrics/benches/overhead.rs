//! What the metrics middleware costs per request, in process: the same app as a tower
//! `Service` with and without `Metrics::middleware`, same run.
//!
//! - `metrics/hello`: `f.get("/", || "Hello, World!")` (the core bench's `core/hello`).
//! - `metrics/param`: a handler taking `Params` on `/users/{id}`, so the route label is a
//!   pattern with a bind (the core bench's handler-only shape).
//!
//! Each runs without middleware, with a middleware that only calls `c.next().await` (what
//! any flame middleware costs) and with the metrics middleware.
//!
//! After criterion's figures, both services run again in alternating chunks and the median
//! of the per-round time ratios (with/without) is printed: on a shared, noisy machine it is
//! the steadier figure. `FLAME_BENCH_ROUNDS` sets the rounds (default 15).
//!
//! Run with `cargo bench -p flame-metrics --bench overhead -- --warm-up-time 1 --measurement-time 3`.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use flame_core::{Flame, FlameService, Params};
use flame_metrics::Metrics;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};

async fn roundtrip<S>(service: S, request: Request<Body>) -> (StatusCode, Bytes)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible>,
    S::Future: Future + Send,
{
    let response = match service.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .expect("a body");
    (status, body)
}

fn request(path: &'static str) -> Request<Body> {
    Request::get(path)
        .body(Body::empty())
        .expect("a valid request")
}

/// Which middleware the app runs before its handler.
#[derive(Clone, Copy)]
enum Middleware<'a> {
    None,
    /// A middleware that only calls `c.next().await`: flame's own cost of a middleware.
    Noop,
    Metrics(&'a Metrics),
}

fn app(middleware: Middleware<'_>, param: bool) -> FlameService {
    let mut f = Flame::new();
    match middleware {
        Middleware::None => {}
        Middleware::Noop => {
            f.use_(|c: flame_core::Context| async move { c.next().await });
        }
        Middleware::Metrics(metrics) => {
            f.use_(metrics.middleware());
        }
    }
    if param {
        f.get("/users/{id}", |p: Params| {
            format!("user {}", p.get("id").unwrap_or(""))
        });
    } else {
        f.get("/", || "Hello, World!");
    }
    f.into_service()
}

fn timed(runtime: &Runtime, service: &FlameService, path: &'static str, n: usize) -> Duration {
    let requests: Vec<Request<Body>> = (0..n).map(|_| request(path)).collect();
    runtime.block_on(async {
        let started = Instant::now();
        for req in requests {
            std::hint::black_box(roundtrip(service.clone(), req).await);
        }
        started.elapsed()
    })
}

fn rounds() -> usize {
    std::env::var("FLAME_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(15)
}

/// The with/without time ratio in alternating chunks of about 20 ms, each side first in
/// every other round.
fn interleaved(
    runtime: &Runtime,
    name: &str,
    path: &'static str,
    with: &FlameService,
    without: &FlameService,
    baseline: &str,
) {
    let probe = timed(runtime, with, path, 1000) + timed(runtime, without, path, 1000);
    let per_request = probe.as_secs_f64() / 2000.0;
    let n = ((0.02 / per_request) as usize).clamp(1000, 100_000);
    let mut ratios = Vec::with_capacity(rounds());
    let (mut with_best, mut without_best) = (f64::INFINITY, f64::INFINITY);
    for round in 0..rounds().max(1) {
        let (w, o) = if round % 2 == 0 {
            let w = timed(runtime, with, path, n);
            (w, timed(runtime, without, path, n))
        } else {
            let o = timed(runtime, without, path, n);
            (timed(runtime, with, path, n), o)
        };
        let (w, o) = (w.as_secs_f64() / n as f64, o.as_secs_f64() / n as f64);
        with_best = with_best.min(w);
        without_best = without_best.min(o);
        ratios.push(w / o);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "{name}: interleaved metrics/{baseline} time ratio {median:.3} (median of {} rounds \
         of {n} requests per side, range {:.3} .. {:.3}); fastest rounds: metrics {:.0} ns, \
         {baseline} {:.0} ns, ratio {:.3}",
        ratios.len(),
        ratios[0],
        ratios[ratios.len() - 1],
        with_best * 1e9,
        without_best * 1e9,
        with_best / without_best,
    );
}

fn pair(criterion: &mut Criterion, runtime: &Runtime, name: &str, path: &'static str, param: bool) {
    let metrics = Metrics::new();
    let with = app(Middleware::Metrics(&metrics), param);
    let without = app(Middleware::None, param);
    let noop = app(Middleware::Noop, param);
    for service in [&with, &without, &noop] {
        let (status, _) = runtime.block_on(roundtrip(service.clone(), request(path)));
        assert_eq!(status, StatusCode::OK, "{name}");
    }
    let mut group = criterion.benchmark_group(name);
    group.bench_function("without", |b| {
        b.to_async(runtime).iter_batched(
            || request(path),
            |req| roundtrip(without.clone(), req),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("noop_middleware", |b| {
        b.to_async(runtime).iter_batched(
            || request(path),
            |req| roundtrip(noop.clone(), req),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("with", |b| {
        b.to_async(runtime).iter_batched(
            || request(path),
            |req| roundtrip(with.clone(), req),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    if std::env::args().any(|arg| arg == "--bench") && rounds() > 0 {
        interleaved(runtime, name, path, &with, &without, "none");
        interleaved(runtime, name, path, &with, &noop, "noop middleware");
    }
    // the middleware did count: the comparison is not against a no-op
    assert!(metrics.render().contains("flame_http_requests_total{"));
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut criterion = Criterion::default().configure_from_args();
    pair(&mut criterion, &runtime, "metrics/hello", "/", false);
    pair(&mut criterion, &runtime, "metrics/param", "/users/42", true);
    criterion.final_summary();
}
