//! [`WebSocketConfig`]: every limit and timeout of a WebSocket connection, with its default.

use std::time::Duration;

/// The limits and timeouts of a WebSocket connection, shared by every WebSocket endpoint
/// flame serves: the plain endpoints of [`WebSocketExt`](super::WebSocketExt) and the
/// stateful actors' transport (`flame_stateful::transport::TransportConfig::websocket`).
///
/// Every field is public, and every default is a named constant. Set the fields you care
/// about and take the rest from [`Default`]:
///
/// ```
/// use std::time::Duration;
/// use flame_actor::websocket::WebSocketConfig;
///
/// let config = WebSocketConfig {
///     max_message_size: 16 * 1024,
///     ping_interval: Duration::from_secs(5),
///     ..WebSocketConfig::default()
/// };
/// assert_eq!(config.ping_timeout, WebSocketConfig::DEFAULT_PING_TIMEOUT);
/// // a client that never answers is closed (1001, "heartbeat timeout") this long after
/// // the last frame it sent
/// assert_eq!(config.dead_after(), Duration::from_secs(25));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketConfig {
    /// The largest message (and frame) a client may send, in bytes. A bigger one is not read:
    /// the connection is closed with 1009 (message too big).
    /// Default: [`DEFAULT_MAX_MESSAGE_SIZE`](Self::DEFAULT_MAX_MESSAGE_SIZE).
    pub max_message_size: usize,
    /// How long a connection may stay silent (no frame of any kind from the client) before
    /// the server pings it. Default: [`DEFAULT_PING_INTERVAL`](Self::DEFAULT_PING_INTERVAL).
    pub ping_interval: Duration,
    /// How long a ping may stay unanswered (no pong, no other frame) before the client
    /// counts as gone. The connection is then closed with 1001 and the reason
    /// `heartbeat timeout`, so a client that never answers is closed
    /// [`dead_after`](Self::dead_after) its last frame.
    /// Default: [`DEFAULT_PING_TIMEOUT`](Self::DEFAULT_PING_TIMEOUT).
    pub ping_timeout: Duration,
    /// How long the server gives its closing frames to be written, and the client to answer
    /// its close frame, before it drops the TCP connection.
    /// Default: [`DEFAULT_CLOSE_TIMEOUT`](Self::DEFAULT_CLOSE_TIMEOUT).
    pub close_timeout: Duration,
    /// The initial read buffer of each connection, in bytes (it grows for bigger messages).
    /// Default: [`DEFAULT_READ_BUFFER_SIZE`](Self::DEFAULT_READ_BUFFER_SIZE).
    pub read_buffer_size: usize,
    /// How many bytes each connection gathers before it writes to the socket.
    /// Default: [`DEFAULT_WRITE_BUFFER_SIZE`](Self::DEFAULT_WRITE_BUFFER_SIZE).
    pub write_buffer_size: usize,
    /// How many received messages may wait for a plain endpoint's handler. While the queue
    /// is full the server stops reading, so a fast client cannot make it buffer without
    /// bound (and a pause in reading is not counted against the client's heartbeat).
    /// Stateful actors bound their inboxes with `ActorConfig` instead.
    /// Default: [`DEFAULT_INBOUND_QUEUE`](Self::DEFAULT_INBOUND_QUEUE).
    pub inbound_queue: usize,
    /// How many outgoing messages a plain endpoint may queue; senders wait while it is full.
    /// Stateful actors bound their outbound queues (by count and bytes) with `ActorConfig`.
    /// Default: [`DEFAULT_OUTBOUND_QUEUE`](Self::DEFAULT_OUTBOUND_QUEUE).
    pub outbound_queue: usize,
}

impl WebSocketConfig {
    /// The default largest message: 64 KiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;
    /// The default ping interval: 15 seconds of silence.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);
    /// The default ping timeout: 20 seconds.
    pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(20);
    /// The default close timeout: 5 seconds.
    pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default initial read buffer: 4 KiB.
    pub const DEFAULT_READ_BUFFER_SIZE: usize = 4 * 1024;
    /// The default write buffer: 4 KiB.
    pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 4 * 1024;
    /// The default inbound queue: 16 messages.
    pub const DEFAULT_INBOUND_QUEUE: usize = 16;
    /// The default outbound queue: 64 messages.
    pub const DEFAULT_OUTBOUND_QUEUE: usize = 64;

    /// How long after its last frame a client that answers nothing is closed:
    /// `ping_interval + ping_timeout` (35 seconds by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// assert_eq!(WebSocketConfig::default().dead_after(), Duration::from_secs(35));
    /// ```
    pub fn dead_after(&self) -> Duration {
        self.ping_interval.saturating_add(self.ping_timeout)
    }
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: Self::DEFAULT_PING_INTERVAL,
            ping_timeout: Self::DEFAULT_PING_TIMEOUT,
            close_timeout: Self::DEFAULT_CLOSE_TIMEOUT,
            read_buffer_size: Self::DEFAULT_READ_BUFFER_SIZE,
            write_buffer_size: Self::DEFAULT_WRITE_BUFFER_SIZE,
            inbound_queue: Self::DEFAULT_INBOUND_QUEUE,
            outbound_queue: Self::DEFAULT_OUTBOUND_QUEUE,
        }
    }
}
