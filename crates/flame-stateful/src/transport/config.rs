//! [`TransportConfig`]: every setting of the WebSocket and HTTP transport, with its default.

use std::time::Duration;

/// Every setting of the transport, each with its default named here.
///
/// The protocol limits (the longest message, the longest connection params, the RPC timeout)
/// are the actor system's, in [`ActorConfig`](crate::ActorConfig); this struct holds
/// what only the network needs.
///
/// ```
/// use std::time::Duration;
/// use flame_stateful::transport::TransportConfig;
///
/// let config = TransportConfig {
///     ping_interval: Duration::from_secs(5),
///     ..TransportConfig::default()
/// };
/// assert_eq!(config.prefix, "/actors");
/// assert_eq!(config.ping_timeout, TransportConfig::DEFAULT_PING_TIMEOUT);
/// ```
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Where the routes live: `{prefix}/{name}/{key}` (WebSocket),
    /// `{prefix}/{name}/{key}/rpc/{method}` (HTTP RPC), `{prefix}/client.js`.
    /// Default: `/actors`.
    pub prefix: String,
    /// How often the server pings each connection. Default: 15 s.
    pub ping_interval: Duration,
    /// How long after `ping_interval` a connection may stay silent (no pong, no message)
    /// before it counts as dead and is closed; also the longest a write to a client may
    /// take. Default: 20 s.
    pub ping_timeout: Duration,
    /// The longest WebSocket frame or message the server reads at all. Messages between the
    /// actor system's `max_message_size` and this are answered with `message_too_long` and
    /// the connection stays; longer ones close it (close code 1009). Default: 256 KiB.
    pub max_frame_size: usize,
    /// The initial read buffer of each connection (it grows for bigger messages).
    /// Default: 4 KiB.
    pub read_buffer_size: usize,
    /// How much each connection buffers before writing to the socket. Default: 4 KiB.
    pub write_buffer_size: usize,
    /// Serve `POST {prefix}/{name}/{key}/rpc/{method}`. Default: true.
    pub http_rpc: bool,
    /// Serve the JavaScript client at `{prefix}/client.js`. Default: true.
    pub serve_client: bool,
}

impl TransportConfig {
    /// The default route prefix.
    pub const DEFAULT_PREFIX: &'static str = "/actors";
    /// The default ping interval.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);
    /// The default ping timeout.
    pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(20);
    /// The default hard frame limit.
    pub const DEFAULT_MAX_FRAME_SIZE: usize = 256 * 1024;
    /// The default initial read buffer.
    pub const DEFAULT_READ_BUFFER_SIZE: usize = 4 * 1024;
    /// The default write buffer.
    pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 4 * 1024;

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
            ping_interval: Self::DEFAULT_PING_INTERVAL,
            ping_timeout: Self::DEFAULT_PING_TIMEOUT,
            max_frame_size: Self::DEFAULT_MAX_FRAME_SIZE,
            read_buffer_size: Self::DEFAULT_READ_BUFFER_SIZE,
            write_buffer_size: Self::DEFAULT_WRITE_BUFFER_SIZE,
            http_rpc: true,
            serve_client: true,
        }
    }
}
