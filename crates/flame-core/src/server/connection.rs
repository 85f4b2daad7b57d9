//! One accepted connection: hyper serving it under flame's limits, the idle watchdog that
//! closes it when nothing happens, and the socket that holds its place under the cap.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::body::TimeoutBody;
use super::stats::OpenConnection;
use super::{FlameService, ResponseFuture, ServerConfig};

/// What every connection of one `serve()` shares.
pub(crate) struct Shared {
    pub(crate) builder: auto::Builder<TokioExecutor>,
    pub(crate) service: FlameService,
    pub(crate) config: ServerConfig,
    pub(crate) shutdown: CancellationToken,
}

impl Shared {
    pub(crate) fn new(
        service: FlameService,
        config: ServerConfig,
        shutdown: CancellationToken,
    ) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            // The header read timeout is the watchdog's (see `Activity::quiet`): hyper's arms
            // a timer for every request, which cost 5-6% of hello-world requests/s here; the
            // watchdog's deadline is two atomic stores per request.
            .header_read_timeout(None)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            // WebSockets over HTTP/2 (RFC 8441), as axum::serve offers them
            .enable_connect_protocol()
            .max_concurrent_streams(config.http2_max_concurrent_streams)
            .max_header_list_size(config.http2_max_header_list_size)
            .keep_alive_interval(config.http2_keep_alive_interval)
            .keep_alive_timeout(config.http2_keep_alive_timeout);
        if !config.http2 {
            builder = builder.http1_only();
        }
        Self {
            builder,
            service,
            config,
            shutdown,
        }
    }
}

/// Serves one connection until it ends, the server shuts down, or it stays idle too long.
pub(crate) async fn serve(stream: Counted, remote: SocketAddr, shared: Arc<Shared>) {
    let activity = Arc::new(Activity::new());
    let service = ConnService {
        app: shared.service.for_peer(remote),
        activity: activity.clone(),
        body_read_timeout: shared.config.body_read_timeout,
    };
    let mut conn = pin!(
        shared
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
    );
    let mut quiet = pin!(activity.quiet(
        shared.config.header_read_timeout,
        shared.config.idle_timeout
    ));
    // After an idle close has begun, how long the connection may take to finish: nothing
    // was in flight, so this only cuts a client that does not read the last response.
    let mut linger = pin!(tokio::time::sleep(Duration::MAX));
    let mut lingering = false;
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                break;
            }
            () = shared.shutdown.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            why = &mut quiet, if !closing => match why {
                Quiet::NoRequest => {
                    // no request ever began: nothing to finish, nothing to say
                    tracing::debug!(%remote, "no request headers in time: disconnecting");
                    break;
                }
                Quiet::Idle => {
                    tracing::debug!(%remote, "closing an idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    lingering = true;
                    linger.as_mut().reset(Instant::now() + shared.config.idle_timeout);
                }
            },
            () = &mut linger, if lingering => {
                tracing::debug!(%remote, "dropping a connection that did not finish closing");
                break;
            }
        }
    }
}

/// Why the watchdog wants a connection closed.
enum Quiet {
    /// No request began within the header read timeout of the connection's start: a client
    /// that sends nothing, or never finishes its first request's headers.
    NoRequest,
    /// No request in flight for the idle time: on HTTP/1, the shorter of the header read
    /// timeout (the next request's headers are late) and the idle timeout; on HTTP/2, the
    /// idle timeout.
    Idle,
}

