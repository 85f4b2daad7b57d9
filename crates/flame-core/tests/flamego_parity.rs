//! Flamego v1.13's exact answers, byte for byte, over a real loopback socket: returned errors,
//! Recovery, Render, Static, `Params`, the query helpers with defaults, cookies.

use flame_core::{Context, Flame, Params, RecoveryOptions, Render, StaticOptions, StatusCode};
use flame_test_support::TestServer;

/// An exact answer: status, the headers asked for, the body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn fetch(server: &TestServer, path: &str, cookie: Option<&str>) -> Answer {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(server.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no such order")]
struct NoSuchOrder;

impl flame_core::ReturnError for NoSuchOrder {}

// So it can be returned alone or as `(StatusCode, NoSuchOrder)`.
impl flame_core::Return for NoSuchOrder {
    fn into_reply(self) -> flame_core::Reply {
        flame_core::ReturnError::into_error_reply(self)
    }
}

#[tokio::test]
async fn a_returned_error_is_its_text_without_a_newline() {
    let mut f = Flame::new();
    f.get("/result", || Err::<String, _>(NoSuchOrder));
    f.get("/status", || (StatusCode::FORBIDDEN, NoSuchOrder));
    f.get("/status-result", || {
        (StatusCode::CONFLICT, Err::<&str, _>(NoSuchOrder))
    });
    let server = TestServer::start(f).await;
    for (path, status) in [("/result", 500), ("/status", 403), ("/status-result", 409)] {
        let answer = fetch(&server, path, None).await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.body, "no such order", "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(answer.header("x-content-type-options"), None, "{path}");
        assert_eq!(answer.header("content-length"), Some("13"), "{path}");
    }
    // The default not-found answer is Go's `http.NotFound`, which keeps its newline.
    let answer = fetch(&server, "/nowhere", None).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (404, "404 page not found\n")
    );
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    server.stop().await;
}

