//! flame against axum, in process: the same requests through each as a tower `Service`.
//!
//! Each pair runs on one current-thread tokio runtime, with the request built outside the
//! timed part (`iter_batched`) and the response body collected inside it, so both sides do the
//! same work: route, run the chain, build the response, collect the body.
//!
//! - `core/hello`: `f.get("/", || "Hello, World!")` vs `Router::new().route("/", get(..))`.
//! - `core/mw3_inject3_param`: three `c.next().await` middleware and a handler taking three
//!   services and `Params` on `/users/{id}`, vs three `axum::middleware::from_fn` layers calling
//!   `next.run(req).await` and a handler taking three `State` substates and `Path<String>`.
//! - `core/mw3`, `core/inject3_param`: the two halves of the above, to tell where time goes.
//! - `core/layer_app`: hello behind tower-http's `CorsLayer::permissive()` with `f.layer`, vs
//!   the same layer on axum's `Router::layer`.
//! - `core/layer_route`: the same layer on the route (`f.get(..).layer`) vs axum's
//!   `route_layer`.
//!
//! After each pair's criterion figures, the same two services run again in alternating chunks
//! and the median of the per-round time ratios is printed ("interleaved"): on a shared,
//! noisy machine it is the steadier figure. `FLAME_BENCH_ROUNDS=0` turns it off.
//!
//! Run with `cargo bench -p flame-core --bench core -- --warm-up-time 1 --measurement-time 3`;
//! `python3 benches/ratios.py core/hello axum` (and so on) prints the flame/axum ratio.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::middleware::{self, Next};
use axum::routing::get;
use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use flame_core::{Context, Flame, Params};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};

/// Three services, `Arc`-backed as real ones are, so injecting one is a reference count.
#[derive(Clone)]
struct A(Arc<str>);
#[derive(Clone)]
struct B(Arc<str>);
#[derive(Clone)]
struct C(Arc<str>);

fn services() -> (A, B, C) {
    (A("a".into()), B("b".into()), C("c".into()))
}

/// axum's state: the three services as `FromRef` substates.
#[derive(Clone)]
struct AppState {
    a: A,
    b: B,
    c: C,
}

impl FromRef<AppState> for A {
    fn from_ref(state: &AppState) -> Self {
        state.a.clone()
    }
}

impl FromRef<AppState> for B {
    fn from_ref(state: &AppState) -> Self {
        state.b.clone()
    }
}

impl FromRef<AppState> for C {
    fn from_ref(state: &AppState) -> Self {
        state.c.clone()
    }
}

fn body(a: &A, b: &B, c: &C, id: &str) -> String {
    format!("{}{}{} user {id}", a.0, b.0, c.0)
}

// ---- flame apps ----

fn flame_hello() -> Flame {
    let mut f = Flame::new();
    f.get("/", || "Hello, World!");
    f
}

fn flame_middleware(f: &mut Flame) {
    for _ in 0..3 {
        f.use_(|c: Context| async move { c.next().await });
    }
}

fn flame_layer_app() -> Flame {
    let mut f = flame_hello();
    f.layer(tower_http::cors::CorsLayer::permissive());
    f
}

fn flame_layer_route() -> Flame {
    let mut f = Flame::new();
    f.get("/", || "Hello, World!")
        .layer(tower_http::cors::CorsLayer::permissive());
    f
}

fn axum_layer_app() -> axum::Router {
    axum_hello().layer(tower_http::cors::CorsLayer::permissive())
}

fn axum_layer_route() -> axum::Router {
    axum_hello().route_layer(tower_http::cors::CorsLayer::permissive())
}

fn flame_mw3() -> Flame {
    let mut f = flame_hello();
    flame_middleware(&mut f);
    f
}

fn flame_inject3_param() -> Flame {
    let (a, b, c) = services();
    let mut f = Flame::new();
    f.map(a).map(b).map(c);
    f.get("/users/{id}", |a: A, b: B, c: C, p: Params| {
        body(&a, &b, &c, p.get("id").unwrap_or_default())
    });
    f
}

