//! Hooks (order and count), connections, broadcast, error codes.

use flame_test_support as common;

use std::time::Duration;

use common::{Log, caller, connect, memory_system, next};
use flame_protocol::{ClientMessage, ErrorCode, ServerMessage};
use flame_stateful::{Actions, InboundError};
use serde_json::json;

#[tokio::test]
async fn hooks_run_in_order_and_once_each() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let conn = connect(&system, "a", "alice").await;
    assert_eq!(conn.rpc("increment", vec![json!(2)]).await, Ok(json!(2)));
    conn.disconnect().await;
    assert_eq!(
        log.entries(),
        [
            "initialize:a",
            "start:0",
            "before_connect:alice",
            "connect:alice",
            "increment:2",
            "state_change:2",
            "disconnect:alice",
        ]
    );
    system.shutdown().await;
}

#[tokio::test]
async fn reads_do_not_trigger_state_change() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let c = caller();
    assert_eq!(
        system.call("counter", "a", "get", vec![], c.clone()).await,
        Ok(json!(0))
    );
    assert_eq!(
        system
            .call("counter", "a", "increment", vec![json!(1)], c)
            .await,
        Ok(json!(1))
    );
    assert_eq!(log.count("state_change"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn on_before_connect_rejection_reaches_the_caller() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let err = system
        .connect("counter", "a", r#"{"token":"bad"}"#, caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::Unauthorized), "{err:?}");
    assert_eq!(err.message, "invalid auth token");
    // a refused connection never existed: no on_connect, no on_disconnect
    assert_eq!(log.count("connect:"), 0);
    assert_eq!(log.count("disconnect:"), 0);
    system.shutdown().await;
}

#[tokio::test]
async fn on_connect_error_disconnects_and_runs_on_disconnect_once() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let err = system
        .connect("counter", "a", r#"{"token":"fail-connect"}"#, caller())
        .await
        .unwrap_err();
    assert_eq!(err.code, "test.refused");
    assert_eq!(err.message, "refused in on_connect");
    assert_eq!(log.count("disconnect:fail-connect"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn dropping_a_handle_runs_on_disconnect_exactly_once() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let conn = connect(&system, "a", "bob").await;
    drop(conn);
    // the actor handles the disconnect asynchronously; a call queued after it sees it done
    system
        .call("counter", "a", "get", vec![], caller())
        .await
        .unwrap();
    assert_eq!(log.count("disconnect:bob"), 1);
    // a dropped receiver alone is noticed too (by the next send or the idle sweep)
    let conn = connect(&system, "a", "carol").await;
    let (sender, outbound) = conn.into_parts();
    drop(outbound);
    sender.disconnect().await;
    system.shutdown().await;
    assert_eq!(log.count("disconnect:carol"), 1);
    assert_eq!(log.count("disconnect:"), 2);
}

#[tokio::test]
async fn invalid_and_too_long_params() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let err = system
        .connect("counter", "a", "[1,2]", caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::InvalidParams), "{err:?}");
    let long = format!(r#"{{"token":"{}"}}"#, "x".repeat(5000));
    let err = system
        .connect("counter", "a", &long, caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ParamsTooLong), "{err:?}");
    system.shutdown().await;
}

#[tokio::test]
async fn broadcast_reaches_only_subscribed_connections() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let mut subscribed = connect(&system, "room", "sub").await;
    let mut other = connect(&system, "room", "other").await;
    subscribed.subscribe("count").await.unwrap();
    other.subscribe("something-else").await.unwrap();

    other
        .send(ClientMessage::Rpc {
            id: 9,
            method: "increment".into(),
            args: vec![json!(5)],
        })
        .await
        .unwrap();
    assert_eq!(
        next(&mut other).await,
        Some(ServerMessage::RpcOk {
            id: 9,
            output: json!(5)
        })
    );
    assert_eq!(
        next(&mut subscribed).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(5)
        })
    );
    // the other connection got its answer and nothing else
    assert_eq!(other.try_recv(), None);

    // unsubscribe: no more events
    subscribed.unsubscribe("count").await.unwrap();
    assert_eq!(other.rpc("increment", vec![json!(1)]).await, Ok(json!(6)));
    system
        .call("counter", "room", "get", vec![], caller())
        .await
        .unwrap();
    assert_eq!(subscribed.try_recv(), None);

    // conn.send reaches only the calling connection, subscribed or not
    assert_eq!(
        other.rpc("notify_me", vec![json!("hi")]).await,
        Ok(json!(true))
    );
    assert_eq!(
        next(&mut other).await,
        Some(ServerMessage::Event {
            event: "direct".into(),
            payload: json!("hi")
        })
    );
    assert_eq!(subscribed.try_recv(), None);
    system.shutdown().await;
}

