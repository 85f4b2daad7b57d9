//! `Json<T>`, `Form<T>`, `Query<T>` and `RawBody` as plain handler arguments, over a real
//! socket: read and converted before the handler runs, bad input answered without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flame_core::{Context, Flame, Form, HandlerExt, Json, Query, RawBody, bind};
use flame_test_support::TestServer;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct NewTodo {
    title: String,
    #[serde(default)]
    done: bool,
}

#[derive(Debug, Deserialize)]
struct Page {
    page: u32,
}

#[derive(Clone)]
struct Ran(Arc<AtomicUsize>);

/// A named handler: a borrowed service and a typed body.
#[flame_core::handler]
fn named(ran: &Ran, Json(todo): Json<NewTodo>) -> String {
    ran.0.fetch_add(1, Ordering::SeqCst);
    format!("named {}", todo.title)
}

fn app(ran: &Ran) -> Flame {
    let mut f = Flame::new();
    f.map(ran.clone());
    f.body_limit(1024);
    // an injected service and a typed body side by side, async
    f.post("/todos", |ran: Ran, Json(todo): Json<NewTodo>| async move {
        ran.0.fetch_add(1, Ordering::SeqCst);
        format!("created {} done={}", todo.title, todo.done)
    });
    f.post("/named", named);
    // sync handlers, every kind of data
    f.post("/form", |Form(todo): Form<NewTodo>| {
        format!("form {}", todo.title)
    });
    f.get("/page", |Query(p): Query<Page>| format!("page {}", p.page));
    f.post("/raw", |RawBody(body): RawBody| {
        format!("{} bytes", body.len())
    });
    // two arguments reading the one body, in a middleware and the handler
    f.post(
        "/twice",
        (
            (|c: Context, Json(todo): Json<NewTodo>| async move {
                c.map(todo.title);
                c.next().await;
            })
            .provides::<String>(),
            |first: String, Json(again): Json<NewTodo>| format!("{first}/{}", again.title),
        ),
    );
    // the binder still works, and the argument takes its value
    f.post(
        "/bound",
        (bind::json::<NewTodo>(), |Json(todo): Json<NewTodo>| {
            todo.title
        }),
    );
    f
}

async fn post(server: &TestServer, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

#[tokio::test]
async fn typed_bodies_are_plain_arguments() {
    let ran = Ran(Arc::default());
    let f = app(&ran);
    assert!(f.check().is_ok(), "no binder needed: {:?}", f.check());
    let server = TestServer::start(f).await;
    let json = "application/json";

    assert_eq!(
        post(&server, "/todos", json, r#"{"title":"milk"}"#).await,
        (200, "created milk done=false".into())
    );
    assert_eq!(
        post(
            &server,
            "/form",
            "application/x-www-form-urlencoded",
            "title=eggs&done=true"
        )
        .await,
        (200, "form eggs".into())
    );
    let page = reqwest::get(server.url("/page?page=3")).await.expect("get");
    assert_eq!(page.text().await.expect("body"), "page 3");
    assert_eq!(
        post(&server, "/raw", "text/plain", "12345").await,
        (200, "5 bytes".into())
    );
    assert_eq!(
        post(&server, "/twice", json, r#"{"title":"tea"}"#).await,
        (200, "tea/tea".into())
    );
    assert_eq!(
        post(&server, "/bound", json, r#"{"title":"jam"}"#).await,
        (200, "jam".into())
    );
    assert_eq!(
        post(&server, "/named", json, r#"{"title":"rye"}"#).await,
        (200, "named rye".into())
    );
    assert_eq!(ran.0.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_refused_before_the_handler_runs() {
    let ran = Ran(Arc::default());
    let server = TestServer::start(app(&ran)).await;
    let json = "application/json";

    let (status, body) = post(&server, "/todos", "text/plain", r#"{"title":"x"}"#).await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = post(&server, "/todos", json, r#"{"title":"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.starts_with(r#"{"error":{"code":"malformed_body","message":"malformed JSON"#),
        "{body}"
    );
    let (status, body) = post(&server, "/todos", json, r#"{"done":true}"#).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("title"), "{body}");
    let (status, _) = post(&server, "/todos", json, &"x".repeat(2048)).await;
    assert_eq!(status, 413);
    let (status, _) = post(
        &server,
        "/form",
        "application/x-www-form-urlencoded",
        "done=yes",
    )
    .await;
    assert_eq!(status, 422);
    let page = reqwest::get(server.url("/page?page=many"))
        .await
        .expect("get");
    assert_eq!(page.status(), 400);
    let (status, _) = post(&server, "/raw", "text/plain", &"x".repeat(2048)).await;
    assert_eq!(status, 413);
    let (status, _) = post(&server, "/named", json, "[]").await;
    assert_eq!(status, 422);
    assert_eq!(ran.0.load(Ordering::SeqCst), 0, "the handler never ran");
    server.stop().await;
}

/// A missing injected service is still reported by the startup check next to a body.
#[test]
fn the_startup_check_sees_the_services_next_to_a_body() {
    let mut f = Flame::new();
    f.post("/todos", |_ran: Ran, Json(_todo): Json<NewTodo>| "ok");
    let report = f.check();
    assert!(!report.is_ok(), "Ran is not mapped");
    let text = format!("{report:?}");
    assert!(text.contains("Ran"), "{text}");
    assert!(!text.contains("NewTodo"), "a body is not a service: {text}");
}