fn flame_mw3_inject3_param() -> Flame {
    let mut f = flame_inject3_param();
    flame_middleware(&mut f);
    f
}

/// A typed JSON body as a plain argument next to an injected service.
fn flame_json_body() -> Flame {
    let (a, _, _) = services();
    let mut f = Flame::new();
    f.map(a);
    f.post(
        "/todos",
        |a: A, flame_core::Json(todo): flame_core::Json<Todo>| format!("{}{}", a.0, todo.title),
    );
    f
}

#[derive(serde::Deserialize)]
struct Todo {
    title: String,
}

// ---- axum apps ----

async fn pass(request: axum::extract::Request, next: Next) -> axum::response::Response {
    next.run(request).await
}

fn axum_hello() -> axum::Router {
    axum::Router::new().route("/", get(|| async { "Hello, World!" }))
}

fn axum_mw3() -> axum::Router {
    axum_hello()
        .layer(middleware::from_fn(pass))
        .layer(middleware::from_fn(pass))
        .layer(middleware::from_fn(pass))
}

async fn axum_user(
    State(a): State<A>,
    State(b): State<B>,
    State(c): State<C>,
    Path(id): Path<String>,
) -> String {
    body(&a, &b, &c, &id)
}

fn axum_inject3_param() -> axum::Router {
    let (a, b, c) = services();
    axum::Router::new()
        .route("/users/{id}", get(axum_user))
        .with_state(AppState { a, b, c })
}

async fn axum_todo(State(a): State<A>, axum::Json(todo): axum::Json<Todo>) -> String {
    format!("{}{}", a.0, todo.title)
}

fn axum_json_body() -> axum::Router {
    let (a, b, c) = services();
    axum::Router::new()
        .route("/todos", axum::routing::post(axum_todo))
        .with_state(AppState { a, b, c })
}

fn axum_mw3_inject3_param() -> axum::Router {
    axum_inject3_param()
        .layer(middleware::from_fn(pass))
        .layer(middleware::from_fn(pass))
        .layer(middleware::from_fn(pass))
}

// ---- the harness ----

/// One request through a clone of `service`, body collected.
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
        .unwrap_or_default();
    (status, body)
}

fn request(path: &'static str) -> Request<Body> {
    if path == "/todos" {
        return Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"title":"milk"}"#))
            .expect("a valid request");
    }
    Request::get(path)
        .body(Body::empty())
        .expect("a valid request")
}