#[tokio::test]
async fn the_rpc_sees_its_caller_and_connection() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let conn = connect(&system, "a", "dora").await;
    let who = conn.rpc("whoami", vec![]).await.unwrap();
    assert_eq!(who, json!(["test", conn.id().get(), "dora"]));
    let who = system
        .call("counter", "a", "whoami", vec![], caller())
        .await
        .unwrap();
    assert_eq!(who, json!(["test", null, null]));
    system.shutdown().await;
}

#[tokio::test]
async fn wrong_method_and_arguments_give_stable_codes() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let c = caller();
    let call = |method: &'static str, args: Vec<serde_json::Value>| {
        let system = system.clone();
        let c = c.clone();
        async move { system.call("counter", "a", method, args, c).await }
    };
    let err = call("nope", vec![]).await.unwrap_err();
    assert!(err.is(ErrorCode::ActionNotFound), "{err:?}");
    let err = call("not_an_action", vec![]).await.unwrap_err();
    assert!(err.is(ErrorCode::ActionNotFound), "{err:?}");
    let err = call("increment", vec![]).await.unwrap_err();
    assert!(err.is(ErrorCode::InvalidArguments), "{err:?}");
    let err = call("increment", vec![json!(1), json!(2)])
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::InvalidArguments), "{err:?}");
    let err = call("increment", vec![json!("one")]).await.unwrap_err();
    assert!(err.is(ErrorCode::InvalidArguments), "{err:?}");
    assert!(err.message.contains("`by`"), "{err:?}");
    // optional trailing arguments may be left out
    assert_eq!(call("echo", vec![json!("x")]).await, Ok(json!(["x", null])));
    assert_eq!(
        call("echo", vec![json!("x"), json!(3)]).await,
        Ok(json!(["x", 3]))
    );
    assert_eq!(call("renamed", vec![]).await, Ok(json!("renamed")));
    // user errors keep their code and message, internal ones do not leak
    let err = call("fail_after_increment", vec![json!(1)])
        .await
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("test.failed", "this action fails on purpose")
    );
    let err = call("internal_failure", vec![]).await.unwrap_err();
    assert!(err.is(ErrorCode::InternalError));
    assert!(!err.message.contains("secret"));
    // unknown kind
    let err = system
        .call("nope", "a", "get", vec![], caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ActorNotFound), "{err:?}");
    assert!(common::Counter::ACTIONS.contains(&"renamed"));
    assert!(!common::Counter::ACTIONS.contains(&"not_an_action"));
    system.shutdown().await;
}

#[tokio::test]
async fn malformed_and_oversized_messages_are_answered_not_fatal() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let mut conn = connect(&system, "a", "eve").await;
    let err = conn.send_text("{not json").await.unwrap_err();
    let InboundError::Protocol(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.code, ErrorCode::MalformedMessage);
    let big = format!(
        r#"{{"v":1,"type":"rpc","id":1,"method":"echo","args":["{}"]}}"#,
        "x".repeat(70 * 1024)
    );
    let InboundError::Protocol(err) = conn.send_text(&big).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(err.code, ErrorCode::MessageTooLong);
    // over the wire, a wrong method is an rpc_error with the id
    conn.send_text(r#"{"v":1,"type":"rpc","id":4,"method":"nope","args":[]}"#)
        .await
        .unwrap();
    match next(&mut conn).await {
        Some(ServerMessage::RpcError { id: 4, code, .. }) => assert_eq!(code, "action_not_found"),
        other => panic!("{other:?}"),
    }
    // and the connection still works
    assert_eq!(conn.rpc("get", vec![]).await, Ok(json!(0)));
    system.shutdown().await;
}

