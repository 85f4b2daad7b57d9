//! A WebSocket connection's write side, shared by the actor and the connection's task.
//!
//! The actor writes its messages to the socket itself, as WebSocket frames, from its own
//! task (or, for a big broadcast, from one task per worker thread). A message therefore
//! costs no channel and no wake of the connection's task, which is what a broadcast to
//! thousands of connections is made of. Whatever the socket does not take at once is
//! queued, in order, and the connection's task writes it when the socket is writable; while
//! anything is queued, later frames queue behind it, so a connection's frames always leave
//! in the order they were offered.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

use crate::protocol::{ErrorCode, ServerMessage};
use crate::{Outbound, Refused, Sink};
use flame_protocol::close_code;

/// The upgraded connection.
pub(super) type Io = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

/// One unmasked, final text frame (what a server sends) carrying `text`.
pub(super) fn text_frame(text: &str) -> Bytes {
    frame(Frame::message(
        Bytes::copy_from_slice(text.as_bytes()),
        OpCode::Data(Data::Text),
        true,
    ))
}

/// An empty ping frame.
pub(super) fn ping_frame() -> Bytes {
    frame(Frame::ping(Bytes::new()))
}

fn frame(frame: Frame) -> Bytes {
    let mut buf = Vec::with_capacity(frame.len());
    // writing to a Vec cannot fail
    let _ = frame.format(&mut buf);
    Bytes::from(buf)
}

/// The `close` protocol message, then a close frame whose reason is the code.
fn close_frames(code: &str, reason: &str) -> [Bytes; 2] {
    close_frames_with(code, reason, close_code(code))
}

/// [`close_frames`] with the close frame's code chosen by the caller: a violation of
/// RFC 6455 itself is closed with the RFC's code (1002, 1007), not the protocol code's.
pub(super) fn close_frames_with(code: &str, reason: &str, frame_code: u16) -> [Bytes; 2] {
    let message = ServerMessage::Close {
        code: code.to_owned(),
        reason: reason.to_owned(),
    };
    let close = Frame::close(Some(CloseFrame {
        code: CloseCode::from(frame_code),
        reason: code.to_owned().into(),
    }));
    [text_frame(&message.encode()), frame(close)]
}

/// The server's answer to the client's close frame (RFC 6455 §5.5.1): the client's status
/// code echoed, or an empty close to an empty one. A code the RFC does not allow on the
/// wire is answered with 1002, as tungstenite would.
pub(super) fn close_echo(received: Option<&CloseFrame>) -> Bytes {
    let echo = received.map(|received| CloseFrame {
        code: if received.code.is_allowed() {
            received.code
        } else {
            CloseCode::Protocol
        },
        reason: "".into(),
    });
    frame(Frame::close(echo))
}

/// How a connection's task learns that its connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// Closed by the actor (or for the client being too slow): the close frames are
    /// written or queued.
    Closing,
    /// A write failed.
    Failed,
}

/// The write side of one WebSocket connection; see the module's documentation.
#[derive(Debug)]
pub(super) struct SocketSink {
    writer: Mutex<Writer>,
    /// Wakes the connection's task: something is queued, or the connection is over.
    task: Waker,
    /// The most frames the actor may queue before the client counts as too slow.
    max_queued: usize,
    /// The most bytes it may queue (`ActorConfig::outbound_byte_budget`): the count alone
    /// would let a client that stops reading hold `max_queued` big messages.
    max_queued_bytes: usize,
}

#[derive(Debug)]
struct Writer {
    /// The socket, read by the connection's task through [`SocketIo`] under the same lock
    /// (one lock per write, rather than a split's and this one); `None` once the
    /// connection's task has ended.
    io: Option<Io>,
    /// Frames (the first maybe partly written) waiting for the socket.
    queue: VecDeque<Bytes>,
    /// The bytes in `queue`.
    queued_bytes: usize,
    /// Nothing more is taken: the close frames are queued.
    closing: bool,
    /// A write failed, or the connection's task ended.
    failed: bool,
}

impl SocketSink {
    /// `task` is woken whenever the connection's task has to call [`poll_task`](Self::poll_task).
    pub(super) fn new(io: Io, task: Waker, max_queued: usize, max_queued_bytes: usize) -> Self {
        Self {
            writer: Mutex::new(Writer {
                io: Some(io),
                queue: VecDeque::new(),
                queued_bytes: 0,
                closing: false,
                failed: false,
            }),
            task,
            max_queued: max_queued.max(1),
            max_queued_bytes,
        }
    }

