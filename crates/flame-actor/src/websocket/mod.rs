//! WebSocket endpoints for plain flame apps: `f.websocket("/ws", handler)`.
//!
//! The handler gets a [`WebSocketConnection`]: it receives text or JSON messages, sends text
//! or JSON, and knows the connection's [`WebSocketActor`]. The connection answers pings,
//! pings a quiet peer and ends when it stops answering (heartbeats), and closes with 1009 a
//! message over the size limit; every limit is in [`WebSocketConfig`] with a named default.
//!
//! Identity: the connection's actor gets a random connection id, the peer address and the
//! time it connected; a [`WebSocketIdentity`] mapped into the upgrade request (flame-auth's
//! `authenticate` middleware maps one) then rewrites it, e.g. to attach the signed-in user.
//! While the handler runs, [`current_actor`](crate::current_actor) is the connection's actor,
//! so services called from it know who is acting without being handed anything.
//!
//! ```
//! use flame_actor::websocket::{WebSocketConnection, WebSocketError, WebSocketExt};
//! use flame_actor::{current_actor, Actor};
//! use flame_core::Flame;
//!
//! #[derive(serde::Deserialize)]
//! struct Say { text: String }
//!
//! let mut f = Flame::new();
//! f.websocket("/chat", |mut conn: WebSocketConnection| async move {
//!     while let Some(message) = conn.recv_json::<Say>().await {
//!         match message {
//!             Ok(say) => {
//!                 let who = current_actor().actor_id().unwrap_or_default(); // this connection
//!                 conn.send_json(&serde_json::json!({ "from": who, "text": say.text })).await?;
//!             }
//!             Err(err) => conn.send_json(&serde_json::json!({ "error": err.code() })).await?,
//!         }
//!     }
//!     Ok::<_, WebSocketError>(())
//! });
//! ```
//!
//! [`WebSocketActor`]: crate::WebSocketActor
//! [`WebSocketIdentity`]: crate::WebSocketIdentity

mod config;
mod connection;
mod failure;
mod heartbeat;
mod io;

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use flame_core::{BoxedHandler, Context, Flame, HttpError, Reply, RouteRef};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::Instrument as _;

pub use config::WebSocketConfig;
pub use connection::{
    CloseReason, WebSocketConnection, WebSocketError, WebSocketMessage, WebSocketSender,
};
pub use failure::ReadFailure;
pub use heartbeat::{Heartbeat, HeartbeatStep};

use crate::identity::{
    Actor, WebSocketActor, WebSocketActorBuilder, WebSocketIdentity, with_actor,
};
use connection::{Outbound, Shared};

/// What a WebSocket handler may return: `()`, or a `Result<(), E>` whose error is logged.
///
/// ```
/// use flame_actor::websocket::WebSocketOutcome;
///
/// ().finish();
/// Err::<(), _>("the client went away").finish(); // logged at debug level
/// ```
pub trait WebSocketOutcome: Send + 'static {
    /// Reports how the handler ended.
    fn finish(self);
}

impl WebSocketOutcome for () {
    fn finish(self) {}
}

impl<E: Display + Send + 'static> WebSocketOutcome for Result<(), E> {
    fn finish(self) {
        if let Err(err) = self {
            tracing::debug!(error = %err, "WebSocket handler ended with an error");
        }
    }
}

/// `websocket` routes on a [`Flame`].
pub trait WebSocketExt {
    /// Serves WebSocket connections on `GET pattern` with the default [`WebSocketConfig`];
    /// `handler` runs once per connection.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
    /// use flame_core::Flame;
    ///
    /// let mut f = Flame::new();
    /// f.websocket("/ws", |mut conn: WebSocketConnection| async move {
    ///     let who = conn.actor().connection_id().to_owned();
    ///     let _ = conn.send_text(format!("hello, {who}")).await;
    ///     while conn.recv().await.is_some() {}
    /// });
    /// ```
    fn websocket<H, Fut>(&mut self, pattern: &str, handler: H) -> RouteRef<'_>
    where
        H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: WebSocketOutcome;

    /// Serves WebSocket connections on `GET pattern` with `config`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_actor::websocket::{WebSocketConfig, WebSocketConnection, WebSocketExt};
    /// use flame_core::Flame;
    ///
    /// let mut f = Flame::new();
    /// let config = WebSocketConfig {
    ///     max_message_size: 4096,
    ///     ping_interval: Duration::from_secs(5),
    ///     ping_timeout: Duration::from_secs(3),
    ///     ..WebSocketConfig::default()
    /// };
    /// f.websocket_with("/small", config, |mut conn: WebSocketConnection| async move {
    ///     while conn.recv().await.is_some() {}
    /// });
    /// ```
    fn websocket_with<H, Fut>(
        &mut self,
        pattern: &str,
        config: WebSocketConfig,
        handler: H,
    ) -> RouteRef<'_>
    where
        H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: WebSocketOutcome;
}

impl WebSocketExt for Flame {
    fn websocket<H, Fut>(&mut self, pattern: &str, handler: H) -> RouteRef<'_>
    where
        H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: WebSocketOutcome,
    {
        self.websocket_with(pattern, WebSocketConfig::default(), handler)
    }

