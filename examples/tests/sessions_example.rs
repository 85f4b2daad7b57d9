//! The sessions example over a real socket: the curl transcript of its doc comment.

mod common;

use std::sync::Arc;

use common::TestServer;
use flame_extra::session::{MemoryStore, RedbStore, SessionConfig};

#[allow(dead_code)]
#[path = "../sessions.rs"]
mod sessions;

/// Sends a request with the jar's cookie and keeps the one the answer sets.
async fn send(jar: &mut Option<String>, request: reqwest::RequestBuilder) -> (u16, String) {
    let request = match jar.as_ref() {
        Some(cookie) => request.header("cookie", cookie.clone()),
        None => request,
    };
    let response = request.send().await.unwrap();
    if let Some(set) = response.headers().get("set-cookie") {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        *jar = (!pair.ends_with('=')).then_some(pair);
    }
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn visits_sign_in_with_a_new_id_and_sign_out() {
    let store = MemoryStore::new();
    let server = TestServer::start(sessions::app(
        SessionConfig::default().secure(false),
        Arc::new(store.clone()),
    ))
    .await;
    let http = reqwest::Client::new();
    let mut jar = None;
    assert_eq!(
        send(&mut jar, http.get(server.url("/"))).await,
        (200, "hello, guest (visit 1)".to_owned())
    );
    let guest_cookie = jar.clone().unwrap();
    assert_eq!(
        send(&mut jar, http.post(server.url("/login"))).await,
        (
            422,
            r#"{"error":{"code":"unprocessable_entity","message":"a name is required"}}"#
                .to_owned()
        )
    );
    assert_eq!(
        send(&mut jar, http.post(server.url("/login?name=ada"))).await,
        (200, "signed in as ada".to_owned())
    );
    assert_ne!(
        jar.as_ref(),
        Some(&guest_cookie),
        "the id rotates on sign-in"
    );
    assert_eq!(
        send(&mut jar, http.get(server.url("/"))).await.1,
        "hello, ada (visit 2)"
    );
    assert_eq!(
        send(&mut jar, http.post(server.url("/logout"))).await.1,
        "signed out"
    );
    assert_eq!(jar, None, "the cookie is cleared");
    assert!(store.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_restart_on_the_redb_store_signs_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.redb");
    let http = reqwest::Client::new();
    let mut jar = None;
    let start = |path: std::path::PathBuf| async move {
        let store = RedbStore::open(path).unwrap();
        TestServer::start(sessions::app(SessionConfig::default(), Arc::new(store))).await
    };
    let server = start(path.clone()).await;
    send(&mut jar, http.post(server.url("/login?name=grace"))).await;
    server.stop().await;
    let server = start(path).await;
    assert_eq!(
        send(&mut jar, http.get(server.url("/"))).await.1,
        "hello, grace (visit 1)"
    );
    server.stop().await;
}
