//! The todos example: typed bodies and query strings as plain arguments, over a real socket.

mod common;

use common::TestServer;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../todos.rs"]
mod todos;

async fn post(server: &TestServer, path: &str, body: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

#[tokio::test]
async fn a_todo_api_with_typed_bodies() {
    let f = todos::app();
    assert!(f.check().is_ok(), "{:?}", f.check());
    let server = TestServer::start(f).await;

    let (status, body) = post(&server, "/todos", r#"{"title":"milk"}"#).await;
    assert_eq!(status, 201);
    let created: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(created, json!({"id": 1, "title": "milk", "done": false}));
    post(&server, "/todos", r#"{"title":"eggs"}"#).await;
    assert_eq!(post(&server, "/todos/done", r#"{"id":2}"#).await.0, 200);
    assert_eq!(post(&server, "/todos/done", r#"{"id":9}"#).await.0, 404);

    let open: Value = reqwest::get(server.url("/todos?done=false"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(open, json!([{"id": 1, "title": "milk", "done": false}]));

    // bad input never reaches the store
    assert_eq!(
        post(&server, "/todos", r#"{"title":"  "}"#).await,
        (422, "the title is empty".to_owned())
    );
    assert_eq!(post(&server, "/todos", "{}").await.0, 422);
    assert_eq!(post(&server, "/todos", "{").await.0, 400);
    let wrong_type = reqwest::Client::new()
        .post(server.url("/todos"))
        .body(r#"{"title":"x"}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(wrong_type.status(), 415);
    let all = reqwest::get(server.url("/todos?done=maybe"))
        .await
        .expect("get");
    assert_eq!(all.status(), 400);
    let all: Value = reqwest::get(server.url("/todos"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    server.stop().await;
}
