//! Hibernation: an idle actor with connections leaves memory, its connections stay open
//! with their state and subscriptions, and the next message wakes it.

use flame_test_support as common;

use std::time::Duration;

use common::{ControlledStore, Log, caller, connect, next, until};
use flame_protocol::{ErrorCode, ServerMessage};
use flame_stateful::store::MemoryStore;
use flame_stateful::transport::TransportConfig;
use flame_stateful::{ActorConfig, ActorSystem};
use serde_json::json;

fn config(hibernation: bool) -> ActorConfig {
    ActorConfig {
        idle_timeout: Duration::from_millis(60),
        hibernation,
        ..common::config()
    }
}

async fn hibernating(system: &ActorSystem, key: &str) {
    until(&format!("counter/{key} hibernates"), || {
        system.is_hibernating("counter", key)
    })
    .await;
    assert!(!system.is_loaded("counter", key));
}

#[tokio::test]
async fn a_connected_idle_actor_hibernates_and_a_call_wakes_it_with_its_connections() {
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(true)).await;
    let mut conn = connect(&system, "room", "ada").await;
    conn.subscribe("count").await.expect("subscribe");
    system
        .call("counter", "room", "increment", vec![json!(2)], caller())
        .await
        .expect("increment");
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(2)
        })
    );
    hibernating(&system, "room").await;
    assert_eq!(system.hibernating_count(), 1);
    assert_eq!(system.loaded_count(), 0);
    assert_eq!(log.count("start:"), 1);
    assert_eq!(log.count("disconnect:"), 0, "the connection stays open");

    // a call from elsewhere wakes it: on_start runs again, the state is as committed, and
    // the kept connection (its subscription, its state) gets the event
    assert_eq!(
        system
            .call("counter", "room", "increment", vec![json!(3)], caller())
            .await,
        Ok(json!(5))
    );
    assert!(system.is_loaded("counter", "room"));
    assert_eq!(log.count("start:"), 2);
    assert_eq!(log.count("start:2"), 1, "woken with the committed state");
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(5)
        })
    );
    // the connection's own state came through: its calls still know who it is
    assert_eq!(conn.rpc("get", vec![]).await, Ok(json!(5)));
    hibernating(&system, "room").await;
    // a message over the connection wakes it too
    assert_eq!(conn.rpc("increment", vec![json!(1)]).await, Ok(json!(6)));
    assert_eq!(log.count("start:"), 3);

    // a disconnect while hibernating wakes it to run on_disconnect, once
    hibernating(&system, "room").await;
    conn.disconnect().await;
    assert_eq!(log.count("disconnect:ada"), 1);
    assert_eq!(log.count("initialize:"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn an_alarm_wakes_a_hibernating_actor() {
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(true)).await;
    let mut conn = connect(&system, "alarm", "ada").await;
    conn.subscribe("count").await.expect("subscribe");
    conn.rpc("schedule_increment", vec![json!(400), json!(7)])
        .await
        .expect("scheduled");
    hibernating(&system, "alarm").await;
    let event = tokio::time::timeout(Duration::from_secs(5), conn.recv())
        .await
        .expect("the alarm's event");
    assert_eq!(
        event,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(7)
        })
    );
    assert_eq!(log.count("increment:7"), 1);
    system.shutdown().await;
}

#[tokio::test]
async fn shutting_down_wakes_hibernating_actors_to_close_their_connections() {
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(true)).await;
    let mut conn = connect(&system, "bye", "ada").await;
    hibernating(&system, "bye").await;
    system.shutdown().await;
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Close {
            code: ErrorCode::Unavailable.as_str().into(),
            reason: "the actor system is shutting down".into()
        })
    );
    assert_eq!(log.count("disconnect:ada"), 1, "on_disconnect ran once");
}

#[tokio::test]
async fn without_hibernation_a_connection_keeps_its_actor_loaded() {
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(false)).await;
    let _conn = connect(&system, "kept", "ada").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(system.is_loaded("counter", "kept"));
    assert!(!system.is_hibernating("counter", "kept"));
    assert_eq!(log.count("start:"), 1);
    system.shutdown().await;
}

