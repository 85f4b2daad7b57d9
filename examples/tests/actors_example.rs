//! The `actors` example on a real socket: custom actors, branching on the actor type,
//! identity in services, `require_actor`, and a backend job started with `spawn_as`.

use std::time::Duration;

use flame_test::TestServer;

#[allow(dead_code)]
#[path = "../actors.rs"]
mod actors;

/// The status and the body, or the framework error's message for JSON errors.
async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = server.get(path);
    if let Some(token) = token {
        request = request.header("x-api-token", token);
    }
    let answer = request.await;
    let body = match answer.header("content-type") {
        Some("application/json") => answer.error().error.message.into_owned(),
        _ => answer.text().to_owned(),
    };
    (answer.status().as_u16(), body)
}

#[tokio::test]
async fn custom_actors_branch_and_flow_into_services() {
    let jobs = actors::JobLog::default();
    let server = TestServer::start(actors::app(jobs)).await;
    assert_eq!(
        get(&server, "/whoami", None).await,
        (200, "anonymous visitor".into())
    );
    assert_eq!(
        get(&server, "/whoami", Some("ci-secret")).await,
        (200, r#"API token "ci" (scopes: reports:read)"#.into())
    );
    assert_eq!(
        get(&server, "/report", Some("ci-secret")).await,
        (200, "report for api_token:ci".into())
    );
    assert_eq!(
        get(&server, "/report", None).await,
        (200, "report for anonymous:".into())
    );
    assert_eq!(
        get(&server, "/type", Some("ci-secret")).await,
        (200, "api_token".into())
    );
    assert_eq!(
        get(&server, "/token", Some("ci-secret")).await,
        (200, "hello, ci".into())
    );
    assert_eq!(
        get(&server, "/token", None).await,
        (403, "an API token is required".into())
    );
    assert_eq!(
        get(&server, "/whoami", Some("wrong")).await,
        (401, "unknown API token".into())
    );
    // Not visible ASCII: refused like an unknown token, never a panic.
    let response = server
        .client()
        .get(server.url("/whoami"))
        .header(
            "x-api-token",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn the_scheduler_runs_as_the_backend() {
    let jobs = actors::JobLog::default();
    let scheduler = actors::start_scheduler(jobs.clone(), Duration::from_millis(10));
    let server = TestServer::start(actors::app(jobs)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, body) = get(&server, "/jobs", None).await;
    assert_eq!(status, 200);
    let runs: Vec<&str> = body.lines().collect();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(
        runs.iter()
            .all(|run| *run == "cleanup by backend:scheduler"),
        "{runs:?}"
    );
    scheduler.abort();
    server.stop().await;
}
