//! The WebSocket side: one task per connection that moves protocol messages between the
//! socket and the actor, pings the peer, and closes with a reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use flame_core::websocket::{CloseFrame, Message, Utf8Bytes, WebSocket};
use flame_core::{Axum, Context, HttpError, Reply, Return};
use futures_util::StreamExt;
use futures_util::task::AtomicWaker;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite;

use super::State;
use super::codes::close_code;
use crate::identity::Actor;
use crate::protocol::{ErrorCode, ServerMessage, WireError};
use crate::stateful::{ConnectionSender, InboundError, Outbound};

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
pub(super) async fn upgrade(c: Context, state: Arc<State>) -> Result<Reply, HttpError> {
    let name = c.param("name").to_owned();
    let key = c.param("key").to_owned();
    let params = c.query("params", "");
    let actor = crate::websocket::connection_actor(&c, |builder| {
        builder.metadata("actor", format!("{name}/{key}"))
    });
    let config = &state.config;
    let upgrade = c
        .websocket_upgrade()
        .await?
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(config.max_frame_size)
        .max_frame_size(config.max_frame_size);
    let response = upgrade.on_upgrade(move |socket| async move {
        let _open = OpenGuard::new(&state.open);
        serve(socket, &state, &name, &key, &params, Arc::new(actor)).await;
    });
    Ok(Axum(response).into_reply())
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The actor closed it (destroyed, shutting down, on_connect failed).
    Actor,
    /// The client closed it, or the socket failed.
    Client,
    /// No pong or message in time.
    Dead,
    /// A frame over the hard limit.
    TooBig,
}

async fn serve(
    mut socket: WebSocket,
    state: &State,
    name: &str,
    key: &str,
    params: &str,
    caller: Arc<dyn Actor>,
) {
    let write_timeout = state.config.ping_timeout;
    let connection_id = caller.actor_id().unwrap_or_default();
    let handle = match state.system.connect(name, key, params, caller).await {
        Ok(handle) => handle,
        Err(error) => {
            tracing::debug!(
                actor.name = name,
                actor.key = key,
                connection.id = connection_id,
                code = error.code,
                "connection refused"
            );
            refuse(&mut socket, &error, write_timeout).await;
            return;
        }
    };
    let conn = handle.id();
    tracing::debug!(actor.name = name, actor.key = key, connection.id = connection_id, %conn, "connected");
    let (sender, outbound) = handle.into_parts();
    let end = pump(&mut socket, &sender, outbound, state).await;
    tracing::debug!(actor.name = name, actor.key = key, %conn, end = ?end, "disconnected");
    if matches!(end, End::TooBig) {
        let error = WireError::new(
            ErrorCode::MessageTooLong,
            format!(
                "a message was longer than {} bytes",
                state.config.max_frame_size
            ),
        );
        // The rest of the frame is never read, so the peer may see a reset rather than
        // the close frame; the `close` message goes first and usually arrives.
        let _ = send_close(&mut socket, &error.code, &error.message, write_timeout).await;
    }
    // on_disconnect runs exactly once: the actor forgets the connection the first time.
    sender.disconnect().await;
}

/// How many outbound messages a connection writes in a row before it polls its socket and
/// its ticker on equal terms.
const WRITES_BEFORE_A_FAIR_TURN: u32 = 16;

/// What woke the connection task; `F` is what the socket gave.
enum Event<F> {
    Out(Option<Outbound>),
    Frame(F),
    Tick,
}

/// The waker one source of a connection task (its socket or its ticker) is polled with: it
/// notes that this source woke the task, then wakes the task. The task polls a source only
/// when it was woken by it, so a broadcast, which wakes ten thousand connection tasks to
/// write one frame each, does not also make each of them poll its socket (tungstenite
/// prepares its read buffer on every poll) and its timer for nothing.
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

