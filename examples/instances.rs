//! The seed's "Instances": two independent instances in one process, with different
//! middleware and routes. `f1` is classic and listens on FLAME_ADDR (default 0.0.0.0:2830);
//! `f2` is bare with only Recovery and listens on the next port.
//!
//! ```text
//! cargo run --example instances
//! curl http://localhost:2830/   # f1: classic
//! curl http://localhost:2831/   # f2: bare, with Recovery only
//! ```

use flame_core::Flame;

// ANCHOR: app
pub fn instances() -> (Flame, Flame) {
    let mut f1 = Flame::classic();
    let mut f2 = Flame::new();
    f2.use_(flame_core::recovery());

    f1.get("/", || "f1: classic");
    f2.get("/", || "f2: bare, with Recovery only");
    (f1, f2)
}
// ANCHOR_END: app

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let addr: std::net::SocketAddr = flame_core::server::listen_addr().parse()?;
    let second = std::net::SocketAddr::new(addr.ip(), addr.port() + 1);
    let (f1, f2) = instances();
    let (l1, l2) = (
        tokio::net::TcpListener::bind(addr).await?,
        tokio::net::TcpListener::bind(second).await?,
    );
    tokio::try_join!(f1.serve(l1), f2.serve(l2))?;
    Ok(())
}
