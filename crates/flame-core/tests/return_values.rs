//! Every return value a handler can give, and what it writes.

mod common;

use bytes::Bytes;
use common::{get, request, service};
use flame_core::{
    Axum, Context, Flame, HttpError, Json, Reply, Return, ReturnError, ReturnHandler, StatusCode,
};
use http::Method;

#[derive(Debug, thiserror::Error)]
#[error("order {0} not found")]
struct OrderNotFound(u32);

impl ReturnError for OrderNotFound {
    fn status(&self) -> StatusCode {
        StatusCode::NOT_FOUND
    }
}

struct Teapot;

impl Return for Teapot {
    fn into_reply(self) -> Reply {
        Reply::text("I'm a teapot")
            .with_status(StatusCode::IM_A_TEAPOT)
            .with_header("x-brew", "earl grey")
    }
}

fn app() -> Flame {
    let mut f = Flame::new();
    f.get("/unit", || {});
    f.get("/str", || "str");
    f.get("/string", || String::from("string"));
    f.get("/vec", || vec![1_u8, 2, 3]);
    f.get("/bytes", || Bytes::from_static(b"bytes"));
    f.get("/status-only", || StatusCode::NO_CONTENT);
    f.get("/status-body", || (StatusCode::CREATED, "made"));
    f.get("/u16-body", || (202, "accepted"));
    f.get("/u16-invalid", || (1000, "nope"));
    f.get("/status-empty", || (StatusCode::ACCEPTED, ""));
    f.get("/status-err", || {
        (
            StatusCode::FORBIDDEN,
            Err::<(), _>(std::io::Error::other("denied")),
        )
    });
    f.get("/status-ok", || {
        (StatusCode::FORBIDDEN, Ok::<_, std::io::Error>("fine"))
    });
    f.get("/result-ok", || Ok::<_, anyhow::Error>("ok"));
    f.get("/result-err", || Err::<&str, _>(anyhow::anyhow!("bad")));
    f.get("/result-unit", || Ok::<(), String>(()));
    f.get("/custom-error", || Err::<(), _>(OrderNotFound(7)));
    f.get("/http-error", || {
        Err::<(), _>(HttpError::bad_request("missing field"))
    });
    f.get("/json", || Json(serde_json::json!({"n": 1})));
    f.get("/axum", || {
        Axum((StatusCode::CREATED, [("x-made", "yes")], "axum"))
    });
    f.get("/option-none", || None::<&str>);
    f.get("/option-some", || Some("some"));
    f.get("/custom", || Teapot);
    f.get("/async-result", || async {
        Err::<(), _>(std::io::Error::other("async failure"))
    });
    f
}

#[tokio::test]
async fn each_return_value_writes_what_flamego_writes() {
    let svc = service(app());
    let cases: &[(&str, u16, &str)] = &[
        ("/unit", 200, ""),
        ("/str", 200, "str"),
        ("/string", 200, "string"),
        ("/vec", 200, "\u{1}\u{2}\u{3}"),
        ("/bytes", 200, "bytes"),
        ("/status-only", 204, ""),
        ("/status-body", 201, "made"),
        ("/u16-body", 202, "accepted"),
        ("/u16-invalid", 500, "invalid status code 1000"),
        ("/status-empty", 202, ""),
        ("/status-err", 403, "denied"),
        ("/status-ok", 403, "fine"),
        ("/result-ok", 200, "ok"),
        ("/result-err", 500, "bad"),
        ("/result-unit", 200, ""),
        ("/custom-error", 404, "order 7 not found"),
        (
            "/http-error",
            400,
            r#"{"error":{"code":"bad_request","message":"missing field"}}"#,
        ),
        ("/json", 200, r#"{"n":1}"#),
        ("/axum", 201, "axum"),
        ("/option-none", 200, ""),
        ("/option-some", 200, "some"),
        ("/custom", 418, "I'm a teapot"),
        ("/async-result", 500, "async failure"),
    ];
    for (path, status, body) in cases {
        assert_eq!(
            get(&svc, path).await,
            (*status, (*body).to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn content_types_follow_the_value() {
    let svc = service(app());
    let header = |answer: &common::Answer, name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let answer = request(&svc, Method::GET, "/str").await;
    assert_eq!(header(&answer, "content-type"), "text/plain; charset=utf-8");
    let answer = request(&svc, Method::GET, "/vec").await;
    assert_eq!(header(&answer, "content-type"), "application/octet-stream");
    let answer = request(&svc, Method::GET, "/json").await;
    assert_eq!(header(&answer, "content-type"), "application/json");
    let answer = request(&svc, Method::GET, "/axum").await;
    assert_eq!(header(&answer, "x-made"), "yes");
    let answer = request(&svc, Method::GET, "/custom").await;
    assert_eq!(header(&answer, "x-brew"), "earl grey");
    // A returned error is its text, as Flamego writes `err.Error()`: no `http.Error` headers.
    let answer = request(&svc, Method::GET, "/result-err").await;
    assert_eq!(header(&answer, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(header(&answer, "x-content-type-options"), "");
}

#[tokio::test]
async fn an_empty_body_writes_nothing_and_the_chain_goes_on() {
    let mut f = Flame::new();
    f.get(
        "/",
        (
            || "",
            || String::new(),
            || Vec::<u8>::new(),
            || (),
            || Ok::<(), String>(()),
            || "last",
        ),
    );
    f.get("/status-stops", (|| StatusCode::ACCEPTED, || "never"));
    let svc = service(f);
    assert_eq!(get(&svc, "/").await, (200, "last".into()));
    assert_eq!(get(&svc, "/status-stops").await, (202, String::new()));
}

#[tokio::test]
async fn a_return_handler_replaces_how_replies_are_written() {
    let mut f = Flame::new();
    f.map(ReturnHandler::new(|c: &Context, reply: Reply| {
        match (reply.is_error(), reply.status()) {
            (true, Some(status)) => {
                let message = reply.error_message().unwrap_or_default().to_owned();
                Reply::json(&serde_json::json!({ "error": message }))
                    .with_status(status)
                    .write_to(c);
            }
            _ => reply.write_to(c),
        }
    }));
    f.get("/err", || {
        Err::<(), _>(HttpError::not_found("no such thing"))
    });
    f.get("/ok", || "plain");
    // A request-scoped return handler wins over the app's.
    f.get(
        "/scoped",
        (
            |c: Context| {
                c.map(ReturnHandler::new(|c: &Context, _| {
                    Reply::text("scoped").write_to(c)
                }))
            },
            || "x",
        ),
    );
    let svc = service(f);
    assert_eq!(
        get(&svc, "/err").await,
        (404, r#"{"error":"no such thing"}"#.into())
    );
    assert_eq!(get(&svc, "/ok").await, (200, "plain".into()));
    assert_eq!(get(&svc, "/scoped").await, (200, "scoped".into()));
}

#[tokio::test]
async fn writing_directly_and_returning_both_reach_the_body() {
    let mut f = Flame::new();
    f.get("/", |c: Context| {
        c.response_writer().write("first ");
        "second"
    });
    assert_eq!(get(&service(f), "/").await, (200, "first second".into()));
}
