//! [`ServerConfig`]: every limit and timeout of flame's own accept loop, each default named.

use std::time::Duration;

/// Every limit and timeout of the connections `serve()`/`run()` accept, with its default
/// named next to it. Give it to the app with [`Flame::server_config`](crate::Flame::server_config).
///
/// None of them can be switched off: each is a number, and a zero is raised to the smallest
/// value that still lets a request through (see [`ServerConfig::bounded`]). The defaults,
/// compared with hyper's and nginx's, are in the book's "Serving in production" page.
///
/// ```
/// use std::time::Duration;
/// use flame_core::server::ServerConfig;
///
/// let config = ServerConfig {
///     header_read_timeout: Duration::from_secs(10),
///     max_connections: 2_000,
///     ..ServerConfig::default()
/// };
/// assert_eq!(config.body_read_timeout, ServerConfig::DEFAULT_BODY_READ_TIMEOUT);
/// assert_eq!(config.http2_max_concurrent_streams, 128);
///
/// let mut f = flame_core::Flame::new();
/// f.server_config(config);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// How long a client has to send a request's headers, from the moment the server waits
    /// for them (the connection is accepted, or the previous response went out). A client
    /// that has not finished them by then is disconnected without an answer, as with
    /// hyper's `header_read_timeout` (whose semantics flame keeps, at a lower cost per
    /// request). On HTTP/1 this also bounds a keep-alive connection's silence between two
    /// requests. Default:
    /// [`DEFAULT_HEADER_READ_TIMEOUT`](Self::DEFAULT_HEADER_READ_TIMEOUT).
    pub header_read_timeout: Duration,
    /// How long the request body may stall: the longest wait for the next piece of the body
    /// while a handler reads it (nginx's `client_body_timeout`: the time between two reads,
    /// not for the whole body). A stalled body fails the read with
    /// [`BodyReadTimeout`](crate::server::BodyReadTimeout), which
    /// [`Request::body_bytes`](crate::Request::body_bytes) and the binders answer with
    /// `408 Request Timeout`; the connection is then closed, since the rest of the body was
    /// never read. Default: [`DEFAULT_BODY_READ_TIMEOUT`](Self::DEFAULT_BODY_READ_TIMEOUT).
    pub body_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight before the server
    /// closes it gracefully (an HTTP/2 connection gets a GOAWAY). On HTTP/1 an idle
    /// connection is closed after the shorter of this and the
    /// [`header_read_timeout`](Self::header_read_timeout), since the server is waiting for
    /// the next request's headers. A connection that does not finish closing (a client
    /// that does not read the last response) is dropped one more idle timeout later.
    /// Default: [`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT).
    pub idle_timeout: Duration,
    /// How long a write may wait for the client to read: a client that reads nothing of a
    /// response (or of a WebSocket's messages) for this long has its connection closed, so
    /// it cannot hold a place under the cap with a response it never takes (nginx's
    /// `send_timeout`: the time between two successful writes, not for the whole response).
    /// A client that reads slowly but steadily is never cut. Default:
    /// [`DEFAULT_SEND_TIMEOUT`](Self::DEFAULT_SEND_TIMEOUT).
    pub send_timeout: Duration,
    /// The most connections served at once, WebSocket connections included (a WebSocket
    /// counts until it closes). Over the cap, a new connection is accepted, answered
    /// `503 Service Unavailable` with `Retry-After: 1` and `Connection: close`, and closed:
    /// a fast, explicit refusal instead of a hang. The cap is lowered at start to fit the
    /// process's file descriptor limit, leaving room for refusals and the app's own files.
    /// Default: [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS).
    pub max_connections: usize,
    /// Serve HTTP/2 too: cleartext with prior knowledge (h2c); TLS is left to a proxy in
    /// front. Default: true.
    pub http2: bool,
    /// The most streams (requests) one HTTP/2 connection may have open at once; the client
    /// is told in its SETTINGS. Default:
    /// [`DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS`](Self::DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS).
    pub http2_max_concurrent_streams: u32,
    /// The largest header list (names, values and 32 bytes per field, as RFC 9113 counts)
    /// of an HTTP/2 request; a larger one is refused. Default:
    /// [`DEFAULT_HTTP2_MAX_HEADER_LIST_SIZE`](Self::DEFAULT_HTTP2_MAX_HEADER_LIST_SIZE).
    pub http2_max_header_list_size: u32,
    /// How often the server pings an HTTP/2 client to check it is still there. Default:
    /// [`DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL`](Self::DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL).
    pub http2_keep_alive_interval: Duration,
    /// How long a ping may stay unanswered before the HTTP/2 connection is closed. Default:
    /// [`DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT`](Self::DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT).
    pub http2_keep_alive_timeout: Duration,
    /// Raise the process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit at
    /// start, as Go's runtime does since 1.19; both are logged. Linux and other Unix only;
    /// nothing happens elsewhere. Default: true.
    pub raise_file_limit: bool,
}