    /// Writes `frame` after everything before it, now if nothing is queued.
    pub(super) fn write(&self, frame: Bytes) -> Result<(), Refused> {
        self.write_cow(Cow::Owned(frame))
    }

    /// [`write`](Self::write) for a frame that may be borrowed (a broadcast's, which every
    /// receiver shares): it is copied (a reference count) only if it has to wait.
    fn write_cow(&self, frame: Cow<'_, Bytes>) -> Result<(), Refused> {
        let mut writer = self.writer.lock();
        if writer.closing || writer.failed {
            return Err(Refused::Closed);
        }
        self.push(&mut writer, frame, true)
    }

    /// Ends the connection with `frames` (the last of them a close frame): nothing written
    /// after them is taken.
    pub(super) fn close_with(&self, frames: impl IntoIterator<Item = Bytes>) {
        let mut writer = self.writer.lock();
        if writer.closing || writer.failed {
            return;
        }
        for frame in frames {
            // The close frames are not refused for a full queue: they end it.
            if self.push(&mut writer, Cow::Owned(frame), false).is_err() {
                break;
            }
        }
        writer.closing = true;
        self.task.wake_by_ref();
    }

    /// The connection's task's turn: writes what is queued (the socket wakes the task when
    /// it can take more), and says when the connection is over.
    pub(super) fn poll_task(&self, cx: &mut Context<'_>) -> Poll<Ended> {
        let mut writer = self.writer.lock();
        if writer.failed {
            return Poll::Ready(Ended::Failed);
        }
        if writer.closing {
            return Poll::Ready(Ended::Closing);
        }
        match writer.poll_flush(cx) {
            Poll::Ready(Err(error)) => {
                tracing::debug!(%error, "a WebSocket write failed");
                writer.failed = true;
                Poll::Ready(Ended::Failed)
            }
            Poll::Ready(Ok(())) | Poll::Pending => Poll::Pending,
        }
    }

    /// Ends the connection from the transport's side: whatever is queued gets up to `limit`
    /// to be written, then the write side is shut down and let go.
    pub(super) async fn finish(&self, limit: Duration) {
        let flushed = std::future::poll_fn(|cx| {
            let mut writer = self.writer.lock();
            if writer.io.is_none() {
                return Poll::Ready(());
            }
            match writer.poll_flush(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) => match writer.io.as_mut() {
                    Some(io) => Pin::new(io).poll_shutdown(cx).map(|_| ()),
                    None => Poll::Ready(()),
                },
                Poll::Ready(Err(_)) => Poll::Ready(()),
            }
        });
        let _ = tokio::time::timeout(limit, flushed).await;
        let mut writer = self.writer.lock();
        writer.failed = true;
        writer.queue.clear();
        writer.queued_bytes = 0;
        writer.io = None;
    }

    /// Queues `frame`, or writes it now when nothing is queued. `bounded`: refused when
    /// too much is queued already.
    fn push(
        &self,
        writer: &mut Writer,
        frame: Cow<'_, Bytes>,
        bounded: bool,
    ) -> Result<(), Refused> {
        if !writer.queue.is_empty() {
            if bounded
                && (writer.queue.len() >= self.max_queued
                    || writer.queued_bytes + frame.len() > self.max_queued_bytes)
            {
                return Err(Refused::Full);
            }
            writer.queued_bytes += frame.len();
            writer.queue.push_back(frame.into_owned());
            return Ok(());
        }
        let Some(io) = writer.io.as_mut() else {
            return Err(Refused::Closed);
        };
        // Not the task's waker: this may run on any task. What the socket does not take
        // now is queued, and the connection's task, woken, polls with its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        let written = match write_some(io, &frame, &mut cx) {
            Ok(written) => written,
            Err(error) => {
                tracing::debug!(%error, "a WebSocket write failed");
                writer.failed = true;
                self.task.wake_by_ref();
                return Err(Refused::Closed);
            }
        };
        if written < frame.len() {
            writer.queued_bytes += frame.len() - written;
            writer.queue.push_back(frame.slice(written..));
            self.task.wake_by_ref();
        } else if Pin::new(io).poll_flush(&mut cx).is_pending() {
            // a stream that holds bytes until flushed (TLS, say): the task flushes it
            self.task.wake_by_ref();
        }
        Ok(())
    }
}

