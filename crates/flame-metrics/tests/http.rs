//! The HTTP metrics as a scrape sees them: labels that stay bounded and the in-flight gauge
//! after a cancelled request.

use std::sync::Arc;

use axum::body::Body;
use flame_core::Flame;
use flame_metrics::Metrics;
use http::{Method, Request};
use tower::ServiceExt;

fn request(method: Method, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .expect("a request")
}

#[tokio::test]
async fn methods_outside_the_standard_nine_share_one_label() {
    let metrics = Metrics::new();
    let mut f = Flame::new();
    f.use_(metrics.middleware());
    f.get("/", || "hi");
    let service = f.into_service();
    for method in ["PURGE", "BREW", "X-ANYTHING"] {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let response = service.clone().oneshot(request(method, "/")).await;
        assert!(response.is_ok());
    }
    let text = metrics.render();
    assert!(
        text.contains(
            r#"flame_http_requests_total{method="OTHER",route="unmatched",status="404"} 3"#
        ),
        "{text}"
    );
    assert!(!text.contains("PURGE") && !text.contains("BREW"), "{text}");
}

#[tokio::test]
async fn a_cancelled_request_leaves_the_in_flight_gauge() {
    let metrics = Metrics::new();
    let started = Arc::new(tokio::sync::Notify::new());
    let mut f = Flame::new();
    f.use_(metrics.middleware());
    let signal = started.clone();
    f.get("/hang", move || {
        let signal = signal.clone();
        async move {
            signal.notify_one();
            std::future::pending::<()>().await;
        }
    });
    let service = f.into_service();
    let task = tokio::spawn(service.oneshot(request(Method::GET, "/hang")));
    started.notified().await;
    assert!(metrics.render().contains("flame_http_requests_in_flight 1"));

    // the client went away: the request's future is dropped mid-way
    task.abort();
    assert!(task.await.is_err_and(|e| e.is_cancelled()));
    let text = metrics.render();
    assert!(text.contains("flame_http_requests_in_flight 0"), "{text}");
    // a request that never finished has no status to count
    assert!(!text.contains(r#"route="/hang""#), "{text}");
}
