//! Rate limiting over real loopback sockets: the burst, the 429 with `Retry-After` in flame's
//! error format, keys by IP and by closure, a route-level limiter, the bounded key table.
#![cfg(feature = "rate-limit")]

use flame_core::{Context, Flame};
use flame_extra::rate_limit::{RateLimit, rate_limiter};
use flame_test_support::TestServer;

/// Sends `GET path` with the given headers; the status and the `Retry-After` header.
async fn get(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut request = client.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

/// The header `x-user` as the key; no header, no limit.
fn by_user(c: &Context) -> Option<String> {
    c.headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_burst_passes_then_the_client_gets_429_with_retry_after() {
    let mut f = Flame::new();
    f.use_(rate_limiter(RateLimit::per_hour(2)));
    f.get("/", || "hello");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    for _ in 0..2 {
        let response = client.get(server.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("retry-after").is_none());
        assert_eq!(response.text().await.unwrap(), "hello");
    }
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    // One request an hour: the next one passes in (just under) an hour, rounded up.
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with(
            r#"{"error":{"code":"too_many_requests","message":"rate limit exceeded: retry in "#
        ),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn made_up_forwarded_addresses_do_not_buy_a_fresh_allowance() {
    let mut f = Flame::new();
    f.use_(rate_limiter(RateLimit::per_hour(1)));
    f.get("/", || "hello");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    assert_eq!(
        get(&client, &server, "/", &[("x-forwarded-for", "10.0.0.1")])
            .await
            .0,
        200
    );
    for spoofed in ["10.0.0.2", "10.0.0.3"] {
        let (status, retry_after) = get(
            &client,
            &server,
            "/",
            &[("x-forwarded-for", spoofed), ("x-real-ip", spoofed)],
        )
        .await;
        assert_eq!(status, 429);
        assert!(retry_after.is_some());
    }
    server.stop().await;
}

#[tokio::test]
async fn a_key_closure_limits_each_user_apart_and_lets_keyless_requests_through() {
    let mut f = Flame::new();
    f.use_(rate_limiter(RateLimit::per_hour(1).key(by_user)));
    f.get("/", || "hello");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    assert_eq!(
        get(&client, &server, "/", &[("x-user", "ann")]).await.0,
        200
    );
    assert_eq!(
        get(&client, &server, "/", &[("x-user", "ann")]).await.0,
        429
    );
    assert_eq!(
        get(&client, &server, "/", &[("x-user", "bob")]).await.0,
        200
    );
    assert_eq!(
        get(&client, &server, "/", &[("x-user", "bob")]).await.0,
        429
    );
    for _ in 0..3 {
        assert_eq!(get(&client, &server, "/", &[]).await.0, 200);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_route_level_limiter_leaves_other_routes_alone() {
    let mut f = Flame::new();
    f.post(
        "/login",
        (rate_limiter(RateLimit::per_hour(1)), || "signed in"),
    );
    f.get("/", || "home");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    let login = || client.post(server.url("/login")).send();
    assert_eq!(login().await.unwrap().status(), 200);
    let refused = login().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    for _ in 0..3 {
        assert_eq!(get(&client, &server, "/", &[]).await.0, 200);
    }
    server.stop().await;
}

#[tokio::test]
async fn the_key_table_stays_at_its_cap_by_forgetting_the_stalest_key() {
    let mut f = Flame::new();
    f.use_(rate_limiter(
        RateLimit::per_hour(1).max_keys(2).key(by_user),
    ));
    f.get("/", || "hello");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();
    let user = |name| [("x-user", name)];

    assert_eq!(get(&client, &server, "/", &user("ann")).await.0, 200);
    assert_eq!(get(&client, &server, "/", &user("bob")).await.0, 200);
    // Both are remembered and limited.
    assert_eq!(get(&client, &server, "/", &user("ann")).await.0, 429);
    assert_eq!(get(&client, &server, "/", &user("bob")).await.0, 429);
    // A third key: the table is full, and ann (whose allowance refills first) is forgotten.
    assert_eq!(get(&client, &server, "/", &user("cyd")).await.0, 200);
    assert_eq!(get(&client, &server, "/", &user("bob")).await.0, 429);
    assert_eq!(get(&client, &server, "/", &user("ann")).await.0, 200);
    server.stop().await;
}
