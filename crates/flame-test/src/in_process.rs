//! Calling an app without a socket, and the startup check on its own.

use axum::body::Body;
use flame_core::{Flame, FlameService};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::response::TestResponse;

/// Fails the test when a handler of `f` needs a type that nothing provides, listing every
/// route, handler and type ([`Flame::check`]); [`TestServer::start`](crate::TestServer::start)
/// calls it.
///
/// ```
/// use flame_core::Flame;
///
/// #[derive(Clone)]
/// struct Db;
///
/// let mut f = Flame::new();
/// f.map(Db);
/// f.get("/", |_: Db| "ok");
/// flame_test::assert_checked(&f);
/// ```
///
/// # Panics
///
/// When the check finds a missing dependency.
#[track_caller]
pub fn assert_checked(f: &Flame) {
    let report = f.check();
    assert!(
        report.is_ok(),
        "the startup check failed: a handler needs a type that nothing provides\n{report}"
    );
}

/// Sends `request` to `service` in-process (no socket, no connection info) and reads the
/// whole answer: for apps mounted in axum, or when a socket is not the point.
///
/// ```
/// use flame_core::Flame;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut f = Flame::new();
/// f.get("/", || "in-process");
/// let service = f.into_service();
/// let request = http::Request::get("/").body(axum::body::Body::empty()).unwrap();
/// let answer = flame_test::call(&service, request).await;
/// assert_eq!(answer.text(), "in-process");
/// # }
/// ```
///
/// # Panics
///
/// When the body cannot be read.
pub async fn call(service: &FlameService, request: http::Request<Body>) -> TestResponse {
    let Ok(response) = service.clone().oneshot(request).await;
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => TestResponse::new(parts.status, parts.headers, collected.to_bytes()),
        Err(e) => panic!("reading the answer failed (status {}): {e}", parts.status),
    }
}
