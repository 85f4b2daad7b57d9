//! The seed's Counter (Rivet's lifecycle page) in Rust: persisted state, connection params
//! checked by `on_before_connect`, a broadcast on every change, an `increment` action; served
//! over WebSocket and HTTP with a page that shows the count live.
//!
//! ```text
//! cargo run --example counter                      # data in ./.flame (FLAME_DATA_DIR to change)
//! open http://localhost:2830/                      # the page: open it twice, click
//! curl -X POST -H 'authorization: Bearer alice-token' \
//!      http://localhost:2830/actors/counter/main/rpc/increment          # 1
//! curl -X POST http://localhost:2830/actors/counter/main/rpc/increment  # 401 unauthorized
//! cargo run --example counter_client               # a Rust client
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flame_actor::{Actor, ActorContext, ContextActorExt};
use flame_core::{Context, Flame, Json, StaticOptions};
use flame_stateful::transport::{self, TransportConfig};
use flame_stateful::typescript::TS;
use flame_stateful::{
    ActorConfig, ActorCtx, ActorError, ActorSystem, CallError, ConnectOptions, Connection, InitCtx,
    Rpc, StatefulActor, actions,
};
use serde::{Deserialize, Serialize};

/// Where the counter keeps its data (default `./.flame`).
pub const DATA_DIR_VAR: &str = "FLAME_DATA_DIR";

// ANCHOR: types
/// The persisted state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    pub count: i64,
}

/// What a client sends when it connects.
#[derive(Debug, Deserialize, TS)]
#[ts(crate = "flame_stateful::typescript::ts_rs")]
pub struct ConnParams {
    pub auth_token: String,
}

/// The payload of `countUpdated`, broadcast after every change.
#[derive(Debug, Serialize, Deserialize, TS)]
#[ts(crate = "flame_stateful::typescript::ts_rs")]
pub struct CountUpdated {
    pub count: i64,
}

/// What `on_before_connect` makes of it, kept with the connection.
#[derive(Debug, Default)]
pub struct ConnState {
    pub user_id: String,
}
// ANCHOR_END: types

/// A stand-in for "validate the auth token with your API": a fixed table.
pub fn validate_auth_token(token: &str) -> Option<&'static str> {
    match token {
        "alice-token" => Some("alice"),
        "bob-token" => Some("bob"),
        _ => None,
    }
}

// ANCHOR: actor
#[derive(Default)]
pub struct Counter;

impl StatefulActor for Counter {
    type State = State;
    type ConnParams = ConnParams;
    type ConnState = ConnState;

    async fn on_initialize(&self, _ctx: &InitCtx) -> Result<State, ActorError> {
        // Initialize with a count of 0
        Ok(State { count: 0 })
    }

    async fn on_start(&self, ctx: &mut ActorCtx<Self>) -> Result<(), ActorError> {
        // Upgrade state if needed
        tracing::info!(key = ctx.key(), count = ctx.state().count, "started");
        Ok(())
    }

    async fn on_state_change(&self, ctx: &mut ActorCtx<Self>) {
        // Broadcast the new count to all connected clients
        ctx.broadcast(
            "countUpdated",
            CountUpdated {
                count: ctx.state().count,
            },
        );
    }

    async fn on_before_connect(
        &self,
        _ctx: &mut ActorCtx<Self>,
        opts: &ConnectOptions<ConnParams>,
    ) -> Result<ConnState, ActorError> {
        // Validate the auth token and determine the user
        let Some(user_id) = validate_auth_token(&opts.params.auth_token) else {
            return Err(ActorError::unauthorized("Invalid auth token"));
        };
        // Returned connection state is available as `conn.state()`
        Ok(ConnState {
            user_id: user_id.to_owned(),
        })
    }

    async fn on_connect(
        &self,
        _ctx: &mut ActorCtx<Self>,
        conn: &Connection<Self>,
    ) -> Result<(), ActorError> {
        tracing::info!(user = conn.state().user_id, "connected");
        Ok(())
    }

