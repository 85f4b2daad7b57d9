//! `GET /` -> `Hello, World!` with flame, for `benches/load/run.sh`.
//!
//! `flame-hello [ADDR]` (default `127.0.0.1:38081`).

use flame_core::Flame;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = flame_load::listen_addr("127.0.0.1:38081");
    let mut f = Flame::new();
    f.get("/", || "Hello, World!");
    let listener = tokio::net::TcpListener::bind(addr).await?;
    f.serve_with_shutdown(listener, flame_load::shutdown_signal())
        .await?;
    Ok(())
}
