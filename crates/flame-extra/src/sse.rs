//! Server-sent events as a handler's return value (flamego/sse), on axum's SSE encoder.
//!
//! ```
//! use std::time::Duration;
//! use flame_core::Flame;
//! use flame_extra::sse::{Event, Sse};
//! use futures_util::stream;
//!
//! let mut f = Flame::new();
//! f.get("/ticks", || {
//!     let ticks = stream::unfold(0u64, |n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Some((Event::default().event("tick").data(n.to_string()), n + 1))
//!     });
//!     Sse::new(ticks)
//! });
//! ```
//!
//! The response is `200` with `content-type: text/event-stream`, `cache-control: no-cache`
//! and `x-accel-buffering: no` (so that nginx passes events on as they come). While the stream
//! has nothing to send, a comment (`: ping`) goes out every [`DEFAULT_KEEP_ALIVE`], which keeps
//! proxies from closing an idle connection and finds clients that went away: when the client
//! disconnects, the next write fails and the stream is dropped, so whatever it holds (a
//! subscription, a channel receiver) is released.
//!
//! Graceful shutdown waits for open connections, and a stream that never ends keeps its
//! connection open: end long-lived streams on shutdown (for example with
//! `StreamExt::take_until` on a shutdown signal).

use std::time::Duration;

use axum::response::IntoResponse as _;
use flame_core::{Reply, Return};
use futures_util::{Stream, StreamExt as _};

pub use axum::response::sse::{Event, KeepAlive};

/// How often a keep-alive comment is sent by default while no event is: 10 seconds, as
/// Flamego's sse middleware pings.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A stream of [`Event`]s as a response. It becomes one inside a tokio runtime (the
/// keep-alive timer needs one), as every handler runs.
///
/// ```
/// use flame_core::{Return, StatusCode};
/// use flame_extra::sse::{Event, Sse};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let reply = Sse::new(futures_util::stream::iter([Event::default().data("hi")])).into_reply();
/// assert_eq!(reply.status(), Some(StatusCode::OK));
/// # }
/// ```
#[derive(Debug)]
pub struct Sse<S> {
    stream: S,
    keep_alive: Option<KeepAlive>,
}

impl<S> Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    /// Sends the events of `stream`, with a `: ping` comment every [`DEFAULT_KEEP_ALIVE`] while
    /// it is quiet.
    ///
    /// ```
    /// # use flame_extra::sse::{Event, Sse};
    /// let sse = Sse::new(futures_util::stream::empty::<Event>());
    /// ```
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            keep_alive: Some(KeepAlive::new().interval(DEFAULT_KEEP_ALIVE).text("ping")),
        }
    }

    /// Replaces the keep-alive (its interval and its comment text).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use flame_extra::sse::{Event, KeepAlive, Sse};
    /// let sse = Sse::new(futures_util::stream::empty::<Event>())
    ///     .keep_alive(KeepAlive::new().interval(Duration::from_secs(30)));
    /// ```
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// Sends no keep-alive comments: a client that went away is then noticed only at the
    /// next event.
    ///
    /// ```
    /// # use flame_extra::sse::{Event, Sse};
    /// let sse = Sse::new(futures_util::stream::empty::<Event>()).without_keep_alive();
    /// ```
    pub fn without_keep_alive(mut self) -> Self {
        self.keep_alive = None;
        self
    }
}

impl<S> Return for Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    fn into_reply(self) -> Reply {
        let events = self.stream.map(Ok::<_, std::convert::Infallible>);
        let sse = axum::response::Sse::new(events);
        let mut response = match self.keep_alive {
            Some(keep_alive) => sse.keep_alive(keep_alive).into_response(),
            None => sse.into_response(),
        };
        response.headers_mut().insert(
            http::HeaderName::from_static("x-accel-buffering"),
            http::HeaderValue::from_static("no"),
        );
        Reply::response(response)
    }
}