/// Benchmarks `flame` and `axum` under `name`, answering `path` with `expected`.
fn pair(
    criterion: &mut Criterion,
    runtime: &Runtime,
    name: &str,
    path: &'static str,
    expected: &str,
    flame: Flame,
    axum: axum::Router,
) {
    let flame = flame.into_service();

    // Both sides must give the same answer, or the comparison means nothing.
    for (side, (status, bytes)) in [
        (
            "flame",
            runtime.block_on(roundtrip(flame.clone(), request(path))),
        ),
        (
            "axum",
            runtime.block_on(roundtrip(axum.clone(), request(path))),
        ),
    ] {
        assert_eq!(status, StatusCode::OK, "{name}: {side} status");
        assert_eq!(bytes, expected.as_bytes(), "{name}: {side} body");
    }

    let mut group = criterion.benchmark_group(name);
    group.bench_function("flame", |b| {
        b.to_async(runtime).iter_batched(
            || request(path),
            |req| roundtrip(flame.clone(), req),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("axum", |b| {
        b.to_async(runtime).iter_batched(
            || request(path),
            |req| roundtrip(axum.clone(), req),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    if interleave_enabled(name) {
        interleaved(runtime, name, path, &flame, &axum);
    }
}

/// Whether to run the interleaved comparison of `group`: under `cargo bench` (criterion gets
/// `--bench`), unless `FLAME_BENCH_ROUNDS=0`, and only for groups the command-line filter names
/// (a heuristic: any argument that is neither an option nor a number is taken as a filter).
fn interleave_enabled(group: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|arg| arg == "--bench") || rounds() == 0 {
        return false;
    }
    let filters: Vec<&String> = args
        .iter()
        .filter(|arg| !arg.starts_with('-') && arg.parse::<f64>().is_err())
        .collect();
    filters.is_empty() || filters.iter().any(|filter| group.contains(filter.as_str()))
}

fn rounds() -> usize {
    std::env::var("FLAME_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(15)
}

/// Times `n` prepared requests through `service`, bodies collected.
fn timed<S>(runtime: &Runtime, service: &S, path: &'static str, n: usize) -> Duration
where
    S: Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible> + Clone,
    S::Future: Future + Send,
{
    let requests: Vec<Request<Body>> = (0..n).map(|_| request(path)).collect();
    runtime.block_on(async {
        let started = Instant::now();
        for req in requests {
            std::hint::black_box(roundtrip(service.clone(), req).await);
        }
        started.elapsed()
    })
}

/// The flame/axum time ratio measured in alternating chunks of about 20 ms each, flame first
/// in odd rounds and axum first in even ones: a load spike from other processes then lands on
/// one round of both sides rather than on all of one side, as it can between criterion's
/// consecutive measurements. Prints the median of the per-round ratios with its range, and the
/// ratio of each side's fastest round (other processes only ever add time, so the fastest
/// round is the least disturbed one).
fn interleaved(
    runtime: &Runtime,
    name: &str,
    path: &'static str,
    flame: &flame_core::FlameService,
    axum: &axum::Router,
) {
    let probe = timed(runtime, flame, path, 1000) + timed(runtime, axum, path, 1000);
    let per_request = probe.as_secs_f64() / 2000.0;
    let n = ((0.02 / per_request) as usize).clamp(1000, 100_000);
    let mut ratios = Vec::with_capacity(rounds());
    let (mut flame_best, mut axum_best) = (f64::INFINITY, f64::INFINITY);
    for round in 0..rounds() {
        let (f, a) = if round % 2 == 0 {
            let f = timed(runtime, flame, path, n);
            (f, timed(runtime, axum, path, n))
        } else {
            let a = timed(runtime, axum, path, n);
            (timed(runtime, flame, path, n), a)
        };
        let (f, a) = (f.as_secs_f64() / n as f64, a.as_secs_f64() / n as f64);
        flame_best = flame_best.min(f);
        axum_best = axum_best.min(a);
        ratios.push(f / a);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "{name}: interleaved flame/axum time ratio {median:.3} (median of {} rounds of {n} \
         requests per side, range {:.3} .. {:.3}); fastest rounds: flame {:.0} ns, axum {:.0} ns, \
         ratio {:.3}",
        ratios.len(),
        ratios[0],
        ratios[ratios.len() - 1],
        flame_best * 1e9,
        axum_best * 1e9,
        flame_best / axum_best,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut criterion = Criterion::default().configure_from_args();
    let user = "abc user 42";

    pair(
        &mut criterion,
        &runtime,
        "core/hello",
        "/",
        "Hello, World!",
        flame_hello(),
        axum_hello(),
    );
    pair(
        &mut criterion,
        &runtime,
        "core/mw3_inject3_param",
        "/users/42",
        user,
        flame_mw3_inject3_param(),
        axum_mw3_inject3_param(),
    );
    pair(
        &mut criterion,
        &runtime,
        "core/mw3",
        "/",
        "Hello, World!",
        flame_mw3(),
        axum_mw3(),
    );
    pair(
        &mut criterion,
        &runtime,
        "core/inject3_param",
        "/users/42",
        user,
        flame_inject3_param(),
        axum_inject3_param(),
    );

    pair(
        &mut criterion,
        &runtime,
        "core/json_body",
        "/todos",
        "amilk",
        flame_json_body(),
        axum_json_body(),
    );
    pair(
        &mut criterion,
        &runtime,
        "core/layer_app",
        "/",
        "Hello, World!",
        flame_layer_app(),
        axum_layer_app(),
    );
    pair(
        &mut criterion,
        &runtime,
        "core/layer_route",
        "/",
        "Hello, World!",
        flame_layer_route(),
        axum_layer_route(),
    );

    criterion.final_summary();
}
