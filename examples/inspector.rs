//! Metrics and the development inspector on an app with a stateful actor.
//!
//! - every request is counted by method, matched route pattern and status
//!   (`flame_metrics::Metrics::middleware`), scraped at `/metrics`;
//! - a `board` actor keeps a note count as its state and the notes in its key-value space;
//! - the inspector at `/_flame` shows the routes, the mapped services, the startup check,
//!   the live boards (with their connections), one board's state and notes, the recent
//!   commits, and the metrics. In production it exists only with `FLAME_INSPECTOR_TOKEN` set.
//!
//! ```text
//! cargo run --example inspector
//! curl -X POST 'http://localhost:2830/boards/home/notes?text=milk'   # {"count":1}
//! curl http://localhost:2830/metrics | grep flame_http_requests_total
//! open http://localhost:2830/_flame
//! FLAME_ENV=production FLAME_INSPECTOR_TOKEN=s3cret cargo run --example inspector
//! open 'http://localhost:2830/_flame?token=s3cret'
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flame_actor::BackendActor;
use flame_core::{Context, Env, Flame, Json, StatusCode};
use flame_metrics::{Inspector, Metrics};
use flame_stateful::transport::{self, TransportConfig, TransportHandle};
use flame_stateful::{ActorConfig, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use serde_json::json;

// ANCHOR: board
/// A notice board: how many notes it has (its state) and the notes (its key-value space).
#[derive(Default)]
pub struct Board;

impl StatefulActor for Board {
    type State = u64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<u64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Board {
    /// Pins a note; answers the board's new count.
    async fn pin(&self, rpc: &mut Rpc<Self>, text: String) -> Result<u64, ActorError> {
        let n = *rpc.state() + 1;
        *rpc.state_mut() = n;
        rpc.kv().put(format!("note/{n:06}"), &text)?;
        Ok(n)
    }
}
// ANCHOR_END: board

/// The app without its inspector: the board API, the WebSocket transport, metrics at
/// `/metrics`.
pub struct Boards {
    /// The app.
    pub f: Flame,
    /// Its actor system.
    pub system: ActorSystem,
    /// Its metrics.
    pub metrics: Metrics,
    /// The WebSocket transport.
    pub transport: TransportHandle,
}

/// The app: the board API, metrics at `/metrics`, the inspector at `/_flame`.
///
/// `env` decides whether the inspector is mounted (always outside production; in
/// production only with a `token`).
pub async fn app(
    data_dir: &Path,
    env: Env,
    token: Option<&str>,
) -> anyhow::Result<(Flame, ActorSystem, Metrics)> {
    let mut boards = boards(data_dir).await?;
    mount_inspector(&mut boards, env, token);
    Ok((boards.f, boards.system, boards.metrics))
}

/// Everything but the inspector.
pub async fn boards(data_dir: &Path) -> anyhow::Result<Boards> {
    let system = ActorSystem::builder()
        .config(ActorConfig {
            data_dir: data_dir.to_path_buf(),
            ..ActorConfig::default()
        })
        .register_default::<Board>("board")
        .build()
        .await?;

    // ANCHOR: metrics
    let metrics = Metrics::new();
    let mut f = Flame::new();
    // first, so it sees every request and the status the rest of the chain wrote
    f.use_(metrics.middleware());
    f.use_(flame_core::recovery());
    // ANCHOR_END: metrics

    let boards = system.clone();
    f.post("/boards/{board}/notes", move |c: Context| {
        let system = boards.clone();
        async move {
            let caller = Arc::new(BackendActor::new("http"));
            let text = c.query("text");
            match system
                .call("board", c.param("board"), "pin", vec![json!(text)], caller)
                .await
            {
                Ok(count) => (StatusCode::OK, Json(json!({ "count": count }))),
                Err(e) => (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": e.to_string() })),
                ),
            }
        }
    });
    let transport = transport::mount(&mut f, system.clone(), TransportConfig::default());
    // ANCHOR: scrape
    metrics.register_server(&f.server_stats());
    metrics.register_actors(&system, Some(&transport));
    f.get("/metrics", metrics.handler());
    // ANCHOR_END: scrape
    Ok(Boards {
        f,
        system,
        metrics,
        transport,
    })
}

/// Mounts the inspector, last: it shows the routes and services registered before it.
pub fn mount_inspector(boards: &mut Boards, env: Env, token: Option<&str>) {
    let Boards {
        f,
        system,
        metrics,
        transport,
    } = boards;
    // ANCHOR: mount
    // last: the inspector lists the routes, services and check report as they are now
    let mut inspector = Inspector::new()
        .env(env)
        .metrics(metrics)
        .actors(system, Some(transport));
    if let Some(token) = token {
        inspector = inspector.token(token);
    }
    inspector.mount(f);
    // ANCHOR_END: mount
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let token = std::env::var("FLAME_INSPECTOR_TOKEN").ok();
    let data_dir =
        std::env::var_os("FLAME_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from);
    let (f, system, _metrics) = app(&data_dir, flame_core::env(), token.as_deref()).await?;
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    println!(
        "inspector example listening on http://{}",
        listener.local_addr()?
    );
    f.serve(listener).await?;
    system.shutdown().await;
    Ok(())
}