/// When the state cannot be loaded on waking, the clients are told (a transient code, so
/// they reconnect) instead of being left on a connection nobody serves.
#[tokio::test]
async fn a_wake_that_cannot_load_closes_the_connections_with_a_transient_code() {
    let log = Log::default();
    let store = ControlledStore::new();
    let system = common::system_with(&log, store.clone(), config(true)).await;
    let mut conn = connect(&system, "broken", "ada").await;
    conn.rpc("increment", vec![json!(1)]).await.expect("ok");
    hibernating(&system, "broken").await;
    store.fail_loads(true);
    let error = system
        .call("counter", "broken", "get", vec![], caller())
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable.as_str());
    let closed = next(&mut conn).await;
    assert!(
        matches!(&closed, Some(ServerMessage::Close { code, .. }) if code == "unavailable"),
        "{closed:?}"
    );
    // once the store is back, the actor is there with everything it committed
    store.fail_loads(false);
    assert_eq!(
        system
            .call("counter", "broken", "get", vec![], caller())
            .await,
        Ok(json!(1))
    );
    system.shutdown().await;
}

/// Over WebSockets: a hibernating actor's clients stay connected and get its events once
/// it wakes.
#[tokio::test]
async fn a_hibernating_actors_websocket_clients_get_events_after_it_wakes() {
    use common::net::{Server, recv, send, ws_connect};
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(true)).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let mut ws = ws_connect(&server.ws_url("counter", "ws", Some(r#"{"token":"ada"}"#))).await;
    assert!(matches!(recv(&mut ws).await, ServerMessage::Init { .. }));
    assert!(matches!(recv(&mut ws).await, ServerMessage::Event { .. }));
    send(&mut ws, r#"{"v":1,"type":"subscribe","event":"count"}"#).await;
    // the subscription is handled before the actor goes idle
    send(
        &mut ws,
        r#"{"v":1,"type":"rpc","id":1,"method":"get","args":[]}"#,
    )
    .await;
    assert_eq!(
        recv(&mut ws).await,
        ServerMessage::RpcOk {
            id: 1,
            output: json!(0)
        }
    );
    hibernating(&system, "ws").await;
    assert_eq!(server.transport.open_connections(), 1);
    system
        .call("counter", "ws", "increment", vec![json!(4)], caller())
        .await
        .expect("wakes");
    assert_eq!(
        recv(&mut ws).await,
        ServerMessage::Event {
            event: "count".into(),
            payload: json!(4)
        }
    );
    system.shutdown().await;
    server.stop().await;
}

/// `live_keys` counts the connections each instance holds: real in-process connections,
/// one of them gone, the other kept through hibernation.
#[tokio::test]
async fn live_keys_count_the_connections_an_actor_holds_even_while_it_hibernates() {
    let log = Log::default();
    let system = common::system_with(&log, MemoryStore::new(), config(true)).await;
    let connections = |key: &str| {
        system
            .live_keys("counter", None, 10)
            .into_iter()
            .find(|k| k.key == key)
            .map(|k| (k.connections, k.hibernating))
    };
    let ada = connect(&system, "room", "ada").await;
    let grace = connect(&system, "room", "grace").await;
    assert_eq!(connections("room").map(|(n, _)| n), Some(2));

    grace.disconnect().await;
    until("the disconnect is counted", || {
        connections("room").map(|(n, _)| n) == Some(1)
    })
    .await;

    hibernating(&system, "room").await;
    assert_eq!(
        connections("room"),
        Some((1, true)),
        "kept while hibernating"
    );

    // woken by a call, it still holds the one connection
    system
        .call("counter", "room", "increment", vec![json!(1)], caller())
        .await
        .expect("increment");
    assert_eq!(connections("room").map(|(n, _)| n), Some(1));
    ada.disconnect().await;
    until("the last disconnect is counted", || {
        connections("room").is_none_or(|(n, _)| n == 0)
    })
    .await;
    system.shutdown().await;
}