/// Moves messages both ways until the connection ends.
async fn pump(
    socket: &mut WebSocket,
    sender: &ConnectionSender,
    mut outbound: mpsc::Receiver<Outbound>,
    state: &State,
) -> End {
    let config = &state.config;
    let interval = config.ping_interval.max(Duration::from_millis(1));
    let silence_limit = interval + config.ping_timeout;
    let write_timeout = config.ping_timeout;
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let (socket_source, ticker_source) = (Source::new(), Source::new());
    // Outbound first, mostly: a woken connection usually has something to write. After a
    // run of writes, one turn polls the socket and the ticker first, so a steady stream of
    // events cannot keep the client's messages from being read or the heartbeat from
    // running (tokio's cooperative budget would otherwise let the channel win every turn).
    let mut writes_in_a_row = 0u32;
    loop {
        let fair_turn = writes_in_a_row >= WRITES_BEFORE_A_FAIR_TURN;
        let event = std::future::poll_fn(|cx| {
            if !fair_turn && let Poll::Ready(msg) = outbound.poll_recv(cx) {
                return Poll::Ready(Event::Out(msg));
            }
            if let Poll::Ready(frame) = socket_source.poll(cx, |cx| socket.poll_next_unpin(cx)) {
                return Poll::Ready(Event::Frame(frame));
            }
            if ticker_source.poll(cx, |cx| ticker.poll_tick(cx)).is_ready() {
                return Poll::Ready(Event::Tick);
            }
            if fair_turn {
                return outbound.poll_recv(cx).map(Event::Out);
            }
            Poll::Pending
        })
        .await;
        writes_in_a_row = match event {
            Event::Out(Some(_)) if !fair_turn => writes_in_a_row + 1,
            _ => 0,
        };
        match event {
            Event::Out(msg) => match msg {
                Some(msg) => {
                    if let Some((code, reason)) = msg.close_reason() {
                        let _ = send_close(socket, code, reason, write_timeout).await;
                        return End::Actor;
                    }
                    // a broadcast's text is shared by every receiver
                    if send(socket, Message::Text(msg.text()), write_timeout)
                        .await
                        .is_err()
                    {
                        return End::Client;
                    }
                }
                None => {
                    // The actor dropped the connection without a `close` (the client did
                    // not keep up): tell the client, which may reconnect.
                    let _ = send_close(
                        socket,
                        ErrorCode::ConnectionClosed.as_str(),
                        "the connection was closed by the actor",
                        write_timeout,
                    )
                    .await;
                    return End::Actor;
                }
            },
            Event::Frame(frame) => {
                last_seen = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => match sender.send_text(text.as_str()).await {
                        Ok(()) => {}
                        Err(InboundError::Protocol(error)) => {
                            let reply = error.to_server_message().encode();
                            if send(socket, Message::Text(Utf8Bytes::from(reply)), write_timeout)
                                .await
                                .is_err()
                            {
                                return End::Client;
                            }
                        }
                        Err(InboundError::Closed) => {
                            // The actor is gone; its `close` may still be queued.
                            if let Ok(Some(msg)) =
                                tokio::time::timeout(write_timeout, outbound.recv()).await
                                && let Some((code, reason)) = msg.close_reason()
                            {
                                let _ = send_close(socket, code, reason, write_timeout).await;
                            } else {
                                let _ = send_close(
                                    socket,
                                    ErrorCode::ConnectionClosed.as_str(),
                                    "the connection is closed",
                                    write_timeout,
                                )
                                .await;
                            }
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
                        if send(
                            socket,
                            Message::Text(Utf8Bytes::from(reply.encode())),
                            write_timeout,
                        )
                        .await
                        .is_err()
                        {
                            return End::Client;
                        }
                    }
                    // axum answers pings itself; a pong is proof of life, nothing more.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return End::Client,
                    Some(Err(error)) => {
                        let too_big = std::error::Error::source(&error)
                            .and_then(|s| s.downcast_ref::<tungstenite::Error>())
                            .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
                        tracing::debug!(%error, "WebSocket read failed");
                        return if too_big { End::TooBig } else { End::Client };
                    }
                }
            }
            Event::Tick => {
                if last_seen.elapsed() >= silence_limit {
                    tracing::debug!(silent_for = ?last_seen.elapsed(), "no pong in time; the peer is dead");
                    return End::Dead;
                }
                if send(socket, Message::Ping(Default::default()), write_timeout)
                    .await
                    .is_err()
                {
                    return End::Dead;
                }
            }
        }
    }
}

/// Sends `msg`, failing after `limit`. Most sends complete at their first poll; only one
/// that waits (a full socket buffer) gets a timer, so the common case does not touch the
/// runtime's timer at all.
async fn send(socket: &mut WebSocket, msg: Message, limit: Duration) -> Result<(), ()> {
    let mut sending = std::pin::pin!(socket.send(msg));
    let first = std::future::poll_fn(|cx| Poll::Ready(sending.as_mut().poll(cx))).await;
    let result = match first {
        Poll::Ready(result) => result,
        Poll::Pending => match tokio::time::timeout(limit, sending).await {
            Ok(result) => result,
            Err(_) => return Err(()),
        },
    };
    result.map_err(|_| ())
}

/// Sends the `close` message and a close frame whose reason is the code.
async fn send_close(
    socket: &mut WebSocket,
    code: &str,
    reason: &str,
    limit: Duration,
) -> Result<(), ()> {
    let msg = ServerMessage::Close {
        code: code.to_owned(),
        reason: reason.to_owned(),
    };
    send(socket, Message::Text(Utf8Bytes::from(msg.encode())), limit).await?;
    let frame = CloseFrame {
        code: close_code(code),
        reason: Utf8Bytes::from(code.to_owned()),
    };
    send(socket, Message::Close(Some(frame)), limit).await
}

/// Refuses a connection `system.connect` did not accept.
async fn refuse(socket: &mut WebSocket, error: &WireError, limit: Duration) {
    let _ = send_close(socket, &error.code, &error.message, limit).await;
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
