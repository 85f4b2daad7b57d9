//! [`TransportConfig`]: every setting of the WebSocket and HTTP transport, with its default.

use flame_actor::websocket::WebSocketConfig;

/// Every setting of the transport, each with its default named here.
///
/// The protocol limits (the longest message an action may get, the longest connection
/// params, the RPC timeout) are the actor system's, in [`ActorConfig`](crate::ActorConfig);
/// the WebSocket limits and heartbeat are flame's one [`WebSocketConfig`], shared with the
/// plain WebSocket endpoints of `flame_actor::websocket`.
///
/// ```
/// use std::time::Duration;
/// use flame_actor::websocket::WebSocketConfig;
/// use flame_stateful::transport::TransportConfig;
///
/// let config = TransportConfig {
///     websocket: WebSocketConfig {
///         ping_interval: Duration::from_secs(5),
///         ..TransportConfig::default().websocket
///     },
///     ..TransportConfig::default()
/// };
/// assert_eq!(config.prefix, "/actors");
/// assert_eq!(config.websocket.max_message_size, TransportConfig::DEFAULT_MAX_MESSAGE_SIZE);
/// assert_eq!(config.websocket.ping_timeout, WebSocketConfig::DEFAULT_PING_TIMEOUT);
/// ```
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Where the routes live: `{prefix}/{name}/{key}` (WebSocket),
    /// `{prefix}/{name}/{key}/rpc/{method}` (HTTP RPC), `{prefix}/client.js`.
    /// Default: `/actors`.
    pub prefix: String,
    /// The WebSocket limits, heartbeat and close timeout of every connection.
    ///
    /// `max_message_size` is the longest frame or message the server reads at all: messages
    /// between the actor system's `ActorConfig::max_message_size` and this are answered
    /// with `message_too_long` and the connection stays; longer ones close it (1009).
    /// Default: [`WebSocketConfig::default`] with `max_message_size`
    /// [`DEFAULT_MAX_MESSAGE_SIZE`](Self::DEFAULT_MAX_MESSAGE_SIZE). `inbound_queue` and
    /// `outbound_queue` are not used here: an actor's inbox and each connection's
    /// outbound bytes are bounded by `ActorConfig`.
    pub websocket: WebSocketConfig,
    /// Serve `POST {prefix}/{name}/{key}/rpc/{method}`. Default: true.
    pub http_rpc: bool,
    /// Serve the JavaScript client at `{prefix}/client.js` and its TypeScript declarations
    /// at `{prefix}/client.d.ts`. Default: true.
    pub serve_client: bool,
}

impl TransportConfig {
    /// The default route prefix.
    pub const DEFAULT_PREFIX: &'static str = "/actors";
    /// The default hard limit on a WebSocket message: 256 KiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 256 * 1024;

    /// The path of the JavaScript client: `{prefix}/client.js`.
    ///
    /// ```
    /// use flame_stateful::transport::TransportConfig;
    /// assert_eq!(TransportConfig::default().client_path(), "/actors/client.js");
    /// ```
    pub fn client_path(&self) -> String {
        format!("{}/client.js", self.prefix)
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            websocket: WebSocketConfig {
                max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
                ..WebSocketConfig::default()
            },
            http_rpc: true,
            serve_client: true,
        }
    }
}
