//! Context helpers: params, the query family, remote address, cookies, Render, and binding
//! typed JSON, form and query data with the right status on bad input.

mod common;

use axum::body::Body;
use common::{get, send, service};
use flame_core::{Context, Flame, Form, Json, Query, Render, StatusCode, bind};

#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq)]
struct User {
    name: String,
    age: u8,
}

fn post(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> http::Request<Body> {
    let mut builder = http::Request::post(path);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn params_and_query_helpers() {
    let mut f = Flame::new();
    f.get("/p/{n}/{big}/{word}", |c: Context| {
        format!(
            "{} {} {} {}",
            c.param_int("n"),
            c.param_i64("big"),
            c.param_int("word"),
            c.param("absent").is_empty()
        )
    });
    f.get("/q", |c: Context| {
        format!(
            "{}|{}|{}|{:?}|{}|{}|{}|{}|{}",
            c.query_or("name", "anon"),
            c.query_or("empty", "fallback"),
            c.query_trim("padded"),
            c.query_strings("tag"),
            c.query_bool("flag"),
            c.query_int_or("n", -1),
            c.query_i64("big"),
            c.query_f64_or("ratio", 0.5),
            c.query_int_or("bad", 7),
        )
    });
    f.get("/u", |c: Context| c.query_unescape_or("v", "bad escape"));
    let svc = service(f);
    assert_eq!(
        get(&svc, "/p/12/9000000000/word").await.1,
        "12 9000000000 0 true"
    );
    // As Flamego: a value that does not parse is the zero value, not the default.
    assert_eq!(
        get(&svc, "/q?name=ada&empty=&padded=%20x%20&tag=a&tag=b&flag=true&n=5&big=6000000000&ratio=0.25&bad=z").await.1,
        r#"ada|fallback|x|["a", "b"]|true|5|6000000000|0.25|0"#
    );
    assert_eq!(
        get(&svc, "/q").await.1,
        "anon|fallback||[]|false|-1|0|0.5|7"
    );
    assert_eq!(get(&svc, "/u?v=a%252Bb%2Bc").await.1, "a+b c");
    assert_eq!(get(&svc, "/u?v=100%2525").await.1, "100%");
    // Invalid escaping is empty, as Go's `url.QueryUnescape` error is.
    assert_eq!(get(&svc, "/u?v=%25zz").await.1, "");
    assert_eq!(get(&svc, "/u").await.1, "bad escape");
}

#[tokio::test]
async fn remote_addr_prefers_proxy_headers_then_the_peer() {
    let mut f = Flame::new();
    f.get("/", |c: Context| c.remote_addr());
    let svc = service(f);
    let with = |name: &'static str, value: &'static str| {
        http::Request::get("/")
            .header(name, value)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&svc, with("x-real-ip", "10.0.0.9")).await.body,
        "10.0.0.9"
    );
    assert_eq!(
        send(&svc, with("x-forwarded-for", "203.0.113.7, 10.0.0.1"))
            .await
            .body,
        "203.0.113.7"
    );
    let mut request = http::Request::get("/").body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, 4],
            5555,
        ))));
    assert_eq!(send(&svc, request).await.body, "192.0.2.4");
    assert_eq!(get(&svc, "/").await.1, "");
}

#[tokio::test]
async fn cookies_are_escaped_and_unescaped() {
    let mut f = Flame::new();
    f.get("/set", |c: Context| {
        c.set_cookie(
            cookie::Cookie::build(("session", "a b;c"))
                .path("/")
                .http_only(true)
                .build(),
        );
        "set"
    });
    f.get("/get", |c: Context| {
        format!("[{}] [{}]", c.cookie("session"), c.cookie("missing"))
    });
    let svc = service(f);
    let answer = common::request(&svc, http::Method::GET, "/set").await;
    let set_cookie = answer.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("session=a%20b%3Bc"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let request = http::Request::get("/get")
        .header("cookie", "other=1; session=a%20b%3Bc")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&svc, request).await.body, "[a b;c] []");
    let garbage = http::Request::get("/get")
        .header("cookie", ";;=;%%%;session")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&svc, garbage).await.status, 200);
}

