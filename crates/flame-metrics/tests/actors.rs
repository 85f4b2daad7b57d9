//! The stateful runtime's metrics as a scrape sees them (commit failures, group sizes and
//! fired alarms), and the inspector's view of its keys' connections and recent commits.

use flame_metrics::Metrics;
use flame_test_support::{ControlledStore, Log, caller, config, connect, system_with, until};
use serde_json::json;

#[tokio::test]
async fn commit_failures_and_fired_alarms_reach_the_scrape() {
    let store = ControlledStore::new();
    let system = system_with(&Log::default(), store.clone(), config()).await;
    let metrics = Metrics::new();
    metrics.register_actors(&system, None);

    system
        .call("counter", "a", "increment", vec![json!(1)], caller())
        .await
        .expect("committed");
    store.fail_next(1);
    let failed = system
        .call("counter", "a", "increment", vec![json!(1)], caller())
        .await;
    assert!(failed.is_err(), "{failed:?}");
    let text = metrics.render();
    assert!(
        text.contains("flame_actor_commit_failures_total 1"),
        "{text}"
    );
    assert!(text.contains("flame_actor_commits_total 2"), "{text}");
    assert!(
        text.contains(r#"flame_actor_commit_batch_size_bucket{le="1.0"} 2"#),
        "{text}"
    );
    assert!(text.contains("flame_actor_alarms_fired_total 0"), "{text}");
    assert!(
        !text.contains("flame_actor_connections_open"),
        "no transport given: {text}"
    );

    system
        .call(
            "counter",
            "b",
            "schedule_increment",
            vec![json!(1), json!(5)],
            caller(),
        )
        .await
        .expect("scheduled");
    until("the alarm fired", || system.alarms_fired() == 1).await;
    assert!(
        metrics
            .render()
            .contains("flame_actor_alarms_fired_total 1")
    );
    system.shutdown().await;
}

async fn json_of(service: &flame_core::FlameService, path: &str) -> serde_json::Value {
    use tower::ServiceExt;
    let request = http::Request::get(path)
        .body(axum::body::Body::empty())
        .expect("a request");
    let response = service.clone().oneshot(request).await.expect("an answer");
    assert_eq!(response.status(), 200, "{path}");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    serde_json::from_slice(&body).expect("json")
}

/// The inspector lists each live key with the connections it holds, and the committer's
/// recent transactions, a failed one with its error.
#[tokio::test]
async fn the_inspector_shows_connections_per_key_and_recent_commits() {
    let store = ControlledStore::new();
    let system = system_with(&Log::default(), store.clone(), config()).await;
    let _ada = connect(&system, "room", "ada").await;
    let _grace = connect(&system, "room", "grace").await;
    system
        .call("counter", "room", "increment", vec![json!(1)], caller())
        .await
        .expect("committed");
    store.fail_next(1);
    let failed = system
        .call("counter", "quiet", "increment", vec![json!(1)], caller())
        .await;
    assert!(failed.is_err(), "{failed:?}");

    let mut f = flame_core::Flame::new();
    flame_metrics::Inspector::new()
        .env(flame_core::Env::Development)
        .actors(&system, None)
        .mount(&mut f);
    let service = f.into_service();

    let keys = json_of(&service, "/_flame/api/keys?name=counter").await;
    let room = keys["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["key"] == "room"))
        .cloned();
    assert_eq!(
        room.map(|k| k["connections"].clone()),
        Some(json!(2)),
        "{keys}"
    );

    let commits = json_of(&service, "/_flame/api/commits").await;
    let commits = commits["commits"].as_array().expect("commits").clone();
    let failed: Vec<_> = commits.iter().filter(|c| c["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{commits:?}");
    assert_eq!(failed[0]["actors"], json!(["counter/quiet"]));
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("store backend error")),
        "{commits:?}"
    );
    assert!(
        commits
            .iter()
            .any(|c| c["ok"] == true && c["actors"] == json!(["counter/room"])),
        "{commits:?}"
    );
    system.shutdown().await;
}
