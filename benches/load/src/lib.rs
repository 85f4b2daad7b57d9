//! What the load-test servers share: the address they listen on, the scenario they serve,
//! the tower-http layers of the `layers` scenario and how they stop.
//!
//! Both binaries serve `GET /` with `Hello, World!` on hyper (HTTP/1 and HTTP/2, graceful
//! shutdown on SIGINT/SIGTERM): axum through `axum::serve`, flame through its own accept
//! loop with its default limits (timeouts, connection cap), so wrk measures the framework
//! and what flame's protections cost. `benches/load/run.sh` starts them on 127.0.0.1.
//!
//! `SERVER [ADDR] [SCENARIO]`; the [`Scenario`] says what runs around the handler.

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{HttpMakeClassifier, TraceLayer};

/// What a load server runs around its `GET /` handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The handler alone.
    Hello,
    /// flame only: `flame_metrics::Metrics::middleware()` first and `/metrics` mounted.
    Metrics,
    /// flame only, to tell the metrics' recording from what any middleware costs: a
    /// middleware that only calls `c.next().await`.
    Noop,
    /// The handler behind tower-http's usual stack ([`trace`], [`set_request_id`],
    /// [`propagate_request_id`], [`cors`], [`compression`], [`timeout`]), the same on both
    /// servers.
    Layers,
}

impl Scenario {
    /// The scenario named by the second argument (`hello`, `metrics`, `noop`, `layers`), `hello`
    /// when there is none.
    ///
    /// # Panics
    ///
    /// When the argument names no scenario.
    pub fn from_args() -> Self {
        match std::env::args().nth(2).as_deref() {
            None | Some("hello") => Self::Hello,
            Some("metrics") => Self::Metrics,
            Some("noop") => Self::Noop,
            Some("layers") => Self::Layers,
            Some(other) => panic!("unknown scenario {other:?}: hello, metrics, noop or layers"),
        }
    }
}

/// The address given as the first argument, or `default`; only loopback addresses are accepted,
/// since these servers exist to be hammered by a local load generator.
///
/// # Panics
///
/// When the argument is not a socket address or not a loopback one.
pub fn listen_addr(default: &str) -> SocketAddr {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default.to_owned());
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|err| panic!("invalid address {addr:?}: {err}"));
    assert!(
        addr.ip().is_loopback(),
        "{addr} is not a loopback address: the load servers listen on 127.0.0.1 only"
    );
    addr
}

/// Completes on SIGINT or SIGTERM: flame's own shutdown signal, used by both servers.
pub async fn shutdown_signal() {
    flame_core::server::shutdown_signal().await;
}

// The `layers` stack, outermost first. Each server applies them in this order with its own
// idiom (flame: `f.layer` in this order; axum: `Router::layer` in the reverse order, since
// there the last added is the outermost), so both run the same stack.

/// Outermost: an `x-request-id` (a UUID v4) on every request that has none.
pub fn set_request_id() -> SetRequestIdLayer<MakeRequestUuid> {
    SetRequestIdLayer::x_request_id(MakeRequestUuid)
}

/// tower-http's request span with its defaults (a `DEBUG` span per request, events on
/// response and failure). No tracing subscriber is installed, so the span is disabled and
/// costs its callsite checks only, as in an app that filters `DEBUG` out.
pub fn trace() -> TraceLayer<HttpMakeClassifier> {
    TraceLayer::new_for_http()
}

/// Copies the request's `x-request-id` to the response.
pub fn propagate_request_id() -> PropagateRequestIdLayer {
    PropagateRequestIdLayer::x_request_id()
}

/// CORS allowing everything (`access-control-allow-origin: *` and friends).
pub fn cors() -> CorsLayer {
    CorsLayer::permissive()
}

/// gzip and brotli, as the client accepts. `Hello, World!` is 13 bytes, under tower-http's
/// default 32-byte threshold, so the predicate runs and the body goes out uncompressed.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new()
}

/// Innermost: a 408 after 10 s.
pub fn timeout() -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10))
}
