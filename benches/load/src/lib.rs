//! What the two load-test servers share: the address they listen on and how they stop.
//!
//! Both binaries serve `GET /` with `Hello, World!` on hyper (HTTP/1 and HTTP/2, graceful
//! shutdown on SIGINT/SIGTERM): axum through `axum::serve`, flame through its own accept
//! loop with its default limits (timeouts, connection cap), so wrk measures the framework
//! and what flame's protections cost. `benches/load/run.sh` starts them on 127.0.0.1.

use std::net::SocketAddr;

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