    fn websocket_with<H, Fut>(
        &mut self,
        pattern: &str,
        config: WebSocketConfig,
        handler: H,
    ) -> RouteRef<'_>
    where
        H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: WebSocketOutcome,
    {
        self.get(pattern, websocket_handler(config, handler))
    }
}

/// The handler behind [`WebSocketExt::websocket`], to put after middleware in a chain of
/// your own: `f.get("/ws", (auth, websocket_handler(config, handler)))`.
///
/// A request that is not a WebSocket handshake gets a clear 4xx (400, 405, 426).
///
/// ```
/// use flame_actor::websocket::{websocket_handler, WebSocketConfig, WebSocketConnection};
/// use flame_core::{Context, Flame};
///
/// let mut f = Flame::new();
/// let only_with_header = |c: Context| {
///     (!c.headers().contains_key("x-client")).then_some((400, "x-client is required"))
/// };
/// f.get("/ws", (only_with_header, websocket_handler(WebSocketConfig::default(), |mut conn: WebSocketConnection| async move {
///     while conn.recv().await.is_some() {}
/// })));
/// ```
pub fn websocket_handler<H, Fut>(config: WebSocketConfig, handler: H) -> BoxedHandler
where
    H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: WebSocketOutcome,
{
    let config = Arc::new(config);
    let handler = Arc::new(handler);
    BoxedHandler::new(move |c: Context| {
        let config = config.clone();
        let handler = handler.clone();
        async move { upgrade(c, config, handler).await }
    })
}

/// Checks the handshake, builds the connection's actor, and answers 101.
async fn upgrade<H, Fut>(
    c: Context,
    config: Arc<WebSocketConfig>,
    handler: Arc<H>,
) -> Result<Reply, HttpError>
where
    H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: WebSocketOutcome,
{
    let upgrade = c.websocket_upgrade().await?;
    let actor = connection_actor(&c, |builder| builder);
    let span = tracing::info_span!(
        "websocket",
        path = %c.uri().path(),
        connection.id = actor.connection_id(),
        actor.r#type = WebSocketActor::TYPE,
    );
    let size = config.max_message_size;
    let response = upgrade
        .max_message_size(size)
        .max_frame_size(size)
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .on_failed_upgrade(|err| tracing::debug!(%err, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| {
            async move {
                tracing::debug!("WebSocket connection opened");
                serve(socket, c, actor, config, handler).await;
            }
            .instrument(span)
        });
    Ok(Reply::response(response))
}

/// The actor of a new WebSocket connection, for every endpoint (plain `websocket` routes and
/// stateful actor connections): a random id, the peer, now, what `customize` adds; then the
/// upgrade request's [`WebSocketIdentity`] hook.
///
/// ```
/// use flame_actor::{Actor, websocket::connection_actor};
/// use flame_core::Context;
///
/// fn identity_of(c: &Context) -> String {
///     let actor = connection_actor(c, |builder| builder.metadata("room", "lobby"));
///     assert_eq!(actor.actor_type(), "websocket");
///     actor.connection_id().to_owned()
/// }
/// ```
pub fn connection_actor(
    c: &Context,
    customize: impl FnOnce(WebSocketActorBuilder) -> WebSocketActorBuilder,
) -> WebSocketActor {
    let mut builder = WebSocketActor::builder(new_connection_id());
    if let Some(peer) = c.peer_addr() {
        builder = builder.peer_addr(peer);
    }
    let actor = customize(builder).build();
    match c.get::<WebSocketIdentity>() {
        Some(identity) => identity.apply(actor),
        None => actor,
    }
}

/// A random connection id: 128 bits, hex.
fn new_connection_id() -> String {
    format!("ws-{:032x}", rand::random::<u128>())
}

/// Runs the I/O loop and the handler of one connection side by side.
async fn serve<H, Fut>(
    socket: flame_core::websocket::WebSocket,
    context: Context,
    actor: WebSocketActor,
    config: Arc<WebSocketConfig>,
    handler: Arc<H>,
) where
    H: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: WebSocketOutcome,
{
    let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_queue.max(1));
    let (outbound_tx, outbound_rx) = mpsc::channel::<Outbound>(config.outbound_queue.max(1));
    let shared = Arc::new(Shared {
        actor: Mutex::new(Arc::new(actor)),
        reason: OnceLock::new(),
    });
    let io = io::Io {
        socket,
        config,
        inbound: inbound_tx,
        outbound: outbound_rx,
        shared: shared.clone(),
    };
    let connection = WebSocketConnection {
        shared: shared.clone(),
        inbound: inbound_rx,
        outbound: outbound_tx,
        context,
    };
    let handler = ConnectionScope {
        shared,
        inner: Box::pin(async move { handler(connection).await.finish() }),
    };
    tokio::join!(io.run(), handler);
}

/// Polls the handler with the connection's *current* actor as the task-local actor, so
/// [`current_actor`](crate::current_actor) follows [`WebSocketConnection::set_actor`].
struct ConnectionScope {
    shared: Arc<Shared>,
    inner: BoxFuture<'static, ()>,
}

impl Future for ConnectionScope {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let actor: Arc<dyn Actor> = self.shared.actor.lock().clone();
        let this = &mut *self;
        with_actor(actor, || this.inner.as_mut().poll(cx))
    }
}
