//! The counter on three nodes against one PostgreSQL: the same actor, page and HTTP API as
//! the `counter` example, in cluster mode. Any node serves the page and any client; calls and
//! WebSocket connections reach the node that owns the counter, and a node that dies is
//! replaced by the others once its lease ran out.
//!
//! ```text
//! examples/cluster/run.sh              # PostgreSQL in a temp dir, three nodes, stops them all on Ctrl-C
//! open http://127.0.0.1:2831/          # or :2832, :2833: the same count on every node
//! curl -X POST -H 'authorization: Bearer alice-token' \
//!      http://127.0.0.1:2832/actors/counter/main/rpc/increment
//! ```
//!
//! One node by hand: `FLAME_DATABASE_URL=postgres://... FLAME_NODE_ADDR=127.0.0.1:2831
//! FLAME_CLUSTER_SECRET=... cargo run --example cluster` (it listens on `FLAME_NODE_ADDR`).

use flame_core::Flame;
use flame_postgres::{ClusterOptions, PgCluster, PgStore};
use flame_stateful::ActorSystem;

#[allow(dead_code)]
#[path = "counter.rs"]
mod counter;

use counter::Counter;

/// One node: joins the cluster in the database at `url` with `options`, and serves the
/// counter's page, actors and API.
pub async fn node(url: &str, options: ClusterOptions) -> anyhow::Result<(Flame, ActorSystem)> {
    let store = PgStore::connect(url).await?;
    let cluster = PgCluster::join(store.clone(), options).await?;
    let system = ActorSystem::builder()
        .store(store)
        .cluster(cluster.config())
        .register_default::<Counter>("counter")
        .build()
        .await?;
    Ok((counter::web(system.clone()), system))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let url = std::env::var("FLAME_DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set FLAME_DATABASE_URL (see examples/cluster/run.sh)"))?;
    let options = ClusterOptions::from_env()?
        .ok_or_else(|| anyhow::anyhow!("set FLAME_NODE_ADDR and FLAME_CLUSTER_SECRET"))?;
    let addr = options.advertise.clone();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let (f, system) = node(&url, options).await?;
    println!("cluster node listening on http://{addr}");
    f.serve(listener).await?;
    system.shutdown().await;
    Ok(())
}
