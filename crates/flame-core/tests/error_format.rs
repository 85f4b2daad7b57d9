//! One error format: which error answers how by default, and one `ReturnHandler` that
//! renders every framework error, over a real loopback socket.

use flame_core::{
    Context, ErrorBody, ErrorFormat, Flame, HttpError, Json, Reply, ReturnHandler, StatusCode, bind,
};
use flame_test_support::TestServer;

#[derive(Debug, serde::Deserialize)]
struct Todo {
    title: String,
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    rendered_by: Option<String>,
    body: String,
}

impl Answer {
    fn error(&self) -> ErrorBody {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    json: Option<&str>,
) -> Answer {
    let client = reqwest::Client::new();
    let mut request = client.request(method, server.url(path));
    if let Some(json) = json {
        request = request
            .header("content-type", "application/json")
            .body(json.to_owned());
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        allow: header("allow"),
        rendered_by: header("x-rendered-by"),
        body: response.text().await.unwrap(),
    }
}

fn routes(f: &mut Flame) {
    f.get("/own-error", || Err::<(), _>("the disk is full"));
    f.get("/http-error", || {
        Err::<(), _>(HttpError::conflict("the title is taken").with_code("title_taken"))
    });
    f.post("/todos", |Json(todo): Json<Todo>| todo.title);
    f.post(
        "/bound",
        (bind::json::<Todo>(), |Json(todo): Json<Todo>| todo.title),
    );
}

#[tokio::test]
async fn each_error_answers_in_its_documented_default_format() {
    let mut f = Flame::new();
    routes(&mut f);
    let server = TestServer::start(f).await;
    use reqwest::Method;

    // A handler's own error: Flamego's text.
    let own = send(&server, Method::GET, "/own-error", None).await;
    assert_eq!((own.status, own.body.as_str()), (500, "the disk is full"));
    assert_eq!(
        own.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );

    // HttpError: the JSON shape.
    let http = send(&server, Method::GET, "/http-error", None).await;
    assert_eq!(http.status, 409);
    assert_eq!(http.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        http.body,
        r#"{"error":{"code":"title_taken","message":"the title is taken"}}"#
    );

    // Body arguments and binders: the JSON shape.
    for path in ["/todos", "/bound"] {
        let wrong = send(&server, Method::POST, path, Some(r#"{"title":3}"#)).await;
        assert_eq!(wrong.status, 422, "{path}");
        assert_eq!(wrong.error().error.code, "invalid_body", "{path}");
        let malformed = send(&server, Method::POST, path, Some("{")).await;
        assert_eq!(malformed.status, 400, "{path}");
        assert_eq!(malformed.error().error.code, "malformed_body", "{path}");
    }

    // No route, or only another method's route: Flamego's 404, byte for byte.
    for (method, path) in [(Method::GET, "/nowhere"), (Method::GET, "/todos")] {
        let missing = send(&server, method, path, None).await;
        assert_eq!(
            (missing.status, missing.body.as_str()),
            (404, "404 page not found\n")
        );
        assert_eq!(missing.allow, None);
    }
    server.stop().await;
}

#[tokio::test]
async fn method_not_allowed_answers_405_with_allow_when_asked() {
    let mut f = Flame::new();
    f.method_not_allowed(true);
    f.get("/items/{id}", || "item");
    f.delete("/items/{id}", || "deleted");
    f.get("/other", || "other");
    let server = TestServer::start(f).await;
    let wrong = send(&server, reqwest::Method::POST, "/items/3", None).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.allow.as_deref(), Some("GET, DELETE"));
    assert_eq!(wrong.error().error.code, "method_not_allowed");
    let nowhere = send(&server, reqwest::Method::POST, "/nowhere", None).await;
    assert_eq!(
        (nowhere.status, nowhere.body.as_str()),
        (404, "404 page not found\n")
    );
    assert_eq!(
        send(&server, reqwest::Method::GET, "/items/3", None)
            .await
            .body,
        "item"
    );
    server.stop().await;
}

/// The one override: every error reply in JSON, marked so the test can tell it ran.
fn json_everywhere() -> ReturnHandler {
    ReturnHandler::new(|c: &Context, reply: Reply| {
        if reply.is_error() {
            reply
                .with_error_format(ErrorFormat::Json)
                .with_header("x-rendered-by", "override")
                .write_to(c);
        } else {
            reply.write_to(c);
        }
    })
}

#[tokio::test]
async fn one_return_handler_renders_every_framework_error() {
    let mut f = Flame::new();
    f.method_not_allowed(true);
    f.map(json_everywhere());
    routes(&mut f);
    let server = TestServer::start(f).await;
    use reqwest::Method;
    let cases: [(Method, &str, Option<&str>, u16, &str); 8] = [
        (Method::GET, "/own-error", None, 500, "internal_error"),
        (Method::GET, "/http-error", None, 409, "title_taken"),
        (Method::POST, "/todos", Some("{"), 400, "malformed_body"),
        (Method::POST, "/todos", Some("{}"), 422, "invalid_body"),
        (Method::POST, "/bound", Some("{}"), 422, "invalid_body"),
        (Method::POST, "/todos", None, 415, "unsupported_media_type"),
        (Method::GET, "/nowhere", None, 404, "not_found"),
        (Method::GET, "/todos", None, 405, "method_not_allowed"),
    ];
    for (method, path, body, status, code) in cases {
        let answer = send(&server, method.clone(), path, body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert_eq!(
            answer.rendered_by.as_deref(),
            Some("override"),
            "{method} {path}"
        );
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json"),
            "{method} {path}"
        );
        assert_eq!(answer.error().error.code, code, "{method} {path}");
    }
    let ok = send(&server, Method::POST, "/todos", Some(r#"{"title":"milk"}"#)).await;
    assert_eq!(
        (ok.status, ok.rendered_by, ok.body.as_str()),
        (200, None, "milk")
    );
    server.stop().await;
}

#[tokio::test]
async fn an_override_can_keep_flamego_text_for_everything() {
    let mut f = Flame::new();
    f.map(ReturnHandler::new(|c: &Context, reply: Reply| {
        reply.with_error_format(ErrorFormat::Text).write_to(c);
    }));
    routes(&mut f);
    let server = TestServer::start(f).await;
    let http = send(&server, reqwest::Method::GET, "/http-error", None).await;
    assert_eq!(
        (http.status, http.body.as_str()),
        (409, "the title is taken")
    );
    assert_eq!(
        http.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let missing = send(&server, reqwest::Method::GET, "/nowhere", None).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "404 page not found\n")
    );
    server.stop().await;
}

#[test]
fn a_reply_keeps_its_code_fields_and_headers_through_status_changes() {
    let reply = Reply::json_error(StatusCode::BAD_REQUEST, "bad_thing", "bad")
        .with_header("retry-after", "3")
        .with_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.is_error());
    assert_eq!(reply.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(reply.error_code().as_deref(), Some("bad_thing"));
    assert_eq!(reply.error_format(), Some(ErrorFormat::Json));
}
