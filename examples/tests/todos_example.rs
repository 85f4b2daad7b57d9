//! The todos example: typed, validated bodies and query strings as plain arguments, over a
//! real socket, with the public test kit.

use flame_core::FieldError;
use flame_test::TestServer;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../todos.rs"]
mod todos;

#[tokio::test]
async fn a_todo_api_with_typed_bodies() {
    let server = TestServer::start(todos::app()).await; // the startup check runs here

    let created = server.post("/todos").json(&json!({"title": "milk"})).await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.json::<Value>(),
        json!({"id": 1, "title": "milk", "done": false})
    );
    server.post("/todos").json(&json!({"title": "eggs"})).await;
    assert_eq!(
        server
            .post("/todos/done")
            .json(&json!({"id": 2}))
            .await
            .status(),
        200
    );
    let missing = server.post("/todos/done").json(&json!({"id": 9})).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.error().error.code, "not_found");

    let open = server.get("/todos?done=false").await;
    assert_eq!(
        open.json::<Value>(),
        json!([{"id": 1, "title": "milk", "done": false}])
    );

    // bad input never reaches the store
    let blank = server.post("/todos").json(&json!({"title": "  "})).await;
    assert_eq!(blank.status(), 422);
    assert_eq!(
        blank.error().error.fields,
        vec![FieldError::new("title", "blank", "the title is empty")]
    );
    let long = server
        .post("/todos")
        .json(&json!({"title": "x".repeat(201)}))
        .await;
    assert_eq!(long.error().error.fields[0].code, "length");
    assert_eq!(server.post("/todos").json(&json!({})).await.status(), 422);
    let malformed = server
        .post("/todos")
        .header("content-type", "application/json")
        .body("{")
        .await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        server
            .post("/todos")
            .body(r#"{"title":"x"}"#)
            .await
            .status(),
        415
    );
    assert_eq!(server.get("/todos?done=maybe").await.status(), 400);
    assert_eq!(server.get("/todos").await.json::<Vec<Value>>().len(), 2);
    server.stop().await;
}