    async fn on_disconnect(&self, _ctx: &mut ActorCtx<Self>, conn: &Connection<Self>) {
        tracing::info!(user = conn.state().user_id, "disconnected");
    }
}
// ANCHOR_END: actor

// ANCHOR: actions
#[actions(events(countUpdated = CountUpdated))]
impl Counter {
    /// Adds `by` (1 if left out) and returns the new count.
    async fn increment(&self, rpc: &mut Rpc<Self>, by: Option<i64>) -> Result<i64, ActorError> {
        // Connections passed `on_before_connect`; HTTP callers need a token of their own.
        if rpc.conn().is_none() && rpc.caller().actor_type() != TokenUser::TYPE {
            return Err(ActorError::unauthorized(
                "send `Authorization: Bearer <token>`",
            ));
        }
        rpc.state_mut().count += by.unwrap_or(1);
        Ok(rpc.state().count)
    }

    /// The current count.
    async fn get_count(&self, rpc: &mut Rpc<Self>) -> i64 {
        rpc.state().count
    }
}
// ANCHOR_END: actions

/// The identity of an HTTP caller that presented a valid bearer token.
#[derive(Debug)]
pub struct TokenUser {
    pub user_id: &'static str,
}

impl TokenUser {
    const TYPE: &'static str = "token_user";
}

impl Actor for TokenUser {
    fn actor_type(&self) -> &str {
        Self::TYPE
    }

    fn actor_id(&self) -> Option<String> {
        Some(self.user_id.to_owned())
    }
}

// ANCHOR: app
/// The counter app on the data directory `data_dir`: the actor system (redb in
/// `data_dir/actors.redb`) and the flame app serving it and the page.
pub async fn app(data_dir: &Path) -> anyhow::Result<(Flame, ActorSystem)> {
    let system = ActorSystem::builder()
        .config(ActorConfig {
            data_dir: data_dir.to_path_buf(),
            ..ActorConfig::default()
        })
        .register_default::<Counter>("counter")
        .build()
        .await?;
    Ok((web(system.clone()), system))
}

/// The flame app serving `system`'s counters: the page, the actor transport and the JSON API,
/// with `Authorization: Bearer <token>` making a request act as that user. The `cluster`
/// example serves the same app on every node.
pub fn web(system: ActorSystem) -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.use_(flame_core::recovery());
    // `Authorization: Bearer <token>` makes an HTTP request act as that user
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
    transport::mount(&mut f, system, TransportConfig::default());
    api(&mut f);
    f
}
// ANCHOR_END: app

// ANCHOR: handle
/// A JSON API over the counters, calling the actor through its typed handle: `mount`
/// provides the `ActorSystem` to handlers, and `CallError` answers the actor's error with
/// its status (`unauthorized` is 401).
pub fn api(f: &mut Flame) {
    f.post(
        "/api/counters/{key}/increment",
        |system: ActorSystem, c: Context| async move {
            let by = c.query("by").parse::<i64>().ok();
            let count = Counter::handle(&system, c.param("key"))
                .with_caller(c.actor()) // the actor sees who asks
                .increment(by)
                .await?;
            Ok::<_, CallError>(Json(serde_json::json!({ "count": count })))
        },
    );
    f.get(
        "/api/counters/{key}",
        |system: ActorSystem, c: Context| async move {
            let count: i64 = Counter::handle(&system, c.param("key")).get_count().await?;
            Ok::<_, CallError>(Json(serde_json::json!({ "count": count })))
        },
    );
}
// ANCHOR_END: handle

/// `FLAME_DATA_DIR`, or `./.flame`.
pub fn data_dir() -> PathBuf {
    std::env::var_os(DATA_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".flame"))
}

#[tokio::main]
pub async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let (f, system) = app(&data_dir()).await?;
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    // The tests read this line to find the port.
    println!("counter listening on http://{}", listener.local_addr()?);
    f.serve(listener).await?;
    // Closes every connection with `unavailable` and commits everything.
    system.shutdown().await;
    Ok(())
}
