//! Shutdown and destroy are permanent; scheduled calls fire, also after a restart.

use flame_test_support as common;

use std::time::Duration;

use common::{Log, caller, connect, next, redb_system};
use flame_protocol::{ErrorCode, ServerMessage};
use serde_json::json;

#[tokio::test]
async fn ctx_shutdown_closes_clients_and_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let mut watcher = connect(&system, "a", "watcher").await;
    let caller_conn = connect(&system, "a", "killer").await;
    assert_eq!(
        caller_conn.rpc("destroy_me", vec![]).await,
        Ok(json!("bye"))
    );
    match next(&mut watcher).await {
        Some(ServerMessage::Close { code, .. }) => assert_eq!(code, "actor_destroyed"),
        other => panic!("expected close, got {other:?}"),
    }
    assert_eq!(next(&mut watcher).await, None, "the outbound channel ends");
    assert_eq!(log.count("disconnect:"), 2);

    let err = system
        .call("counter", "a", "get", vec![], caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ActorDestroyed), "{err:?}");
    let err = system
        .connect("counter", "a", "{}", caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ActorDestroyed), "{err:?}");
    system.shutdown().await;
    drop(system);

    // still destroyed after reopening the store, and never initialized again
    let system = redb_system(&log, dir.path()).await;
    let err = system
        .call("counter", "a", "get", vec![], caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ActorDestroyed), "{err:?}");
    assert_eq!(log.count("initialize:a"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn destroy_from_outside_loaded_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let mut conn = connect(&system, "loaded", "x").await;
    system.destroy("counter", "loaded").await.unwrap();
    match next(&mut conn).await {
        Some(ServerMessage::Close { code, .. }) => assert_eq!(code, "actor_destroyed"),
        other => panic!("expected close, got {other:?}"),
    }
    // a key never used can be destroyed too
    system.destroy("counter", "never-used").await.unwrap();
    // twice is fine
    system.destroy("counter", "never-used").await.unwrap();
    assert!(system.destroy("nope", "x").await.is_err());
    for key in ["loaded", "never-used"] {
        let err = system
            .call("counter", key, "get", vec![], caller())
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::ActorDestroyed), "{key}: {err:?}");
    }
    system.shutdown().await;
    drop(system);

    let system = redb_system(&log, dir.path()).await;
    for key in ["loaded", "never-used"] {
        let err = system
            .call("counter", key, "get", vec![], caller())
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::ActorDestroyed), "{key}: {err:?}");
    }
    assert_eq!(log.count("initialize:never-used"), 0);
    system.shutdown().await;
}

async fn wait_for(system: &flame_stateful::ActorSystem, key: &str, value: i64) {
    for _ in 0..100 {
        let got = system
            .call("counter", key, "get", vec![], caller())
            .await
            .unwrap();
        if got == json!(value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{key} never reached {value}");
}

#[tokio::test]
async fn scheduled_calls_fire() {
    let log = Log::default();
    let system = common::memory_system(&log).await;
    let c = caller();
    system
        .call(
            "counter",
            "a",
            "schedule_increment",
            vec![json!(50), json!(7)],
            c.clone(),
        )
        .await
        .unwrap();
    system
        .call(
            "counter",
            "a",
            "schedule_increment",
            vec![json!(0), json!(1)],
            c.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        system
            .call("counter", "a", "get", vec![], c)
            .await
            .unwrap()
            .as_i64()
            .map(|n| n < 8),
        Some(true)
    );
    wait_for(&system, "a", 8).await;
    // delivered once each (no restart happened)
    assert_eq!(log.count("increment:7"), 1);
    assert_eq!(log.count("increment:1"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn scheduled_calls_fire_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    system
        .call(
            "counter",
            "later",
            "schedule_increment",
            vec![json!(400), json!(3)],
            caller(),
        )
        .await
        .unwrap();
    system.shutdown().await;
    drop(system);
    assert_eq!(log.count("increment:3"), 0);

    // the actor is not loaded by anyone: the alarm loads it
    let system = redb_system(&log, dir.path()).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(log.count("increment:3"), 1, "{:?}", log.entries());
    wait_for(&system, "later", 3).await;
    system.shutdown().await;
    drop(system);

    // handled alarms are deleted: they do not fire again
    let system = redb_system(&log, dir.path()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(log.count("increment:3"), 1);
    system.shutdown().await;
}
