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

async fn json_of(service: &flame_core::FlameService, path: &str) -> serde_json::Value {
    let response = service
        .clone()
        .oneshot(request(Method::GET, path))
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200, "{path}");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    serde_json::from_slice(&body).expect("json")
}

#[derive(Clone)]
struct Db;

#[derive(Clone)]
struct Mailer;

/// The inspector shows the services mapped and the startup check as they were at mount:
/// a handler whose argument nothing provides is listed with its route and type.
#[tokio::test]
async fn the_inspector_shows_the_services_and_what_the_startup_check_found() {
    let mut f = Flame::new();
    f.map(Db);
    f.get("/users", |_: Db| "users");
    f.post("/mail", |_: Db, _: Mailer| "sent");
    flame_metrics::Inspector::new()
        .env(flame_core::Env::Development)
        .mount(&mut f);
    let service = f.into_service();

    let services = json_of(&service, "/_flame/api/services").await;
    assert_eq!(
        services["services"],
        serde_json::json!([std::any::type_name::<Db>()])
    );
    assert_eq!(services["next"], serde_json::Value::Null);

    let check = json_of(&service, "/_flame/api/check").await;
    assert_eq!(check["ok"], false);
    assert_eq!(check["total"], 1);
    let missing = &check["missing"][0];
    assert_eq!(missing["route"], "POST /mail");
    assert_eq!(missing["ordinal"], 0);
    assert_eq!(missing["type"], std::any::type_name::<Mailer>());
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("which nothing provides")),
        "{check}"
    );

    // without an actor system there are no commits to show
    let commits = json_of(&service, "/_flame/api/commits").await;
    assert_eq!(commits["enabled"], false);
}
