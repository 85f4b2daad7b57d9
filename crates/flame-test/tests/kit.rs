//! The test kit through its public API: a real server, one-call requests, the startup check,
//! in-process calls, and an actor client on a real stateful actor.

use flame_core::{Context, Flame, Form, HttpError, Json, Query, StatusCode};
use flame_stateful::transport::{self, TransportConfig};
use flame_test::{ClientError, TestServer, assert_checked, call};
use flame_test_support::{Log, memory_system};

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct Todo {
    title: String,
}

#[derive(Clone)]
struct Greeting(&'static str);

fn app() -> Flame {
    let mut f = Flame::new();
    f.map(Greeting("hello"));
    f.get("/greet", |g: Greeting| g.0);
    f.post("/todos", |Json(todo): Json<Todo>| {
        (StatusCode::CREATED, Json(todo))
    });
    f.post("/form", |Form(todo): Form<Todo>| todo.title);
    f.get("/search", |Query(todo): Query<Todo>| todo.title);
    f.get("/header", |c: Context| {
        c.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned()
    });
    f.get("/old", |c: Context| c.redirect("/greet"));
    f.delete("/todos/{id}", || {
        Err::<(), _>(HttpError::not_found("no such todo"))
    });
    f
}

#[tokio::test]
async fn one_call_gives_status_headers_and_body() {
    let server = TestServer::start(app()).await;
    let answer = server.get("/greet").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.text(), "hello");

    let created = server
        .post("/todos")
        .json(&Todo {
            title: "milk".into(),
        })
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Todo>().title, "milk");

    let form = server.post("/form").form(&[("title", "eggs")]).await;
    assert_eq!(form.text(), "eggs");
    let query = server.get("/search").query(&[("title", "tea")]).await;
    assert_eq!(query.text(), "tea");
    let bearer = server.get("/header").bearer("t0k").await;
    assert_eq!(bearer.text(), "Bearer t0k");

    // Redirects are not followed: the test sees them.
    let old = server.get("/old").await;
    assert_eq!(old.status(), StatusCode::FOUND);
    assert_eq!(old.header("location"), Some("/greet"));

    // The framework's JSON errors read back as ErrorBody.
    let missing = server.delete("/todos/3").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.error().error.code, "not_found");
    let refused = server
        .post("/todos")
        .header("content-type", "application/json")
        .body("{")
        .await;
    assert_eq!(
        (
            refused.status().as_u16(),
            refused.error().error.code.as_ref()
        ),
        (400, "malformed_body")
    );
    server.stop().await;
}

#[tokio::test]
#[should_panic(expected = "GET /needs-db: the 0th handler")]
async fn a_missing_service_fails_the_test_at_start() {
    #[derive(Clone)]
    struct Db;
    let mut f = app();
    f.get("/needs-db", |_: Db| "never");
    TestServer::start(f).await;
}

#[test]
#[should_panic(expected = "which nothing provides")]
fn assert_checked_fails_on_a_missing_service() {
    #[derive(Clone)]
    struct Db;
    let mut f = Flame::new();
    f.get("/", |_: Db| "never");
    assert_checked(&f);
}

#[tokio::test]
async fn in_process_calls_need_no_socket() {
    let service = app().into_service();
    let request = http::Request::post("/todos")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"title":"rye"}"#))
        .unwrap();
    let answer = call(&service, request).await;
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.json::<Todo>().title, "rye");
}

#[tokio::test]
async fn an_actor_client_calls_a_stateful_actor() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let mut f = Flame::new();
    let _transport = transport::mount(&mut f, system, TransportConfig::default());
    let server = TestServer::start(f).await;

    let client = server
        .actor("counter", "kit", serde_json::json!({"token": "ok"}))
        .await
        .unwrap();
    assert_eq!(client.call::<i64>("increment", (2,)).await.unwrap(), 2);
    assert_eq!(client.call::<i64>("increment", (3,)).await.unwrap(), 5);
    client.close().await;

    let refused = server
        .actor("counter", "kit", serde_json::json!({"token": "bad"}))
        .await
        .unwrap_err();
    assert!(matches!(refused, ClientError::Rejected(_)), "{refused:?}");
    server.stop().await;
}
