//! The templates example over a real socket: the page in its layout with the data escaped,
//! and the 500 of a broken template.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../templates.rs"]
mod templates;

#[tokio::test]
async fn the_home_page_renders_in_its_layout_with_the_name_escaped() {
    let server = TestServer::start(templates::app()).await;
    let response = reqwest::get(server.url("/?name=%3CJoe%3E")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "<!doctype html>\n<title>Home · flame</title>\n<main><h1>Hello, &lt;Joe&gt;!</h1>\n\
         <ul><li>write the docs</li><li>ship it</li></ul></main>"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_broken_template_answers_500() {
    let server = TestServer::start(templates::app()).await;
    let response = reqwest::get(server.url("/broken")).await.unwrap();
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with(r#"{"error":{"code":"internal_error""#),
        "{body}"
    );
    server.stop().await;
}
