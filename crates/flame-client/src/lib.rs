//! The Rust client of stateful actors, over tokio-tungstenite.
//!
//! [`ActorClient::connect`] opens a WebSocket to one actor (see
//! `flame_stateful::transport` for the server side) and waits for `init`; a refusal comes
//! back as [`ClientError::Rejected`] with its code. Then:
//!
//! - [`ActorClient::call`] calls an action and deserializes its output;
//! - [`ActorClient::on`] subscribes to an event and gives a [`Subscription`] (a `Stream` of
//!   payloads) that unsubscribes when dropped;
//! - when the connection drops for a transient reason (the server restarted, the network
//!   failed, `unavailable`), a background task reconnects with exponential backoff and
//!   jitter, subscribes again to every event that still has a subscription, and sends the
//!   calls made meanwhile. Calls that were in flight when the connection dropped fail with
//!   [`ClientError::Closed`]: they may or may not have run, so they are not retried. A final
//!   close (`actor_destroyed`, `unauthorized`, ...) ends the client.
//!
//! ```no_run
//! use flame_client::ActorClient;
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), flame_client::ClientError> {
//! let counter = ActorClient::connect("ws://127.0.0.1:2830", "counter", "main", json!({"auth_token": "alice-token"})).await?;
//! let mut updates = counter.on("countUpdated");
//! let count: i64 = counter.call("increment", (1,)).await?;
//! let event = updates.recv().await; // Some({"count": ...})
//! # let _ = (count, event); Ok(()) }
//! ```

mod error;
mod task;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use flame_protocol::{ErrorCode, WireError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

pub use self::error::ClientError;
use self::task::Cmd;

/// Every setting of the client, each with its default.
///
/// ```
/// use std::time::Duration;
/// use flame_client::ClientConfig;
///
/// let config = ClientConfig { max_backoff: Duration::from_secs(1), ..ClientConfig::default() };
/// assert_eq!(config.prefix, "/actors");
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's route prefix. Default: `/actors`.
    pub prefix: String,
    /// The first wait before reconnecting; it doubles at each failed attempt. Default: 100 ms.
    pub initial_backoff: Duration,
    /// The longest wait between attempts. Default: 5 s.
    pub max_backoff: Duration,
    /// How many reconnect attempts in a row before giving up (`None`: never). Default: `None`.
    pub max_attempts: Option<u32>,
    /// How long a call waits for its answer, reconnects included. Default: 30 s.
    pub rpc_timeout: Duration,
    /// How long one connection attempt (handshake and `init`) may take. Default: 10 s.
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            prefix: String::from("/actors"),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_attempts: None,
            rpc_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Where the client stands, from [`ActorClient::status`].
///
/// ```
/// use flame_client::ClientStatus;
/// let status = ClientStatus::Connected { conn_id: 3, connects: 1 };
/// assert!(status.is_connected());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStatus {
    /// Connected; `connects` counts the successful connections so far (1 for the first).
    Connected {
        /// The server's id for this connection (from `init`).
        conn_id: u64,
        /// How many times the client has connected, the first time included.
        connects: u64,
    },
    /// The connection dropped; the client is trying again.
    Reconnecting {
        /// Attempts made since the connection dropped.
        attempt: u32,
    },
    /// Closed for good, and why.
    Closed(ClientError),
}

impl ClientStatus {
    /// Whether the client is connected.
    pub fn is_connected(&self) -> bool {
        matches!(self, ClientStatus::Connected { .. })
    }
}

/// A connection to one actor, which reconnects by itself. Cheap to clone; the connection
/// closes when the last clone is dropped (or on [`close`](ActorClient::close)).
///
/// See the [module docs](self) for an example.
#[derive(Debug, Clone)]
pub struct ActorClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cmd: mpsc::UnboundedSender<Cmd>,
    status: watch::Receiver<ClientStatus>,
    config: ClientConfig,
    next_sub: AtomicU64,
}

/// Refuses, as the server would with `params_too_long`, a URL whose request target (path
/// and query) is longer than the server can read at all
/// ([`MAX_REQUEST_TARGET`](flame_protocol::MAX_REQUEST_TARGET)): the server would answer it
/// with a bare 414 before the handshake.
fn check_request_target(url: &str) -> Result<(), ClientError> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let target = url[after_scheme..]
        .find('/')
        .map_or(0, |i| url.len() - after_scheme - i);
    if target > flame_protocol::MAX_REQUEST_TARGET {
        return Err(ClientError::Rejected(WireError::new(
            ErrorCode::ParamsTooLong,
            format!(
                "the connection URL's path and params take {target} bytes; a flame server \
                 reads at most {}",
                flame_protocol::MAX_REQUEST_TARGET
            ),
        )));
    }
    Ok(())
}

/// The WebSocket URL of (name, key) on the server at `base` (`ws://`, `wss://`, `http://` or
/// `https://`, with or without a trailing slash), with `params` as JSON.
///
/// ```
/// use flame_client::actor_url;
///
/// let url = actor_url("http://127.0.0.1:2830/", "/actors", "counter", "a b", &serde_json::json!({"t": 1}));
/// assert_eq!(url, "ws://127.0.0.1:2830/actors/counter/a%20b?params=%7B%22t%22%3A1%7D");
/// ```
pub fn actor_url(base: &str, prefix: &str, name: &str, key: &str, params: &Value) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        base.to_owned()
    };
    let mut url = format!(
        "{base}{}/{}/{}",
        prefix.trim_end_matches('/'),
        utf8_percent_encode(name, NON_ALPHANUMERIC),
        utf8_percent_encode(key, NON_ALPHANUMERIC)
    );
    if !params.is_null() {
        url.push_str("?params=");
        url.extend(utf8_percent_encode(&params.to_string(), NON_ALPHANUMERIC));
    }
    url
}

