//! The csrf example over a real socket: the form's token lets the post through; without it,
//! or from another site, the post is refused.

mod common;

use std::sync::Arc;

use common::TestServer;
use flame_extra::session::{MemoryStore, SessionConfig};

#[allow(dead_code)]
#[path = "../csrf.rs"]
mod csrf;

#[tokio::test]
async fn the_form_token_lets_the_post_through_and_nothing_else_does() {
    let server = TestServer::start(csrf::app(
        SessionConfig::default(),
        Arc::new(MemoryStore::new()),
    ))
    .await;
    let http = reqwest::Client::new();
    let page = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let token = html
        .split(r#"name="_csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let post = |body: String, extra: Option<(&'static str, &'static str)>| {
        let mut request = http
            .post(server.url("/transfer"))
            .header("cookie", cookie.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(
        post("amount=5".into(), None).await,
        (
            403,
            r#"{"error":{"code":"forbidden","message":"CSRF token missing: send it in the X-CSRF-Token header or the _csrf form field"}}"#
                .to_owned()
        )
    );
    assert_eq!(
        post(format!("amount=5&_csrf={token}"), None).await,
        (200, "sent 5".to_owned())
    );
    assert_eq!(
        post(
            format!("amount=5&_csrf={token}"),
            Some(("sec-fetch-site", "cross-site"))
        )
        .await,
        (
            403,
            r#"{"error":{"code":"forbidden","message":"cross-origin request refused: Sec-Fetch-Site is cross-site"}}"#.to_owned()
        )
    );
    server.stop().await;
}