#[tokio::test]
async fn render_sets_content_types() {
    let mut f = Flame::new();
    let user = User {
        name: "ada".into(),
        age: 36,
    };
    let (u1, u2) = (user.clone(), user.clone());
    f.get("/json", move |r: Render| r.json(StatusCode::CREATED, &u1));
    f.get("/xml", move |r: Render| r.xml(StatusCode::OK, &u2));
    f.get("/text", |r: Render| {
        r.plain_text(StatusCode::ACCEPTED, "plain")
    });
    f.get("/bin", |r: Render| r.binary(StatusCode::OK, vec![1_u8, 2]));
    let svc = service(f);
    let json = common::request(&svc, http::Method::GET, "/json").await;
    assert_eq!(
        (json.status.as_u16(), json.body.as_str()),
        (201, "{\"name\":\"ada\",\"age\":36}\n")
    );
    assert_eq!(
        json.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let xml = common::request(&svc, http::Method::GET, "/xml").await;
    assert_eq!(xml.body, "<User><name>ada</name><age>36</age></User>");
    assert_eq!(xml.headers["content-type"], "text/xml; charset=utf-8");
    let text = common::request(&svc, http::Method::GET, "/text").await;
    assert_eq!(
        (
            text.status.as_u16(),
            text.headers["content-type"].to_str().unwrap()
        ),
        (202, "text/plain; charset=utf-8")
    );
    let bin = common::request(&svc, http::Method::GET, "/bin").await;
    assert_eq!(bin.headers["content-type"], "application/octet-stream");
}

#[tokio::test]
async fn json_binding_and_its_errors() {
    let mut f = Flame::new();
    f.body_limit(64);
    f.post(
        "/users",
        (bind::json::<User>(), |Json(user): Json<User>| {
            format!("{} is {}", user.name, user.age)
        }),
    );
    assert!(f.check().is_ok());
    let svc = service(f);
    let ok = send(
        &svc,
        post(
            "/users",
            Some("application/json"),
            r#"{"name":"ada","age":36}"#,
        ),
    )
    .await;
    assert_eq!((ok.status.as_u16(), ok.body.as_str()), (200, "ada is 36"));
    let vendor = send(
        &svc,
        post(
            "/users",
            Some("application/vnd.api+json; charset=utf-8"),
            r#"{"name":"b","age":1}"#,
        ),
    )
    .await;
    assert_eq!(vendor.status, 200);
    let cases: [(Option<&str>, &str, u16, &str, &str); 6] = [
        (
            None,
            r#"{"name":"ada","age":36}"#,
            415,
            "unsupported_media_type",
            "expected a body of type application/json",
        ),
        (
            Some("text/plain"),
            r#"{"name":"ada","age":36}"#,
            415,
            "unsupported_media_type",
            "expected a body of type application/json",
        ),
        (
            Some("application/json"),
            r#"{"name": "ada""#,
            400,
            "malformed_body",
            "malformed JSON",
        ),
        (
            Some("application/json"),
            "not json",
            400,
            "malformed_body",
            "malformed JSON",
        ),
        (
            Some("application/json"),
            r#"{"name":"ada"}"#,
            422,
            "invalid_body",
            "invalid JSON: missing field `age`",
        ),
        (
            Some("application/json"),
            r#"{"name":"ada","age":"old"}"#,
            422,
            "invalid_body",
            "invalid JSON: invalid type",
        ),
    ];
    for (content_type, body, status, code, message) in cases {
        let answer = send(&svc, post("/users", content_type, body)).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/json", "{body}");
        let error: flame_core::ErrorBody = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(error.error.code, code, "{body}: {}", answer.body);
        assert!(
            error.error.message.starts_with(message),
            "{body}: {}",
            answer.body
        );
    }
    let big = send(
        &svc,
        post("/users", Some("application/json"), "x".repeat(1000)),
    )
    .await;
    assert_eq!(big.status, 413);
}

#[tokio::test]
async fn form_and_query_binding() {
    let mut f = Flame::new();
    f.post(
        "/form",
        (bind::form::<User>(), |Form(user): Form<User>| {
            format!("{} {}", user.name, user.age)
        }),
    );
    f.get(
        "/search",
        (bind::query::<User>(), |Query(user): Query<User>| {
            format!("{} {}", user.name, user.age)
        }),
    );
    let svc = service(f);
    let ok = send(
        &svc,
        post(
            "/form",
            Some("application/x-www-form-urlencoded"),
            "name=ada+l&age=36",
        ),
    )
    .await;
    assert_eq!(ok.body, "ada l 36");
    assert_eq!(
        send(
            &svc,
            post("/form", Some("application/json"), "name=ada&age=36")
        )
        .await
        .status,
        415
    );
    assert_eq!(
        send(
            &svc,
            post(
                "/form",
                Some("application/x-www-form-urlencoded"),
                "name=ada&age=old"
            )
        )
        .await
        .status,
        422
    );
    assert_eq!(
        get(&svc, "/search?name=bob&age=7").await,
        (200, "bob 7".into())
    );
    let (status, body) = get(&svc, "/search?name=bob").await;
    assert_eq!(status, 400);
    let error: flame_core::ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(error.error.code, "invalid_query");
    assert!(
        error.error.message.starts_with("invalid query string"),
        "{body}"
    );
}
