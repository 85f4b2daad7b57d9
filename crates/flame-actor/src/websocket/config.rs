//! [`WebSocketConfig`]: every limit and timeout of a WebSocket endpoint, with its default.

use std::time::Duration;

/// The largest message a client may send by default: 64 KiB. A bigger one closes the
/// connection with code 1009 (message too big).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// How often the server pings a quiet connection by default: every 20 seconds.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(20);

/// How long a ping may stay unanswered by default before the peer counts as dead: 10 seconds.
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many received messages wait for the handler by default: 16. While the queue is full
/// the server stops reading, so a fast client cannot make it buffer without bound.
pub const DEFAULT_INBOUND_QUEUE: usize = 16;

/// How many outgoing messages may be queued by default: 64. Senders wait while it is full.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 64;

/// How long the server waits for the peer to answer its close frame by default: 5 seconds.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The limits and timeouts of a WebSocket endpoint. Every default is a named constant.
///
/// ```
/// use std::time::Duration;
/// use flame_actor::websocket::{WebSocketConfig, DEFAULT_MAX_MESSAGE_SIZE};
///
/// let config = WebSocketConfig::default()
///     .max_message_size(16 * 1024)
///     .heartbeat(Duration::from_secs(5), Duration::from_secs(2));
/// assert_eq!(config.get_max_message_size(), 16 * 1024);
/// assert_eq!(WebSocketConfig::default().get_max_message_size(), DEFAULT_MAX_MESSAGE_SIZE);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketConfig {
    max_message_size: usize,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    inbound_queue: usize,
    outbound_queue: usize,
    close_timeout: Duration,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            inbound_queue: DEFAULT_INBOUND_QUEUE,
            outbound_queue: DEFAULT_OUTBOUND_QUEUE,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        }
    }
}

impl WebSocketConfig {
    /// Sets the largest message (and frame) a client may send, in bytes
    /// ([`DEFAULT_MAX_MESSAGE_SIZE`] unless set).
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// assert_eq!(WebSocketConfig::default().max_message_size(1024).get_max_message_size(), 1024);
    /// ```
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes.max(1);
        self
    }

    /// Sets how often a ping goes out and how long it may stay unanswered
    /// ([`DEFAULT_HEARTBEAT_INTERVAL`], [`DEFAULT_HEARTBEAT_TIMEOUT`] unless set).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// let config = WebSocketConfig::default().heartbeat(Duration::from_millis(100), Duration::from_millis(50));
    /// assert_eq!(config.get_heartbeat_interval(), Duration::from_millis(100));
    /// assert_eq!(config.get_heartbeat_timeout(), Duration::from_millis(50));
    /// ```
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval.max(Duration::from_millis(1));
        self.heartbeat_timeout = timeout;
        self
    }

    /// Sets how many received messages may wait for the handler ([`DEFAULT_INBOUND_QUEUE`]).
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// assert_eq!(WebSocketConfig::default().inbound_queue(4).get_inbound_queue(), 4);
    /// ```
    #[must_use]
    pub fn inbound_queue(mut self, messages: usize) -> Self {
        self.inbound_queue = messages.max(1);
        self
    }

    /// Sets how many outgoing messages may be queued ([`DEFAULT_OUTBOUND_QUEUE`]).
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// assert_eq!(WebSocketConfig::default().outbound_queue(8).get_outbound_queue(), 8);
    /// ```
    #[must_use]
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        self.outbound_queue = messages.max(1);
        self
    }

    /// Sets how long to wait for the peer's answer to a close frame ([`DEFAULT_CLOSE_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// let config = WebSocketConfig::default().close_timeout(Duration::from_secs(1));
    /// assert_eq!(config.get_close_timeout(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The largest message a client may send, in bytes.
    ///
    /// ```
    /// use flame_actor::websocket::WebSocketConfig;
    ///
    /// assert_eq!(WebSocketConfig::default().get_max_message_size(), 64 * 1024);
    /// ```
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// How often a ping goes out.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConfig, DEFAULT_HEARTBEAT_INTERVAL};
    ///
    /// assert_eq!(WebSocketConfig::default().get_heartbeat_interval(), DEFAULT_HEARTBEAT_INTERVAL);
    /// ```
    pub fn get_heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// How long a ping may stay unanswered before the peer counts as dead.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConfig, DEFAULT_HEARTBEAT_TIMEOUT};
    ///
    /// assert_eq!(WebSocketConfig::default().get_heartbeat_timeout(), DEFAULT_HEARTBEAT_TIMEOUT);
    /// ```
    pub fn get_heartbeat_timeout(&self) -> Duration {
        self.heartbeat_timeout
    }

    /// How many received messages may wait for the handler.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConfig, DEFAULT_INBOUND_QUEUE};
    ///
    /// assert_eq!(WebSocketConfig::default().get_inbound_queue(), DEFAULT_INBOUND_QUEUE);
    /// ```
    pub fn get_inbound_queue(&self) -> usize {
        self.inbound_queue
    }

    /// How many outgoing messages may be queued.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConfig, DEFAULT_OUTBOUND_QUEUE};
    ///
    /// assert_eq!(WebSocketConfig::default().get_outbound_queue(), DEFAULT_OUTBOUND_QUEUE);
    /// ```
    pub fn get_outbound_queue(&self) -> usize {
        self.outbound_queue
    }

    /// How long to wait for the peer's answer to a close frame.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConfig, DEFAULT_CLOSE_TIMEOUT};
    ///
    /// assert_eq!(WebSocketConfig::default().get_close_timeout(), DEFAULT_CLOSE_TIMEOUT);
    /// ```
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }
}
