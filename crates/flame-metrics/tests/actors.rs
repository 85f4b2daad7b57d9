//! The stateful runtime's metrics as a scrape sees them: commit failures, group sizes and
//! fired alarms.

use flame_metrics::Metrics;
use flame_test_support::{ControlledStore, Log, caller, config, system_with, until};
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
