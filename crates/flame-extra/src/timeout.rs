//! A deadline for handling a request, on tower-http's `TimeoutLayer`: past it, the handler's
//! future is dropped and the client gets `408 Request Timeout` with an empty body.
//!
//! ```
//! use std::time::Duration;
//! use flame_core::Flame;
//!
//! let mut f = Flame::new();
//! f.layer(flame_extra::timeout::request_timeout(Duration::from_secs(30)));
//! f.get("/", || "hello");
//! ```
//!
//! The deadline covers the time until the response's head is ready, not the streaming of a
//! body (an SSE stream or a download is not cut off by it); the server's own header and body
//! read timeouts are separate.

use std::time::Duration;

use http::StatusCode;
use tower_http::timeout::TimeoutLayer;

/// Answers `408 Request Timeout` when a request is not handled within `duration`.
///
/// ```
/// use std::time::Duration;
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.get("/report", || "report")
///     .layer(flame_extra::timeout::request_timeout(Duration::from_secs(5)));
/// ```
pub fn request_timeout(duration: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, duration)
}
