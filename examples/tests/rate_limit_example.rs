//! The rate_limit example over a real socket: the IP limiter's burst, then sign-in attempts
//! limited per user name.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../rate_limit.rs"]
mod rate_limit;

#[tokio::test]
async fn a_client_gets_a_burst_of_ten_then_429() {
    let server = TestServer::start(rate_limit::app()).await;
    for _ in 0..10 {
        assert_eq!(common::get(&server, "/").await, (200, "hello".to_owned()));
    }
    let response = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(response.status(), 429);
    // 20 a minute: the next request passes within 3 seconds.
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    server.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_user_name() {
    let server = TestServer::start(rate_limit::app()).await;
    let client = reqwest::Client::new();
    let login = |user: &str| {
        client
            .post(server.url(&format!("/login?user={user}")))
            .send()
    };
    for _ in 0..3 {
        let response = login("ann").await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "welcome, ann");
    }
    let refused = login("ann").await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(login("bob").await.unwrap().status(), 200);
    server.stop().await;
}
