//! The basic_auth example over a real socket: the public page, the admin pages with and
//! without the password, the API with and without a key.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../basic_auth.rs"]
mod basic_auth;

fn app() -> flame_core::Flame {
    basic_auth::app("s3cret", vec!["key-ann".to_owned(), "key-bob".to_owned()])
}

#[tokio::test]
async fn the_admin_pages_ask_for_the_password() {
    let server = TestServer::start(app()).await;
    let http = reqwest::Client::new();
    assert_eq!(common::get(&server, "/").await, (200, "public".to_owned()));

    let refused = http.get(server.url("/admin/")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Basic realm="Authorization Required""#
    );
    assert_eq!(refused.text().await.unwrap(), "Unauthorized\n");

    let wrong = http
        .get(server.url("/admin/"))
        .basic_auth("admin", Some("s3crets"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let admin = http
        .get(server.url("/admin/"))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    assert_eq!(admin.text().await.unwrap(), "hello, admin");
    server.stop().await;
}

#[tokio::test]
async fn the_api_takes_any_of_its_keys() {
    let server = TestServer::start(app()).await;
    let http = reqwest::Client::new();
    let status = |key: &'static str| http.get(server.url("/api/status")).bearer_auth(key).send();
    let ok = status("key-bob").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "ok (key 2 of 2)");
    assert_eq!(
        status("key-ann").await.unwrap().text().await.unwrap(),
        "ok (key 1 of 2)"
    );

    let refused = status("key-eve").await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("www-authenticate").is_none());
    assert_eq!(refused.text().await.unwrap(), "Unauthorized\n");
    let basic = http
        .get(server.url("/api/status"))
        .basic_auth("key-bob", None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    server.stop().await;
}