impl Writer {
    /// Writes the queue, then flushes.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(io) = self.io.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        while let Some(front) = self.queue.front_mut() {
            let written = write_some(io, front, cx)?;
            self.queued_bytes -= written;
            if written < front.len() {
                *front = front.slice(written..);
                return Poll::Pending;
            }
            self.queue.pop_front();
        }
        Pin::new(io).poll_flush(cx)
    }
}

/// Writes as much of `buf` as `io` takes now; the rest waits for a wake of `cx`'s waker.
///
/// Outside tokio's cooperative budget: a write is one system call whatever task makes it,
/// and a task that has spent its budget (a broadcast's, after 128 writes) would otherwise
/// see every further write pend, and hand each of those connections to its own task.
fn write_some<W: AsyncWrite + Unpin>(
    io: &mut W,
    buf: &[u8],
    cx: &mut Context<'_>,
) -> io::Result<usize> {
    let write = tokio::task::unconstrained(std::future::poll_fn(|cx| {
        let mut written = 0;
        while written < buf.len() {
            match Pin::new(&mut *io).poll_write(cx, &buf[written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(written))
    }));
    match std::pin::pin!(write).poll(cx) {
        Poll::Ready(result) => result,
        // the closure never pends
        Poll::Pending => Ok(0),
    }
}

impl Sink for SocketSink {
    fn offer(&self, msg: &Outbound) -> Result<(), Refused> {
        self.write_cow(msg.wire(text_frame))
    }

    fn close(&self, code: &str, reason: &str) {
        self.close_with(close_frames(code, reason));
    }

    fn is_closed(&self) -> bool {
        self.writer.lock().failed
    }

    fn detach(&self) {
        self.close(
            ErrorCode::ConnectionClosed.as_str(),
            "the connection was closed by the actor",
        );
    }
}

/// What tungstenite reads from and writes to: the socket, read under the sink's lock, and
/// the sink, so that tungstenite's own frames (a pong, the answer to a close) take their
/// turn with the rest.
pub(super) struct SocketIo(pub(super) Arc<SocketSink>);

impl AsyncRead for SocketIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut writer = self.0.writer.lock();
        match writer.io.as_mut() {
            Some(io) => Pin::new(io).poll_read(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncWrite for SocketIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // tungstenite writes whole frames, which the sink takes whole
        Poll::Ready(match self.0.write(Bytes::copy_from_slice(buf)) {
            Ok(()) => Ok(buf.len()),
            Err(Refused::Full) => Err(io::ErrorKind::WouldBlock.into()),
            Err(Refused::Closed) => Err(io::ErrorKind::BrokenPipe.into()),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // What the sink queued is written on the connection task's turn.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The transport ends the connection (`SocketSink::finish`).
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast writes to thousands of sockets from one task; tokio's cooperative budget
    /// (128 operations a turn) must not make the writes after the 128th pend.
    #[tokio::test]
    async fn writes_are_not_held_back_by_the_task_budget() {
        let (mut near, mut far) = tokio::io::duplex(64 * 1024);
        let mut cx = Context::from_waker(Waker::noop());
        for i in 0..1000 {
            let written = write_some(&mut near, b"x", &mut cx).expect("write");
            assert_eq!(written, 1, "write {i} pended");
        }
        let mut read = vec![0; 1000];
        tokio::io::AsyncReadExt::read_exact(&mut far, &mut read)
            .await
            .expect("read");
        assert!(read.iter().all(|&b| b == b'x'));
    }

    #[test]
    fn frames_are_what_a_server_sends() {
        assert_eq!(&text_frame("hi")[..], b"\x81\x02hi");
        assert_eq!(&ping_frame()[..], b"\x89\x00");
        let long = "x".repeat(300);
        let frame = text_frame(&long);
        assert_eq!(&frame[..4], &[0x81, 126, 0x01, 0x2c]);
        assert_eq!(frame.len(), 4 + 300);
        let [message, close] = close_frames("actor_destroyed", "gone");
        assert_eq!(
            ServerMessage::decode(std::str::from_utf8(&message[2..]).expect("utf-8"))
                .expect("a protocol message"),
            ServerMessage::Close {
                code: "actor_destroyed".into(),
                reason: "gone".into()
            }
        );
        // opcode 8, then the close code for the protocol code, then the code as the reason
        assert_eq!(close[0], 0x88);
        assert_eq!(&close[4..], b"actor_destroyed");
        assert_eq!(
            u16::from_be_bytes([close[2], close[3]]),
            close_code("actor_destroyed")
        );
    }
}