#[tokio::test]
async fn recovery_in_development_answers_the_html_panic_page() {
    assert_eq!(flame_core::env(), flame_core::Env::Development);
    let mut f = Flame::new();
    f.use_(flame_core::recovery());
    f.get("/boom", || -> &'static str { panic!("kaboom <script>") });
    let server = TestServer::start(f).await;
    let answer = fetch(&server, "/boom", None).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.header("content-type"), Some("text/html"));
    let body = &answer.body;
    assert!(
        body.starts_with(
            "<html>\n<head><title>PANIC: kaboom &lt;script&gt;</title>\n<meta charset=\"utf-8\" />\n"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "<h1>PANIC</h1>\n<pre style=\"font-weight: bold;\">kaboom &lt;script&gt;</pre>\n<pre>"
        ),
        "{body}"
    );
    assert!(
        body.contains("flamego_parity.rs:"),
        "the stack says where: {body}"
    );
    assert!(body.ends_with("</pre>\n</body>\n</html>"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn recovery_in_plain_text_has_no_trailing_newline() {
    let mut f = Flame::new();
    f.use_(flame_core::recovery_with(RecoveryOptions {
        plain_text: true,
    }));
    f.get("/boom", || -> &'static str { panic!("kaboom") });
    let server = TestServer::start(f).await;
    let answer = fetch(&server, "/boom", None).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.header("content-type"), Some("text/plain"));
    assert!(
        answer.body.starts_with("PANIC: kaboom\n"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("flamego_parity.rs:"),
        "{}",
        answer.body
    );
    assert!(!answer.body.ends_with('\n'), "{:?}", answer.body);
    server.stop().await;
}

#[derive(serde::Serialize)]
struct User {
    name: String,
}

#[tokio::test]
async fn render_writes_json_with_a_newline_and_xml_as_text_xml() {
    let mut f = Flame::new();
    f.get("/json", |r: Render| {
        r.json(StatusCode::CREATED, &serde_json::json!({"a": "<b>&"}));
    });
    f.get("/xml", |r: Render| {
        r.xml(StatusCode::OK, &User { name: "ada".into() });
    });
    let server = TestServer::start(f).await;
    let json = fetch(&server, "/json", None).await;
    assert_eq!(json.status, 201);
    assert_eq!(
        json.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(json.body, "{\"a\":\"\\u003cb\\u003e\\u0026\"}\n");
    let xml = fetch(&server, "/xml", None).await;
    assert_eq!(xml.status, 200);
    assert_eq!(xml.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(xml.body, "<User><name>ada</name></User>");
    server.stop().await;
}

#[tokio::test]
async fn static_normalises_the_prefix_and_redirects_directories_with_302() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/index.html"), "<h1>docs</h1>").unwrap();
    std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    let mut f = Flame::new();
    f.use_(flame_core::static_files(
        StaticOptions::new(dir.path()).prefix("public"),
    ));
    let server = TestServer::start(f).await;
    let file = fetch(&server, "/public/a.txt", None).await;
    assert_eq!((file.status, file.body.as_str()), (200, "a"));
    assert_eq!(fetch(&server, "/publica.txt", None).await.status, 404);
    let redirect = fetch(&server, "/public//docs?x=1", None).await;
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.header("location"), Some("/public/docs/"));
    assert_eq!(
        redirect.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(redirect.body, "<a href=\"/public/docs/\">Found</a>.\n\n");
    let index = fetch(&server, "/public/docs/", None).await;
    assert_eq!((index.status, index.body.as_str()), (200, "<h1>docs</h1>"));
    server.stop().await;
}

#[tokio::test]
async fn params_include_the_route_as_flamegos_do() {
    let mut f = Flame::new();
    f.get("/teams/{team}/members/{member}", |p: Params, c: Context| {
        let all: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "{} | {} | {} | {}",
            all.join(" "),
            p.len(),
            c.param("route"),
            p.route()
        )
    });
    // A bind named `route` is shadowed by the pattern, as Flamego's map entry is overwritten.
    f.get("/r/{route}", |p: Params| {
        format!("{:?} {}", p.get("route"), p.len())
    });
    f.not_found(|p: Params, c: Context| {
        (
            StatusCode::NOT_FOUND,
            format!("{} [{}]", p.len(), c.param("route")),
        )
    });
    let server = TestServer::start(f).await;
    assert_eq!(
        fetch(&server, "/teams/1/members/2", None).await.body,
        "team=1 member=2 route=/teams/{team}/members/{member} | 3 | \
         /teams/{team}/members/{member} | /teams/{team}/members/{member}"
    );
    assert_eq!(
        fetch(&server, "/r/x", None).await.body,
        "Some(\"/r/{route}\") 1"
    );
    assert_eq!(fetch(&server, "/nowhere", None).await.body, "0 []");
    server.stop().await;
}

#[tokio::test]
async fn query_helpers_take_flamegos_optional_defaults() {
    let mut f = Flame::new();
    f.get("/q", |c: Context| {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{:?}|{:?}|{}|{}",
            c.query_bool_or("fgq", true),
            c.query_bool("fgq"),
            c.query_bool_or("absent", true),
            c.query_int_or("n", 5),
            c.query_int_or("absent", 5),
            c.query_or("s", "dflt"),
            c.query_trim_or("absent", "  padded  "),
            c.query_strings_or("tag", &["x", "y"]),
            c.query_strings_or("absent", &["x", "y"]),
            c.query_f64_or("f", 1.5),
            c.query_i64_or("big", 7),
        )
    });
    let server = TestServer::start(f).await;
    assert_eq!(
        fetch(
            &server,
            "/q?fgq=&n=abc&s=&tag=&f=&big=99999999999999999999",
            None
        )
        .await
        .body,
        r#"true|false|true|0|5|dflt|padded|[""]|["x", "y"]|1.5|9223372036854775807"#
    );
    assert_eq!(
        fetch(&server, "/q?fgq=0&n=12&s=v&tag=a&tag=b&f=2&big=-3", None)
            .await
            .body,
        r#"false|false|true|12|5|v|padded|["a", "b"]|["x", "y"]|2|-3"#
    );
    server.stop().await;
}

#[tokio::test]
async fn a_cookie_with_invalid_escapes_is_returned_raw() {
    let mut f = Flame::new();
    f.get("/c", |c: Context| format!("[{}]", c.cookie("v")));
    let server = TestServer::start(f).await;
    for (cookie, expected) in [
        ("v=100%zz", "[100%zz]"),
        ("v=a%20b+c", "[a b c]"),
        ("v=\"quoted\"", "[quoted]"),
        ("other=1", "[]"),
    ] {
        assert_eq!(
            fetch(&server, "/c", Some(cookie)).await.body,
            expected,
            "{cookie}"
        );
    }
    server.stop().await;
}