impl ActorClient {
    /// Connects to (name, key) on the server at `url` (for example `ws://127.0.0.1:2830`)
    /// with `params` (anything that serializes to JSON; `()` for none), with the default
    /// [`ClientConfig`].
    ///
    /// # Errors
    ///
    /// [`ClientError::Rejected`] with the server's code (`unauthorized`, `params_too_long`,
    /// `actor_not_found`, ...), [`ClientError::Connect`] when the server cannot be reached.
    pub async fn connect(
        url: &str,
        name: &str,
        key: &str,
        params: impl Serialize,
    ) -> Result<ActorClient, ClientError> {
        Self::connect_with(url, name, key, params, ClientConfig::default()).await
    }

    /// [`connect`](ActorClient::connect) with a config.
    ///
    /// # Errors
    ///
    /// As [`connect`](ActorClient::connect).
    pub async fn connect_with(
        url: &str,
        name: &str,
        key: &str,
        params: impl Serialize,
        config: ClientConfig,
    ) -> Result<ActorClient, ClientError> {
        let params =
            serde_json::to_value(params).map_err(|e| ClientError::Convert(e.to_string()))?;
        let url = actor_url(url, &config.prefix, name, key, &params);
        check_request_target(&url)?;
        let (socket, conn_id) = task::open(&url, config.connect_timeout).await?;
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(ClientStatus::Connected {
            conn_id,
            connects: 1,
        });
        tokio::spawn(task::run(
            task::Task::new(url, config.clone(), status_tx),
            socket,
            cmd_rx,
        ));
        Ok(ActorClient {
            inner: Arc::new(Inner {
                cmd,
                status,
                config,
                next_sub: AtomicU64::new(1),
            }),
        })
    }

    /// Calls the action `method` with `args` (a tuple, a `Vec`, anything that serializes to a
    /// JSON array; `()` for none) and deserializes its output as `R` (`serde_json::Value` to
    /// take it as it is).
    ///
    /// # Errors
    ///
    /// [`ClientError::Rpc`] with the action's code, [`ClientError::Closed`] when the
    /// connection dropped during the call or is closed, [`ClientError::Timeout`],
    /// [`ClientError::Convert`].
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        args: impl Serialize,
    ) -> Result<R, ClientError> {
        let args = match serde_json::to_value(args) {
            Ok(Value::Array(args)) => args,
            Ok(Value::Null) => Vec::new(),
            Ok(other) => vec![other],
            Err(e) => return Err(ClientError::Convert(e.to_string())),
        };
        let (reply, rx) = oneshot::channel();
        self.inner
            .cmd
            .send(Cmd::Call {
                method: method.to_owned(),
                args,
                reply,
            })
            .map_err(|_| self.closed_error())?;
        let output = match tokio::time::timeout(self.inner.config.rpc_timeout, rx).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => return Err(self.closed_error()),
            Err(_) => return Err(ClientError::Timeout),
        };
        serde_json::from_value(output).map_err(|e| ClientError::Convert(e.to_string()))
    }

    /// Subscribes to `event`: its payloads arrive on the returned [`Subscription`] until it
    /// is dropped. Subscriptions survive reconnects.
    pub fn on(&self, event: &str) -> Subscription {
        let id = self.inner.next_sub.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.inner.cmd.send(Cmd::Subscribe {
            event: event.to_owned(),
            id,
            tx,
        });
        Subscription {
            event: event.to_owned(),
            id,
            rx,
            cmd: self.inner.cmd.downgrade(),
        }
    }

    /// Where the client stands now.
    pub fn status(&self) -> ClientStatus {
        self.inner.status.borrow().clone()
    }

    /// A receiver of status changes, to wait for a reconnect:
    /// `rx.wait_for(|s| matches!(s, ClientStatus::Connected { connects: 2, .. }))`.
    pub fn status_changes(&self) -> watch::Receiver<ClientStatus> {
        self.inner.status.clone()
    }

    /// Closes the connection (a close frame, then the socket) and waits for it; every
    /// clone sees [`ClientStatus::Closed`].
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.inner.cmd.send(Cmd::Close { done }).is_ok() {
            let _ = rx.await;
        }
    }

    fn closed_error(&self) -> ClientError {
        match &*self.inner.status.borrow() {
            ClientStatus::Closed(e) => e.clone(),
            _ => ClientError::closed(),
        }
    }
}

/// The payloads of one event, from [`ActorClient::on`]; a `Stream` too. Dropping it
/// unsubscribes (the server stops sending once no subscription of that event is left).
#[derive(Debug)]
pub struct Subscription {
    event: String,
    id: u64,
    rx: mpsc::UnboundedReceiver<Value>,
    cmd: mpsc::WeakUnboundedSender<Cmd>,
}

impl Subscription {
    /// The event's name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The next payload; `None` once the client is closed for good.
    pub async fn recv(&mut self) -> Option<Value> {
        self.rx.recv().await
    }

    /// The next payload as a `T`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] once the client is closed, [`ClientError::Convert`] for a
    /// payload that is not a `T`.
    pub async fn recv_as<T: DeserializeOwned>(&mut self) -> Result<T, ClientError> {
        let payload = self.rx.recv().await.ok_or_else(ClientError::closed)?;
        serde_json::from_value(payload).map_err(|e| ClientError::Convert(e.to_string()))
    }
}

impl futures_util::Stream for Subscription {
    type Item = Value;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Value>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(cmd) = self.cmd.upgrade() {
            let _ = cmd.send(Cmd::Unsubscribe {
                event: std::mem::take(&mut self.event),
                id: self.id,
            });
        }
    }
}
