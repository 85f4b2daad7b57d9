//! The network side of stateful actors: an [`ActorSystem`] mounted on a flame app.
//!
//! [`mount`] adds three routes (under [`TransportConfig::prefix`], `/actors` by default):
//!
//! | route | what |
//! |---|---|
//! | `GET /actors/{name}/{key}?params=<json>` | a WebSocket connection to the actor (name, key) |
//! | `POST /actors/{name}/{key}/rpc/{method}` | a stateless call: JSON array of arguments in, JSON result out |
//! | `GET /actors/client.js` | the JavaScript client, an ES module (`application/javascript`) |
//! | `GET /actors/client.d.ts` | its TypeScript declarations (`application/typescript`) |
//! | `POST /actors/_cluster/call` | cluster mode only: calls forwarded by the other nodes (cluster secret required) |
//! | `GET /actors/_cluster/connect` | cluster mode only: WebSocket connections relayed by the other nodes (cluster secret required) |
//!
//! **Connecting.** The connection parameters travel as JSON text in the `params` query
//! parameter (percent-encoded; absent means `null`), at most `ActorConfig::max_params_size`
//! (4 KiB) long. The server upgrades first and then runs `on_before_connect`, so a refusal
//! reaches every client, browsers included, as a `close` message with its code
//! (`unauthorized`, `params_too_long`, `invalid_params`, ...) followed by a close frame whose
//! reason is that code. An accepted connection gets `init` first. flame's request logger
//! records the path only, so tokens in `params` stay out of the logs.
//!
//! **Identity.** A connection acts as a [`WebSocketActor`](flame_actor::WebSocketActor) (a random
//! id, the peer address, when it connected, metadata `actor = name/key`), rewritten by the
//! upgrade request's [`WebSocketIdentity`](flame_actor::WebSocketIdentity) when a middleware
//! mapped one (flame-auth attaches the authenticated user that way). An HTTP call acts as the
//! request's actor ([`ActorContext::actor`](flame_actor::ActorContext::actor)).
//!
//! **Heartbeats.** flame's one WebSocket heartbeat
//! ([`Heartbeat`](flame_actor::websocket::Heartbeat), configured by
//! [`TransportConfig::websocket`]): a connection silent for `ping_interval` is pinged; a
//! ping unanswered for `ping_timeout` closes it (`close`/`connection_closed`, close frame
//! 1001) and `on_disconnect` runs, exactly once.
//!
//! **Limits.** A message over `ActorConfig::max_message_size` (64 KiB) is answered with
//! `message_too_long` and the connection stays; a frame over
//! `TransportConfig::websocket.max_message_size` (256 KiB) closes it (1009). Text that is
//! not a protocol message
//! gets `malformed_message`; binary frames too.
//!
//! **Closing.** Whenever the server ends a connection it sends a `close` message and a close
//! frame: `actor_destroyed` (1000) when the actor is destroyed, `unavailable` (1001) when
//! the actor system shuts down; see [`close_code`] and [`is_transient`].
//!
//! ```no_run
//! use flame_stateful::ActorSystem;
//! use flame_stateful::transport::{self, TransportConfig};
//! use flame_core::Flame;
//!
//! # async fn run() -> anyhow::Result<()> {
//! let system = ActorSystem::builder().build().await?; // register kinds here
//! let mut f = Flame::classic();
//! transport::mount(&mut f, system.clone(), TransportConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2830").await?;
//! f.serve(listener).await?;
//! system.shutdown().await; // closes every connection with `unavailable`
//! # Ok(()) }
//! ```

mod cluster;
mod config;
pub(crate) mod fan_out;
mod http;
mod relay;
mod socket;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flame_core::{Context, Flame, Reply};

use crate::ActorSystem;
use crate::protocol::{ErrorCode, WireError};

pub use self::config::TransportConfig;
pub use flame_protocol::{close_code, is_transient};

/// The JavaScript client, as served at `{prefix}/client.js`.
///
/// ```
/// assert!(flame_stateful::transport::CLIENT_JS.contains("export function connect"));
/// ```
pub const CLIENT_JS: &str = include_str!("../../assets/flame-actors.js");

/// The TypeScript declarations of the JavaScript client, as served at `{prefix}/client.d.ts`:
/// `connect<A>(...)` types `call` and `on` by an actor's declarations (see the
/// `typescript` feature).
///
/// ```
/// let dts = flame_stateful::transport::CLIENT_DTS;
/// assert!(dts.contains("export function connect<A extends ActorSchema = UntypedActor>("));
/// ```
pub const CLIENT_DTS: &str = include_str!("../../assets/flame-actors.d.ts");

/// What every route of one mount shares.
pub(crate) struct State {
    pub(crate) system: ActorSystem,
    pub(crate) config: TransportConfig,
    pub(crate) open: Arc<AtomicUsize>,
}

/// A handle on a mounted transport, to see how many WebSocket connections are open.
///
/// ```
/// use flame_stateful::ActorSystem;
/// use flame_stateful::store::MemoryStore;
/// use flame_stateful::transport::{self, TransportConfig};
/// use flame_core::Flame;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder().store(MemoryStore::new()).build().await?;
/// let mut f = Flame::new();
/// let transport = transport::mount(&mut f, system, TransportConfig::default());
/// assert_eq!(transport.open_connections(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct TransportHandle {
    state: Arc<State>,
}

impl std::fmt::Debug for TransportHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportHandle")
            .field("config", &self.state.config)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

