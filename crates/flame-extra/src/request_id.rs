//! Request ids on tower-http's request-id layers: each request gets an `x-request-id` (the
//! client's own when it sends one, else a new UUID v4), handlers can read it, and the response
//! carries it back.
//!
//! ```
//! use flame_core::{Context, Flame};
//!
//! let mut f = Flame::new();
//! f.layer(flame_extra::request_id::x_request_id());
//! f.get("/", |c: Context| flame_extra::request_id::get(&c).unwrap_or_default());
//! ```
//!
//! Add it first (outermost) so that every answer carries the id, even one a later layer
//! gives by itself (a CORS preflight, a 408). A client-sent id is passed on as it is: log it,
//! but do not trust it to be unique.

use flame_core::Context;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

/// The layer [`x_request_id`] gives: tower-http's set and propagate layers, stacked.
pub type RequestIdLayer = ServiceBuilder<
    Stack<PropagateRequestIdLayer, Stack<SetRequestIdLayer<MakeRequestUuid>, Identity>>,
>;

/// Sets `x-request-id` on requests without one (a UUID v4) and copies it to the response.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.layer(flame_extra::request_id::x_request_id());
/// ```
pub fn x_request_id() -> RequestIdLayer {
    ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
}

/// The request's id, when [`x_request_id`] runs around the app and the id is text.
///
/// ```
/// use flame_core::{Context, Flame};
///
/// let mut f = Flame::new();
/// f.get("/", |c: Context| {
///     tracing::info!(request_id = ?flame_extra::request_id::get(&c), "hello");
///     "hello"
/// });
/// ```
pub fn get(c: &Context) -> Option<String> {
    c.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned)
}
