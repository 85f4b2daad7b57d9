//! The WebSocket side: one task per connection that reads the client's messages, hands
//! them to the actor, pings the peer, and closes with a reason. The actor writes to the
//! socket itself, through the connection's `SocketSink`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use flame_core::{Axum, Context, HttpError, Reply, Return};
use futures_util::StreamExt;
use futures_util::task::AtomicWaker;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::State;
use super::socket::{
    Ended, Io, SocketIo, SocketSink, close_echo, close_frames_with, ping_frame, text_frame,
};
use crate::protocol::{ErrorCode, ServerMessage, WireError};
use crate::{ConnectionSender, InboundError, Outlet, Refused, Sink};
use flame_actor::Actor;
use flame_actor::websocket::{Heartbeat, HeartbeatStep, ReadFailure};

/// Counts the open connections; one guard per connection task.
pub(super) struct OpenGuard(pub(super) Arc<AtomicUsize>);

impl OpenGuard {
    pub(super) fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET {prefix}/{name}/{key}?params=<json>`: upgrades, then connects to the actor.
///
/// axum checks the handshake (and words the refusals); the upgrade itself is done here,
/// because the actor writes to the upgraded socket directly, which axum's `WebSocket`
/// does not allow.
pub(super) async fn upgrade(c: Context, state: Arc<State>) -> Result<Reply, HttpError> {
    let name = c.param("name").to_owned();
    let key = c.param("key").to_owned();
    let params = c.query("params");
    let actor = flame_actor::websocket::connection_actor(&c, |builder| {
        builder.metadata("actor", format!("{name}/{key}"))
    });
    upgrade_as(c, state, name, key, params, Arc::new(actor), true).await
}

/// Upgrades to a WebSocket connection of `caller` to (name, key). `may_proxy`: in cluster
/// mode, a connection to an actor another node owns is relayed to that node (not for a
/// connection another node relayed here).
pub(super) async fn upgrade_as(
    c: Context,
    state: Arc<State>,
    name: String,
    key: String,
    params: String,
    caller: Arc<dyn Actor>,
    may_proxy: bool,
) -> Result<Reply, HttpError> {
    // The checks. A plain request on an actor route is answered in the protocol's JSON
    // shape, like the HTTP RPC's errors: `actor_not_found` for a name no kind is registered
    // under, else the handshake's refusal (its status, from axum) as `malformed_message`.
    if let Err(refusal) = c.websocket_upgrade().await {
        if !state.system.kinds().any(|kind| kind == name) {
            return Ok(super::http::error_reply(&not_registered(&name)));
        }
        let error = WireError::new(
            ErrorCode::MalformedMessage,
            format!("not a WebSocket handshake: {}", refusal.message()),
        );
        return Ok(Reply::json(&error).with_status(flame_core::ReturnError::status(&refusal)));
    }
    let on_upgrade = c.extensions().get::<OnUpgrade>().cloned().ok_or_else(|| {
        HttpError::new(
            StatusCode::UPGRADE_REQUIRED,
            "the connection cannot be upgraded",
        )
    })?;
    let response = switching_protocols(&c);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "a WebSocket upgrade failed");
                return;
            }
        };
        let _open = OpenGuard::new(&state.open);
        serve(
            Io::new(upgraded),
            &state,
            &name,
            &key,
            &params,
            caller,
            may_proxy,
        )
        .await;
    });
    Ok(Axum(response).into_reply())
}

/// `actor_not_found` for `name`, the answer the runtime gives a call to an unknown kind.
pub(super) fn not_registered(name: &str) -> WireError {
    WireError::new(
        ErrorCode::ActorNotFound,
        format!("no actor kind is registered under `{name}`"),
    )
}

/// The answer that completes a handshake axum has checked: `101` with the accept key over
/// HTTP/1.1, `200` to an HTTP/2 extended `CONNECT`.
fn switching_protocols(c: &Context) -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    if c.method() == Method::CONNECT {
        return (StatusCode::OK, headers);
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Some(key) = c.headers().get(header::SEC_WEBSOCKET_KEY) {
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
    }
    (StatusCode::SWITCHING_PROTOCOLS, headers)
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The actor closed it (destroyed, shutting down, let go of it), or the client did not
    /// keep up; the close frames are written or queued.
    Actor,
    /// The client sent its close frame, which is answered (RFC 6455 §5.5.1), so that a
    /// browser's clean close ends clean (1000, `wasClean`) rather than as 1006.
    PeerClosed(Option<CloseFrame>),
    /// The socket ended or failed without a close frame.
    Client,
    /// The client broke RFC 6455 itself (bad UTF-8, reserved bits, an unknown opcode, bad
    /// fragmentation, an oversized or fragmented control frame, an unmasked frame, a
    /// malformed close frame): closed with `frame_code` (1007 for bad UTF-8, else 1002)
    /// and a reason, as the RFC asks, instead of a silent drop.
    Violation { frame_code: u16, detail: String },
    /// No pong or message in time: closed with 1001 and `heartbeat timeout`.
    Dead,
    /// A frame over the hard limit.
    TooBig,
}

pub(super) type Socket = WebSocketStream<SocketIo>;

/// RFC 6455's "going away", the close code of a heartbeat timeout on every flame endpoint.
pub(super) const CLOSE_GOING_AWAY: u16 = 1001;

async fn serve(
    io: Io,
    state: &State,
    name: &str,
    key: &str,
    params: &str,
    caller: Arc<dyn Actor>,
    may_proxy: bool,
) {
    let config = &state.config.websocket;
    let write_timeout = config.close_timeout;
    let outlet_source = Source::new();
    let actor_config = state.system.config();
    let sink = Arc::new(SocketSink::new(
        io,
        outlet_source.waker.clone(),
        actor_config.outbound_capacity,
        actor_config.outbound_byte_budget,
    ));
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let io = SocketIo(sink.clone());
    let mut socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config)).await;
    let connection_id = caller.actor_id().unwrap_or_default();
    let outlet = Outlet::Sink(sink.clone());
    let identity = caller.clone();
    let sender = match state
        .system
        .connect_outlet(name, key, params, caller, outlet)
        .await
    {
        Ok(sender) => sender,
        Err(error) if may_proxy && error.is(ErrorCode::Unavailable) => {
            match state.system.remote_address(name, key) {
                Some(address) => {
                    let relay = super::relay::Relay {
                        state,
                        address: &address,
                        name,
                        key,
                        params,
                        caller: &identity,
                    };
                    relay.run(&mut socket, &sink).await;
                }
                None => sink.close(&error.code, &error.message),
            }
            sink.finish(write_timeout).await;
            return;
        }
        Err(error) => {
            tracing::debug!(
                actor.name = name,
                actor.key = key,
                connection.id = connection_id,
                code = error.code,
                "connection refused"
            );
            sink.close(&error.code, &error.message);
            sink.finish(write_timeout).await;
            return;
        }
    };
    let conn = sender.id();
    tracing::debug!(actor.name = name, actor.key = key, connection.id = connection_id, %conn, "connected");
    let end = pump(&mut socket, &sink, &outlet_source, &sender, state).await;
    tracing::debug!(actor.name = name, actor.key = key, %conn, end = ?end, "disconnected");
    let flush_for = match end {
        End::TooBig => {
            let error = WireError::new(
                ErrorCode::MessageTooLong,
                format!(
                    "a message was longer than {} bytes",
                    config.max_message_size
                ),
            );
            // The rest of the frame is never read, so the peer may see a reset rather than
            // the close frame; the `close` message goes first and usually arrives.
            sink.close(&error.code, &error.message);
            write_timeout
        }
        End::PeerClosed(received) => {
            sink.close_with([close_echo(received.as_ref())]);
            write_timeout
        }
        End::Violation { frame_code, detail } => {
            let reason = format!("the WebSocket frames broke RFC 6455: {detail}");
            sink.close_with(close_frames_with(
                ErrorCode::MalformedMessage.as_str(),
                &reason,
                frame_code,
            ));
            write_timeout
        }
        End::Dead => {
            sink.close_with(close_frames_with(
                ErrorCode::ConnectionClosed.as_str(),
                &format!(
                    "{}: no answer to a ping within {:?}",
                    Heartbeat::CLOSE_REASON,
                    config.ping_timeout
                ),
                CLOSE_GOING_AWAY,
            ));
            // the client is probably gone: the close gets one try, not a wait
            Duration::ZERO
        }
        End::Actor => write_timeout,
        // nobody is reading: what is queued gets one try
        End::Client => Duration::ZERO,
    };
    sink.finish(flush_for).await;
    // on_disconnect runs exactly once: the actor forgets the connection the first time.
    sender.disconnect().await;
}

/// What woke the connection task; `F` is what the socket gave.
enum Event<F> {
    Ended(Ended),
    Frame(F),
    Tick,
}

/// The waker one source of a connection task (its sink, its socket or its ticker) is polled
/// with: it notes that this source woke the task, then wakes the task. The task polls a
/// source only when it was woken by it, so a sink with a frame to flush does not also make
/// it poll its socket (tungstenite prepares its read buffer on every poll) and its timer
/// for nothing.
#[derive(Default)]
struct SourceWaker {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for SourceWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// A source of a connection task and whether it has to be polled.
struct Source {
    state: Arc<SourceWaker>,
    waker: Waker,
}

impl Source {
    fn new() -> Self {
        let state = Arc::new(SourceWaker::default());
        // polled the first time, which registers the task with it
        state.woken.store(true, Ordering::Relaxed);
        let waker = Waker::from(state.clone());
        Self { state, waker }
    }

    /// Polls `poll` if this source woke the task since its last `Pending`. A `Ready` keeps
    /// the source marked, as a stream or an interval is polled again until it is pending.
    fn poll<T>(
        &self,
        cx: &TaskContext<'_>,
        poll: impl FnOnce(&mut TaskContext<'_>) -> Poll<T>,
    ) -> Poll<T> {
        // Unmarked means no wake since the last poll, so the task's waker is still
        // registered: an unwoken source costs one load.
        if !self.state.woken.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        // Cleared before the poll, so that a wake during the poll is not lost; a swap, so
        // that a wake just before it is seen by the poll.
        self.state.woken.swap(false, Ordering::AcqRel);
        self.state.task.register(cx.waker());
        let ready = poll(&mut TaskContext::from_waker(&self.waker));
        if ready.is_ready() {
            self.state.woken.store(true, Ordering::Relaxed);
        }
        ready
    }
}

/// Reads the client's messages, and keeps the connection alive, until it ends.
async fn pump(
    socket: &mut Socket,
    sink: &SocketSink,
    outlet_source: &Source,
    sender: &ConnectionSender,
    state: &State,
) -> End {
    let mut heartbeat = Heartbeat::new(&state.config.websocket, Instant::now());
    // Re-armed only when it fires: a frame just notes the time in `heartbeat`.
    let wake = tokio::time::sleep_until(heartbeat.deadline());
    tokio::pin!(wake);
    let (socket_source, timer_source) = (Source::new(), Source::new());
    loop {
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(ended) = outlet_source.poll(cx, |cx| sink.poll_task(cx)) {
                return Poll::Ready(Event::Ended(ended));
            }
            if let Poll::Ready(frame) = socket_source.poll(cx, |cx| socket.poll_next_unpin(cx)) {
                return Poll::Ready(Event::Frame(frame));
            }
            if timer_source
                .poll(cx, |cx| wake.as_mut().poll(cx))
                .is_ready()
            {
                return Poll::Ready(Event::Tick);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Ended(Ended::Closing) => return End::Actor,
            Event::Ended(Ended::Failed) => return End::Client,
            Event::Frame(frame) => {
                heartbeat.seen(Instant::now());
                match frame {
                    Some(Ok(Message::Text(text))) => match sender.send_text(text.as_str()).await {
                        Ok(()) => {}
                        Err(InboundError::Protocol(error)) => {
                            let reply = error.to_server_message().encode();
                            if let Err(end) = reply_with(sink, &reply) {
                                return end;
                            }
                        }
                        Err(InboundError::Closed) => {
                            // The actor is gone; its `close` is written or queued, unless
                            // it went without one.
                            sink.close(
                                ErrorCode::ConnectionClosed.as_str(),
                                "the connection is closed",
                            );
                            return End::Actor;
                        }
                    },
                    Some(Ok(Message::Binary(_))) => {
                        let reply = ServerMessage::Error {
                            code: ErrorCode::MalformedMessage.as_str().to_owned(),
                            message: String::from(
                                "binary messages are not supported; send JSON text",
                            ),
                        };
                        if let Err(end) = reply_with(sink, &reply.encode()) {
                            return end;
                        }
                    }
                    // tungstenite answers pings itself; a pong is proof of life, nothing more.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(received))) => return End::PeerClosed(received),
                    None => return End::Client,
                    Some(Err(error)) => {
                        let failure = ReadFailure::from_error(&error);
                        tracing::debug!(%error, ?failure, "a WebSocket read failed");
                        return match failure {
                            ReadFailure::TooBig => End::TooBig,
                            ReadFailure::Lost(_) => End::Client,
                            violation => End::Violation {
                                frame_code: violation.close_code().unwrap_or(1002),
                                detail: violation.close_reason(),
                            },
                        };
                    }
                }
            }
            Event::Tick => match heartbeat.poll(Instant::now()) {
                HeartbeatStep::Wait(until) => wake.as_mut().reset(until),
                HeartbeatStep::Ping => {
                    if sink.write(ping_frame()).is_err() {
                        return End::Dead;
                    }
                    wake.as_mut().reset(heartbeat.deadline());
                }
                HeartbeatStep::Dead => {
                    tracing::debug!("no pong in time; the peer is dead");
                    return End::Dead;
                }
            },
        }
    }
}

/// Writes a protocol message of the connection's own (an error about what the client sent).
fn reply_with(sink: &SocketSink, text: &str) -> Result<(), End> {
    match sink.write(text_frame(text)) {
        Ok(()) => Ok(()),
        Err(Refused::Full) => {
            tracing::warn!("the client does not keep up; closing its connection");
            sink.close(
                ErrorCode::ConnectionClosed.as_str(),
                "the client did not keep up",
            );
            Err(End::Actor)
        }
        Err(Refused::Closed) => Err(End::Client),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the wakes of a task.
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A task's wake counter and its waker.
    fn task() -> (Arc<Wakes>, Waker) {
        let task = Arc::new(Wakes(AtomicUsize::new(0)));
        (task.clone(), Waker::from(task))
    }

    #[test]
    fn a_source_is_polled_only_after_it_woke_the_task() {
        let (task, task_waker) = task();
        let cx = TaskContext::from_waker(&task_waker);
        let source = Source::new();
        let mut polls = 0;
        let mut registered = None;

        // the first poll reaches the source, which keeps the waker it was given
        let first = source.poll(&cx, |cx| {
            polls += 1;
            registered = Some(cx.waker().clone());
            Poll::<u8>::Pending
        });
        assert!(first.is_pending());
        assert_eq!(polls, 1);

        // not woken since: not polled
        let idle = source.poll(&cx, |_| {
            polls += 1;
            Poll::<u8>::Pending
        });
        assert!(idle.is_pending());
        assert_eq!(
            polls, 1,
            "a source that did not wake the task is not polled"
        );

        // the source wakes: the task is woken, and the source is polled on the next turn
        registered.take().expect("registered").wake();
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "the task was woken");
        let ready = source.poll(&cx, |_| {
            polls += 1;
            Poll::Ready(7)
        });
        assert_eq!(ready, Poll::Ready(7));
        assert_eq!(polls, 2);

        // after a Ready it is polled again until it is pending
        let after_ready = source.poll(&cx, |_| {
            polls += 1;
            Poll::<u8>::Pending
        });
        assert!(after_ready.is_pending());
        assert_eq!(polls, 3);
        let _ = source.poll(&cx, |_| {
            polls += 1;
            Poll::<u8>::Pending
        });
        assert_eq!(polls, 3);
    }

    #[test]
    fn a_wake_during_the_poll_is_kept() {
        let (task, task_waker) = task();
        let cx = TaskContext::from_waker(&task_waker);
        let source = Source::new();
        // the source becomes ready while it is being polled (another thread, say)
        let first = source.poll(&cx, |cx| {
            cx.waker().wake_by_ref();
            Poll::<u8>::Pending
        });
        assert!(first.is_pending());
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
        let mut polled = false;
        let _ = source.poll(&cx, |_| {
            polled = true;
            Poll::<u8>::Pending
        });
        assert!(
            polled,
            "the wake that came during the poll marks the source"
        );
    }
}
