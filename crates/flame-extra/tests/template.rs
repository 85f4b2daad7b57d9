//! Templates over real loopback sockets: rendering with data, names without extensions,
//! HTML auto-escaping, layouts, the 500 on a missing or failing template, edits picked up.
#![cfg(feature = "template")]

use std::path::Path;

use flame_core::{Env, Flame, StatusCode};
use flame_extra::template::{Data, Template, TemplateOptions, templater};
use flame_test_support::TestServer;

/// Writes `files` (name, source) into a fresh directory.
fn templates(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    dir
}

/// An app whose `GET /{name}` renders that template (or the one `?name=` gives) with
/// `name = "<b>Joe</b>"`.
fn app(directory: &Path, extensions: &[&str]) -> Flame {
    let mut f = Flame::new();
    f.use_(templater(TemplateOptions {
        directory: directory.to_owned(),
        extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
    }));
    f.use_(|data: Data| data.set("site", "flame"));
    f.get(
        "/{name}",
        |t: Template, data: Data, c: flame_core::Context| {
            data.set("name", "<b>Joe</b>");
            let name = c.query_or("name", c.param("name"));
            t.html(StatusCode::CREATED, &name, &data)
        },
    );
    f
}

async fn get(server: &TestServer, path: &str) -> (u16, String, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn a_template_renders_with_the_request_data_as_html() {
    let dir = templates(&[("home.tmpl", "{{ site }}: hello {{ name }}")]);
    let server = TestServer::start(app(dir.path(), &[".tmpl", ".html"])).await;
    let (status, content_type, body) = get(&server, "/home").await;
    assert_eq!(status, 201);
    assert_eq!(content_type, "text/html; charset=utf-8");
    // .tmpl is escaped as HTML, as Flamego's html/template does.
    assert_eq!(body, "flame: hello &lt;b&gt;Joe&lt;&#x2f;b&gt;");
    server.stop().await;
}

#[tokio::test]
async fn html_is_escaped_safe_values_are_not_and_text_templates_are_left_alone() {
    let dir = templates(&[
        ("escaped.html", "{{ name }}"),
        ("trusted.html", "{{ name|safe }}"),
        ("plain.txt", "{{ name }}"),
    ]);
    let server = TestServer::start(app(dir.path(), &[".html", ".txt"])).await;
    assert_eq!(
        get(&server, "/escaped").await.2,
        "&lt;b&gt;Joe&lt;&#x2f;b&gt;"
    );
    assert_eq!(get(&server, "/trusted").await.2, "<b>Joe</b>");
    assert_eq!(get(&server, "/plain").await.2, "<b>Joe</b>");
    server.stop().await;
}

#[tokio::test]
async fn the_first_extension_wins_and_layouts_extend_by_name() {
    let dir = templates(&[
        (
            "page.tmpl",
            "{% extends \"layout\" %}{% block body %}tmpl{% endblock %}",
        ),
        ("page.html", "html"),
        (
            "layout.html",
            "<main>{% block body %}{% endblock %}</main>{% include \"footer\" %}",
        ),
        ("footer.html", "<footer>{{ site }}</footer>"),
    ]);
    let server = TestServer::start(app(dir.path(), &[".tmpl", ".html"])).await;
    assert_eq!(
        get(&server, "/page").await.2,
        "<main>tmpl</main><footer>flame</footer>"
    );
    server.stop().await;
}

/// What the body of a failed render says under the current environment.
fn expect_failure(body: &str, detail: &str) {
    assert!(
        body.starts_with(r#"{"error":{"code":"internal_error","message":"#),
        "{body}"
    );
    if flame_core::env() == Env::Development {
        assert!(body.contains(detail), "{body} lacks {detail}");
    } else {
        assert!(body.contains("Internal Server Error"), "{body}");
        assert!(!body.contains(detail), "{body} shows {detail}");
    }
}

#[tokio::test]
async fn a_missing_or_failing_template_is_a_500() {
    let dir = templates(&[
        ("broken.html", "{{ name|no_such_filter }}"),
        ("syntax.html", "{% if %}"),
    ]);
    let secret = templates(&[("secret.html", "secret")]);
    let server = TestServer::start(app(dir.path(), &[".html"])).await;

    let (status, content_type, body) = get(&server, "/missing").await;
    assert_eq!(status, 500);
    assert_eq!(content_type, "application/json");
    expect_failure(&body, "missing");

    let (status, _, body) = get(&server, "/broken").await;
    assert_eq!(status, 500);
    expect_failure(&body, "no_such_filter");

    let (status, _, body) = get(&server, "/syntax").await;
    assert_eq!(status, 500);
    expect_failure(&body, "syntax");

    // A name climbing out of the directory is not found.
    let outside = format!(
        "/x?name=../{}/secret",
        secret.path().file_name().unwrap().to_str().unwrap()
    );
    let (status, _, body) = get(&server, &outside).await;
    assert_eq!(status, 500, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_edited_template_shows_without_a_restart() {
    let dir = templates(&[("home.html", "one")]);
    let server = TestServer::start(app(dir.path(), &[".html"])).await;
    assert_eq!(get(&server, "/home").await.2, "one");
    std::fs::write(dir.path().join("home.html"), "two, edited").unwrap();
    assert_eq!(get(&server, "/home").await.2, "two, edited");
    server.stop().await;
}
