//! `GET /` -> `Hello, World!` with axum, the baseline for `benches/load/run.sh`.
//!
//! `axum-hello [ADDR]` (default `127.0.0.1:38082`).

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = flame_load::listen_addr("127.0.0.1:38082");
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(flame_load::shutdown_signal())
        .await?;
    Ok(())
}
