//! Recording: requests whose chain finishes at once and requests that wait are both counted,
//! and requests recorded on many threads add up in one scrape.

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
async fn synchronous_and_asynchronous_handlers_are_both_counted_with_their_durations() {
    let metrics = Metrics::new();
    let mut f = Flame::new();
    f.use_(metrics.middleware());
    f.get("/sync", || "now");
    f.get("/async", || async {
        tokio::task::yield_now().await;
        "later"
    });
    let service = f.into_service();
    for path in ["/sync", "/async", "/sync", "/async", "/async"] {
        let response = service.clone().oneshot(request(Method::GET, path)).await;
        assert!(response.is_ok_and(|r| r.status() == 200));
    }
    let text = metrics.render();
    for (route, n) in [("/sync", 2), ("/async", 3)] {
        assert!(
            text.contains(&format!(
                r#"flame_http_requests_total{{method="GET",route="{route}",status="200"}} {n}"#
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                r#"flame_http_request_duration_seconds_count{{method="GET",route="{route}"}} {n}"#
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                r#"flame_http_request_duration_seconds_bucket{{le="+Inf",method="GET",route="{route}"}} {n}"#
            )),
            "{text}"
        );
    }
    assert!(text.contains("flame_http_requests_in_flight 0"), "{text}");
}

#[test]
fn requests_on_many_threads_add_up_in_one_scrape() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    let metrics = Metrics::new();
    let mut f = Flame::new();
    f.use_(metrics.middleware());
    f.get("/", || "hi");
    f.post("/", || async {
        tokio::task::yield_now().await;
        "posted"
    });
    let service = f.into_service();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..400 {
            let service = service.clone();
            let method = if i % 4 == 0 {
                Method::POST
            } else {
                Method::GET
            };
            tasks.push(tokio::spawn(async move {
                service.oneshot(request(method, "/")).await
            }));
        }
        for task in tasks {
            assert!(task.await.is_ok_and(|r| r.is_ok()));
        }
    });
    let text = metrics.render();
    assert!(
        text.contains(r#"flame_http_requests_total{method="GET",route="/",status="200"} 300"#),
        "{text}"
    );
    assert!(
        text.contains(r#"flame_http_requests_total{method="POST",route="/",status="200"} 100"#),
        "{text}"
    );
    assert!(
        text.contains(r#"flame_http_request_duration_seconds_count{method="GET",route="/"} 300"#),
        "{text}"
    );
    assert!(text.contains("flame_http_requests_in_flight 0"), "{text}");
}