#[tokio::test]
async fn a_slow_rpc_times_out_and_its_changes_are_discarded() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let c = caller();
    let err = system
        .call("counter", "a", "slow", vec![json!(2000)], c.clone())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::RpcTimeout), "{err:?}");
    assert_eq!(
        system.call("counter", "a", "get", vec![], c).await,
        Ok(json!(0))
    );
    system.shutdown().await;
}

#[tokio::test]
async fn idle_instances_unload_and_reload_with_their_state() {
    let log = Log::default();
    let config = flame_stateful::ActorConfig {
        idle_timeout: Duration::from_millis(100),
        ..common::config()
    };
    let system = common::system_with(&log, flame_stateful::store::MemoryStore::new(), config).await;
    let c = caller();
    system
        .call("counter", "a", "increment", vec![json!(3)], c.clone())
        .await
        .unwrap();
    assert!(system.is_loaded("counter", "a"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !system.is_loaded("counter", "a"),
        "unloaded after being idle"
    );
    assert_eq!(
        system.call("counter", "a", "get", vec![], c).await,
        Ok(json!(3))
    );
    assert_eq!(log.count("initialize"), 1);
    assert_eq!(log.count("start"), 2);
    // a connection keeps its actor's place (it hibernates: tests/hibernation.rs)
    let _conn = connect(&system, "b", "x").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(system.is_hibernating("counter", "b"));
    system.shutdown().await;
}

/// A broadcast reaches whoever is subscribed at that moment, also when an action changed the
/// subscriptions (through `conn_mut`) after the event's subscribers were last looked up.
#[tokio::test]
async fn subscriptions_changed_by_an_action_count_for_the_next_broadcast() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let mut a = connect(&system, "room", "a").await;
    let mut b = connect(&system, "room", "b").await;
    let count = |n: i64| {
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: n.into(),
        })
    };
    a.subscribe("count").await.expect("subscribe");
    assert_eq!(a.rpc("increment", vec![json!(1)]).await, Ok(json!(1)));
    assert_eq!(next(&mut a).await, count(1));

    assert_eq!(
        b.rpc("follow", vec![json!("count"), json!(true)]).await,
        Ok(json!(true))
    );
    assert_eq!(a.rpc("increment", vec![json!(1)]).await, Ok(json!(2)));
    assert_eq!(next(&mut a).await, count(2));
    assert_eq!(next(&mut b).await, count(2), "subscribed by its action");

    assert_eq!(
        b.rpc("follow", vec![json!("count"), json!(false)]).await,
        Ok(json!(true))
    );
    assert_eq!(a.rpc("increment", vec![json!(1)]).await, Ok(json!(3)));
    assert_eq!(next(&mut a).await, count(3));
    // b's event, had there been one, was queued before a's answer
    assert_eq!(b.try_recv(), None, "unsubscribed by its action");

    drop(b);
    assert_eq!(a.rpc("increment", vec![json!(1)]).await, Ok(json!(4)));
    assert_eq!(next(&mut a).await, count(4));
    system.shutdown().await;
}

/// An in-process connection holds its system's subscription limits, as a WebSocket one does.
#[tokio::test]
async fn in_process_connections_have_the_configured_subscription_limits() {
    let log = Log::default();
    let config = flame_stateful::ActorConfig {
        max_subscriptions: 2,
        max_event_name_size: 8,
        ..common::config()
    };
    let system = common::system_with(&log, flame_stateful::store::MemoryStore::new(), config).await;
    let conn = connect(&system, "limits", "ada").await;
    conn.subscribe("one").await.expect("first");
    conn.subscribe("two").await.expect("second");
    let refused = conn.subscribe("three").await.unwrap_err();
    assert!(
        matches!(&refused, InboundError::Protocol(e) if e.code == ErrorCode::LimitExceeded),
        "{refused:?}"
    );
    conn.unsubscribe("one").await.expect("unsubscribe");
    let refused = conn.subscribe("a-long-name").await.unwrap_err();
    assert!(
        matches!(&refused, InboundError::Protocol(e) if e.code == ErrorCode::LimitExceeded),
        "{refused:?}"
    );
    conn.subscribe("three").await.expect("room again");
    conn.disconnect().await;
    system.shutdown().await;
}
