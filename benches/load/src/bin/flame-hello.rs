//! `GET /` -> `Hello, World!` with flame, for `benches/load/run.sh`.
//!
//! `flame-hello [ADDR] [SCENARIO]` (default `127.0.0.1:38081 hello`): `hello` is the handler
//! alone, `metrics` adds `flame_metrics`' middleware first and `/metrics`, `noop` a
//! middleware that only calls `c.next().await`, `layers` puts the handler behind
//! `flame_load`'s tower-http stack with `f.layer`.

use flame_core::Flame;
use flame_load::Scenario;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = flame_load::listen_addr("127.0.0.1:38081");
    let mut f = Flame::new();
    match Scenario::from_args() {
        Scenario::Hello => {}
        Scenario::Metrics => {
            let metrics = flame_metrics::Metrics::new();
            f.use_(metrics.middleware());
            f.get("/metrics", metrics.handler());
        }
        Scenario::Noop => {
            f.use_(|c: flame_core::Context| async move { c.next().await });
        }
        Scenario::Layers => {
            // The first added is the outermost.
            f.layer(flame_load::set_request_id())
                .layer(flame_load::trace())
                .layer(flame_load::propagate_request_id())
                .layer(flame_load::cors())
                .layer(flame_load::compression())
                .layer(flame_load::timeout());
        }
    }
    f.get("/", || "Hello, World!");
    let listener = tokio::net::TcpListener::bind(addr).await?;
    f.serve_with_shutdown(listener, flame_load::shutdown_signal())
        .await?;
    Ok(())
}
