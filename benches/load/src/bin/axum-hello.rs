//! `GET /` -> `Hello, World!` with axum, the baseline for `benches/load/run.sh`.
//!
//! `axum-hello [ADDR] [SCENARIO]` (default `127.0.0.1:38082 hello`): `hello` is the handler
//! alone, `layers` puts it behind `flame_load`'s tower-http stack with `Router::layer`
//! (`metrics` and `noop` are flame's own and have no axum side).

use axum::Router;
use axum::routing::get;
use flame_load::Scenario;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = flame_load::listen_addr("127.0.0.1:38082");
    let mut app = Router::new().route("/", get(|| async { "Hello, World!" }));
    match Scenario::from_args() {
        Scenario::Hello => {}
        Scenario::Metrics | Scenario::Noop => {
            return Err("the metrics and noop scenarios are flame's own; axum has none".into());
        }
        Scenario::Layers => {
            // The last added is the outermost: the reverse of flame's order, the same stack.
            app = app
                .layer(flame_load::timeout())
                .layer(flame_load::compression())
                .layer(flame_load::cors())
                .layer(flame_load::propagate_request_id())
                .layer(flame_load::trace())
                .layer(flame_load::set_request_id());
        }
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(flame_load::shutdown_signal())
        .await?;
    Ok(())
}