impl ServerConfig {
    /// The default header read timeout: 30 seconds (hyper's default; nginx's is 60).
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default body read timeout: 30 seconds between two reads (nginx's is 60; hyper
    /// has none).
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default idle timeout: 60 seconds (nginx's `keepalive_timeout` is 75).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default send timeout: 60 seconds between two writes that go through (nginx's
    /// `send_timeout`; hyper has none).
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default connection cap: 10,000 (nginx: 512 per worker by default, 1024 in
    /// Debian's configuration).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
    /// The default number of concurrent streams per HTTP/2 connection: 128 (nginx's;
    /// hyper's is 200).
    pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 128;
    /// The default largest HTTP/2 header list: 16 KiB (hyper's).
    pub const DEFAULT_HTTP2_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;
    /// The default HTTP/2 ping interval: 20 seconds (hyper sends none by default).
    pub const DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
    /// The default HTTP/2 ping timeout: 20 seconds (hyper's).
    pub const DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

    /// The smallest timeout kept: a zero timeout would close every connection at once.
    pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);

    /// The same config with every value inside the range the server can work with: zero
    /// timeouts become [`MIN_TIMEOUT`](Self::MIN_TIMEOUT), a zero connection cap or stream
    /// count becomes 1, and a header list limit under 1 KiB becomes 1 KiB (the pseudo
    /// headers of an ordinary request alone take a few hundred bytes). `serve()` uses this.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_core::server::ServerConfig;
    ///
    /// let config = ServerConfig { max_connections: 0, idle_timeout: Duration::ZERO, ..ServerConfig::default() };
    /// let bounded = config.bounded();
    /// assert_eq!(bounded.max_connections, 1);
    /// assert_eq!(bounded.idle_timeout, ServerConfig::MIN_TIMEOUT);
    /// ```
    #[must_use]
    pub fn bounded(&self) -> Self {
        let timeout = |d: Duration| d.max(Self::MIN_TIMEOUT);
        Self {
            header_read_timeout: timeout(self.header_read_timeout),
            body_read_timeout: timeout(self.body_read_timeout),
            idle_timeout: timeout(self.idle_timeout),
            send_timeout: timeout(self.send_timeout),
            max_connections: self.max_connections.max(1),
            http2: self.http2,
            http2_max_concurrent_streams: self.http2_max_concurrent_streams.max(1),
            http2_max_header_list_size: self.http2_max_header_list_size.max(1024),
            http2_keep_alive_interval: timeout(self.http2_keep_alive_interval),
            http2_keep_alive_timeout: timeout(self.http2_keep_alive_timeout),
            raise_file_limit: self.raise_file_limit,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: Self::DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            http2: true,
            http2_max_concurrent_streams: Self::DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
            http2_max_header_list_size: Self::DEFAULT_HTTP2_MAX_HEADER_LIST_SIZE,
            http2_keep_alive_interval: Self::DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL,
            http2_keep_alive_timeout: Self::DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT,
            raise_file_limit: true,
        }
    }
}
