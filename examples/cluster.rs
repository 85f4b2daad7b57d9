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

use std::path::Path;
use std::sync::Arc;

use flame_actor::ContextActorExt;
use flame_core::{Context, Flame, StaticOptions};
use flame_postgres::{ClusterOptions, PgCluster, PgStore};
use flame_stateful::ActorSystem;
use flame_stateful::transport::{self, TransportConfig};

#[allow(dead_code)]
#[path = "counter.rs"]
mod counter;

use counter::{Counter, TokenUser, validate_auth_token};

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

    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.use_(flame_core::recovery());
    f.use_(|c: Context| {
        let token = c
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(user_id) = token.and_then(validate_auth_token) {
            c.set_actor(Arc::new(TokenUser { user_id }));
        }
    });
    let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
    f.use_(flame_core::static_files(StaticOptions::new(public)));
    f.get("/", |c: Context| c.redirect("/counter.html"));
    transport::mount(&mut f, system.clone(), TransportConfig::default());
    counter::api(&mut f);
    Ok((f, system))
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
