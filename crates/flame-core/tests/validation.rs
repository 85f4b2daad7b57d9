//! `Valid<Json<T>>`, `Valid<Form<T>>`, `Valid<Query<T>>` over a real loopback socket: 422
//! with every broken rule's path (nested structs, list indices), and the handler never runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flame_core::{
    Context, ErrorBody, ErrorFormat, FieldError, Flame, Form, Json, Query, Reply, ReturnHandler,
    Valid,
};
use flame_test_support::TestServer;
use validator::Validate;

// Serialize: validator keeps a failing list's value among the rule's parameters.
#[derive(Debug, serde::Deserialize, serde::Serialize, Validate)]
struct Item {
    #[validate(length(min = 1, max = 40))]
    name: String,
    #[validate(range(min = 1, max = 99))]
    quantity: u32,
}

#[derive(Debug, serde::Deserialize, Validate)]
struct Customer {
    #[validate(email)]
    email: String,
}

#[derive(Debug, serde::Deserialize, Validate)]
struct Order {
    #[validate(nested)]
    customer: Customer,
    #[validate(length(min = 1), nested)]
    items: Vec<Item>,
}

#[derive(Debug, serde::Deserialize, Validate)]
struct Signup {
    #[validate(length(min = 3, message = "pick a longer name"))]
    name: String,
}

#[derive(Debug, serde::Deserialize, Validate)]
struct Page {
    #[validate(range(min = 1, max = 100))]
    per_page: u32,
}

#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

fn app(ran: &Ran) -> Flame {
    let mut f = Flame::new();
    f.map(ran.clone());
    f.post(
        "/orders",
        |Valid(Json(order)): Valid<Json<Order>>, ran: Ran| {
            ran.0.fetch_add(1, Ordering::SeqCst);
            format!("{} items for {}", order.items.len(), order.customer.email)
        },
    );
    f.post(
        "/signup",
        |Valid(Form(signup)): Valid<Form<Signup>>, ran: Ran| {
            ran.0.fetch_add(1, Ordering::SeqCst);
            signup.name
        },
    );
    f.get(
        "/items",
        |Valid(Query(page)): Valid<Query<Page>>, ran: Ran| {
            ran.0.fetch_add(1, Ordering::SeqCst);
            format!("{} per page", page.per_page)
        },
    );
    f
}

async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn error(body: &str) -> ErrorBody {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn a_valid_order_reaches_the_handler() {
    let ran = Ran::default();
    let server = TestServer::start(app(&ran)).await;
    let client = reqwest::Client::new();
    let order = serde_json::json!({
        "customer": {"email": "ada@example.com"},
        "items": [{"name": "tea", "quantity": 2}],
    });
    let answer = send(client.post(server.url("/orders")).json(&order)).await;
    assert_eq!(answer, (200, "1 items for ada@example.com".to_owned()));
    assert_eq!(ran.0.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn broken_rules_answer_422_with_nested_paths_and_list_indices() {
    let ran = Ran::default();
    let server = TestServer::start(app(&ran)).await;
    let client = reqwest::Client::new();
    let order = serde_json::json!({
        "customer": {"email": "not an address"},
        "items": [
            {"name": "tea", "quantity": 2},
            {"name": "", "quantity": 0},
            {"name": "x".repeat(41), "quantity": 1},
        ],
    });
    let (status, body) = send(client.post(server.url("/orders")).json(&order)).await;
    assert_eq!(status, 422, "{body}");
    let answer = error(&body);
    assert_eq!(answer.error.code, "validation_failed");
    assert_eq!(answer.error.message, "4 fields are not valid");
    assert_eq!(
        answer.error.fields,
        vec![
            FieldError::new("customer.email", "email", "must be an e-mail address"),
            FieldError::new("items[1].name", "length", "must be 1 to 40 characters long"),
            FieldError::new("items[1].quantity", "range", "must be 1 to 99"),
            FieldError::new("items[2].name", "length", "must be 1 to 40 characters long"),
        ]
    );
    // A rule on the list itself has the list's path.
    let empty = serde_json::json!({"customer": {"email": "ada@example.com"}, "items": []});
    let (status, body) = send(client.post(server.url("/orders")).json(&empty)).await;
    assert_eq!(status, 422);
    assert_eq!(
        error(&body).error.fields,
        vec![FieldError::new(
            "items",
            "length",
            "must be at least 1 characters long"
        )]
    );
    // Input that does not read is refused as Json<T> refuses it, before any rule runs.
    let (status, body) = send(
        client
            .post(server.url("/orders"))
            .header("content-type", "application/json")
            .body(r#"{"customer":{}}"#),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error(&body).error.code, "invalid_body");
    assert_eq!(ran.0.load(Ordering::SeqCst), 0, "the handler never ran");
    server.stop().await;
}

#[tokio::test]
async fn forms_and_queries_are_validated_too() {
    let ran = Ran::default();
    let server = TestServer::start(app(&ran)).await;
    let client = reqwest::Client::new();
    let form = |body: &'static str| {
        client
            .post(server.url("/signup"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let (status, body) = send(form("name=al")).await;
    assert_eq!(status, 422);
    assert_eq!(
        error(&body).error.fields,
        vec![FieldError::new("name", "length", "pick a longer name")]
    );
    assert_eq!(send(form("name=ada")).await, (200, "ada".to_owned()));

    let (status, body) = send(client.get(server.url("/items?per_page=500"))).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body).error.fields[0].path, "per_page");
    let (status, body) = send(client.get(server.url("/items?per_page=lots"))).await;
    assert_eq!(
        (status, error(&body).error.code.as_ref()),
        (400, "invalid_query")
    );
    assert_eq!(
        send(client.get(server.url("/items?per_page=20"))).await,
        (200, "20 per page".to_owned())
    );
    assert_eq!(ran.0.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_return_handler_sees_the_fields() {
    let ran = Ran::default();
    let mut f = app(&ran);
    f.map(ReturnHandler::new(|c: &Context, reply: Reply| {
        let paths: Vec<String> = reply
            .error_fields()
            .iter()
            .map(|f| f.path.clone())
            .collect();
        if paths.is_empty() {
            reply.write_to(c);
        } else {
            reply
                .with_error_format(ErrorFormat::Text)
                .with_header("x-invalid", &paths.join(","))
                .write_to(c);
        }
    }));
    let server = TestServer::start(f).await;
    let response = reqwest::get(server.url("/items?per_page=0")).await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()["x-invalid"], "per_page");
    assert_eq!(response.text().await.unwrap(), "1 field is not valid");
    server.stop().await;
}