impl TransportHandle {
    /// The WebSocket connections open right now (upgraded and not yet finished).
    pub fn open_connections(&self) -> usize {
        self.state.open.load(Ordering::Relaxed)
    }

    /// The settings in force.
    pub fn config(&self) -> &TransportConfig {
        &self.state.config
    }

    /// The actor system behind it.
    pub fn system(&self) -> &ActorSystem {
        &self.state.system
    }
}

/// Mounts `system` on `f`: the WebSocket endpoint, the HTTP RPC and the JavaScript client
/// (see the [module docs](self) for the routes), and maps the [`ActorSystem`] into the app,
/// so that a handler takes it as an argument (`|system: ActorSystem| ...`) and calls actors
/// through their typed handles (`Counter::handle(&system, key).increment(1).await?`).
///
/// ```
/// use flame_stateful::ActorSystem;
/// use flame_stateful::store::MemoryStore;
/// use flame_stateful::transport::{self, TransportConfig};
/// use flame_core::Flame;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let system = ActorSystem::builder().store(MemoryStore::new()).build().await?;
/// let mut f = Flame::new();
/// let config = TransportConfig { prefix: "/rt".into(), ..TransportConfig::default() };
/// let transport = transport::mount(&mut f, system, config);
/// assert_eq!(transport.config().client_path(), "/rt/client.js");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub fn mount(f: &mut Flame, system: ActorSystem, config: TransportConfig) -> TransportHandle {
    let prefix = config.prefix.trim_end_matches('/').to_owned();
    // Handlers of the app take the system as an argument (to call actors through their
    // typed handles), and the startup check knows it is provided.
    f.map(system.clone());
    let state = Arc::new(State {
        system,
        config,
        open: Arc::new(AtomicUsize::new(0)),
    });
    if state.config.serve_client {
        f.get(&format!("{prefix}/client.js"), || {
            Reply::with_content_type(
                CLIENT_JS,
                ::http::HeaderValue::from_static("application/javascript; charset=utf-8"),
            )
        });
        f.get(&format!("{prefix}/client.d.ts"), || {
            Reply::with_content_type(
                CLIENT_DTS,
                ::http::HeaderValue::from_static("application/typescript; charset=utf-8"),
            )
        });
    }
    let ws_state = state.clone();
    f.get(&format!("{prefix}/{{name}}/{{key}}"), move |c: Context| {
        ws::upgrade(c, ws_state.clone())
    });
    if state.config.http_rpc {
        let rpc_state = state.clone();
        f.post(
            &format!("{prefix}/{{name}}/{{key}}/rpc/{{method}}"),
            move |c: Context| http::rpc(c, rpc_state.clone()),
        );
    }
    if state.system.cluster_secret().is_some() {
        let cluster_state = state.clone();
        f.post(
            &format!("{prefix}{}", crate::forward::CALL_PATH),
            move |c: Context| cluster::call(c, cluster_state.clone()),
        );
        let connect_state = state.clone();
        f.get(
            &format!("{prefix}{}", crate::forward::CONNECT_PATH),
            move |c: Context| cluster::connect(c, connect_state.clone()),
        );
    }
    // Every other path under the prefix: the protocol's JSON error shape rather than the
    // router's plain-text 404, so that a client of the protocol reads every answer the same
    // way. Static and placeholder routes win over a glob, so this shadows none of the above.
    let fallback_state = state.clone();
    f.any(&format!("{prefix}/{{rest: **}}"), move |c: Context| {
        let rest = c.param("rest").to_owned();
        let name = rest.split('/').next().unwrap_or_default();
        let error = if fallback_state.system.kinds().any(|kind| kind == name) {
            WireError::new(
                ErrorCode::MalformedMessage,
                format!(
                    "not a route of the actor protocol: `GET {prefix}/{{name}}/{{key}}` \
                     (WebSocket) or `POST {prefix}/{{name}}/{{key}}/rpc/{{method}}`"
                ),
            )
        } else {
            ws::not_registered(name)
        };
        http::error_reply(&error)
    });
    TransportHandle { state }
}

/// The HTTP status of an error code, for the stateless HTTP RPC (the table is
/// [`flame_protocol::http_status`]'s).
///
/// ```
/// use flame_stateful::transport::http_status;
///
/// assert_eq!(http_status("action_not_found"), http::StatusCode::NOT_FOUND);
/// assert_eq!(http_status("counter.too_big"), http::StatusCode::BAD_REQUEST);
/// ```
pub fn http_status(code: &str) -> ::http::StatusCode {
    ::http::StatusCode::from_u16(flame_protocol::http_status(code))
        .unwrap_or(::http::StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use flame_protocol::{ErrorCode, is_transient};

    /// The JavaScript client decides whether to reconnect from its own list of transient
    /// codes; it must be the protocol's list, code for code.
    #[test]
    fn the_javascript_clients_transient_codes_are_the_protocols() {
        let line = super::CLIENT_JS
            .lines()
            .find(|line| line.starts_with("const TRANSIENT = new Set(["))
            .expect("the client declares its transient codes");
        let list = line
            .trim_start_matches("const TRANSIENT = new Set([")
            .trim_end_matches("]);");
        let mut in_js: Vec<&str> = list
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        in_js.sort_unstable();
        let mut in_protocol: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| is_transient(c))
            .collect();
        in_protocol.sort_unstable();
        assert_eq!(in_js, in_protocol);
    }
}