/// What the idle watchdog knows of a connection's requests.
struct Activity {
    started: Instant,
    /// Requests begun or ended; a change means the connection was not idle.
    events: AtomicU64,
    /// Requests whose response (body included) is not finished.
    in_flight: AtomicUsize,
    /// When the last request ended, in milliseconds after `started`.
    last_end_ms: AtomicU64,
    /// Woken when `in_flight` drops to zero.
    quiet: Notify,
    /// The connection speaks HTTP/2 (known from its first request).
    http2: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            events: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
            quiet: Notify::new(),
            http2: AtomicBool::new(false),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Completes when the connection has been quiet too long (see [`Quiet`]).
    ///
    /// A request is in flight from the moment hyper has its headers until its response body
    /// is finished or dropped; while none is, an HTTP/1 connection is waiting for the next
    /// request's headers, which is exactly what hyper's own `header_read_timeout` measures.
    async fn quiet(&self, header: Duration, idle: Duration) -> Quiet {
        // wake at least this often, so that a request during a long wait moves the deadline
        let step = header.min(idle);
        loop {
            let seen = self.events.load(Ordering::Acquire);
            let (deadline, why) = if seen == 0 {
                (self.started + header, Quiet::NoRequest)
            } else {
                let last_end = Duration::from_millis(self.last_end_ms.load(Ordering::Acquire));
                let limit = if self.http2.load(Ordering::Relaxed) {
                    idle
                } else {
                    header.min(idle)
                };
                (self.started + last_end + limit, Quiet::Idle)
            };
            tokio::time::sleep_until(deadline.min(Instant::now() + step)).await;
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.quiet.notified().await;
            } else if self.events.load(Ordering::Acquire) == seen && Instant::now() >= deadline {
                return why;
            }
        }
    }
}

/// A request in flight; dropped when its response is finished or abandoned.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let elapsed = u64::try_from(activity.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        activity.last_end_ms.store(elapsed, Ordering::Release);
        activity.events.fetch_add(1, Ordering::AcqRel);
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.quiet.notify_one();
        }
    }
}

/// The app as hyper calls it on one connection.
#[derive(Clone)]
struct ConnService {
    app: FlameService,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = TrackedFuture;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        if request.version() == http::Version::HTTP_2 {
            self.activity.http2.store(true, Ordering::Relaxed);
        }
        let in_flight = self.activity.begin();
        let timeout = self.body_read_timeout;
        let request = request.map(|body| Body::new(TimeoutBody::new(body, timeout)));
        TrackedFuture {
            inner: self.app.respond(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project! {
    /// The app's answer, still counted as in flight.
    struct TrackedFuture {
        #[pin]
        inner: ResponseFuture,
        in_flight: Option<InFlight>,
    }
}

impl Future for TrackedFuture {
    type Output = Result<http::Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response: Response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return Poll::Pending,
        };
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            inner: body,
            _in_flight: in_flight,
        })))
    }
}

pin_project! {
    /// A response body that keeps its request in flight until it is finished or dropped, so a
    /// long download or an event stream never counts as idle.
    struct TrackedBody {
        #[pin]
        inner: Body,
        _in_flight: Option<InFlight>,
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// An accepted socket holding its place under the connection cap until it closes, upgraded
    /// (a WebSocket) or not, and failing a write that waits longer than the send timeout for
    /// the client to read.
    pub(crate) struct Counted {
        #[pin]
        stream: TcpStream,
        _permit: OwnedSemaphorePermit,
        _open: OpenConnection,
        send_timeout: Duration,
        // Armed when a write first finds the socket full, disarmed when a write goes through;
        // boxed and kept, so a client that reads slowly costs one allocation, not one per
        // stall, and one that keeps up never arms it.
        stalled: Option<Pin<Box<tokio::time::Sleep>>>,
        armed: bool,
    }
}

impl Counted {
    pub(crate) fn new(
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        open: OpenConnection,
        send_timeout: Duration,
    ) -> Self {
        Self {
            stream,
            _permit: permit,
            _open: open,
            send_timeout,
            stalled: None,
            armed: false,
        }
    }

    /// Tracks a write against the send timeout: a pending write arms the deadline (once per
    /// stall) and fails when it passes; a write that goes through disarms it.
    fn watch_write<T>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let this = self.project();
        match write(this.stream, cx) {
            Poll::Pending => {
                let deadline = Instant::now() + *this.send_timeout;
                let stalled = this
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if !*this.armed {
                    stalled.as_mut().reset(deadline);
                    *this.armed = true;
                }
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client read nothing for the send timeout",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                *this.armed = false;
                ready
            }
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().stream.poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.watch_write(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.watch_write(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_shutdown(cx)
    }
}
