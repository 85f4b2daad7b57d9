//! The Rust client against a real server on loopback: calls, events, errors, reconnects.

use flame_test_support as common;

use std::time::Duration;

use common::net::{HANG, Server, eventually};
use common::{Log, memory_system, redb_system};
use flame_client::{ActorClient, ClientConfig, ClientError, ClientStatus};
use flame_protocol::ErrorCode;
use flame_stateful::transport::TransportConfig;
use futures_util::StreamExt;
use serde_json::{Value, json};

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future).await.expect("no hang")
}

#[tokio::test]
async fn calls_events_and_errors() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let client = ActorClient::connect(&server.base(), "counter", "c", json!({"token": "ada"}))
        .await
        .expect("connects");
    assert!(client.status().is_connected());

    let welcome = client.on("welcome");
    assert_eq!(welcome.event(), "welcome");
    let mut counts = client.on("count");
    let n: i64 = client.call("increment", (2,)).await.expect("increment");
    assert_eq!(n, 2);
    assert_eq!(within(counts.recv()).await, Some(json!(2)));
    let (kind, _, user): (String, Option<u64>, Option<String>) =
        client.call("whoami", ()).await.expect("whoami");
    assert_eq!((kind.as_str(), user.as_deref()), ("websocket", Some("ada")));

    // two subscriptions of one event both see it; dropping one keeps the other
    let mut also = client.on("count");
    let _: i64 = client.call("increment", (1,)).await.expect("increment");
    assert_eq!(within(counts.recv()).await, Some(json!(3)));
    assert_eq!(within(also.next()).await, Some(json!(3)));
    drop(counts);
    let _: i64 = client.call("increment", (1,)).await.expect("increment");
    assert_eq!(within(also.recv_as::<i64>()).await, Ok(4));

    let err = client.call::<Value>("nope", ()).await.unwrap_err();
    assert!(err.is(ErrorCode::ActionNotFound), "{err}");
    assert!(matches!(err, ClientError::Rpc(_)));
    let err = client.call::<Value>("increment", ("x",)).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_arguments"));
    let err = client.call::<String>("get", ()).await.unwrap_err();
    assert!(matches!(err, ClientError::Convert(_)), "{err}");

    client.close().await;
    assert!(matches!(client.status(), ClientStatus::Closed(_)));
    let err = client.call::<i64>("get", ()).await.unwrap_err();
    assert!(err.is(ErrorCode::ConnectionClosed));
    assert_eq!(within(also.recv()).await, None, "subscriptions end");
    eventually(|| log.count("disconnect:ada") == 1).await;
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn refusals_come_back_with_their_code() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let err = ActorClient::connect(&server.base(), "counter", "c", json!({"token": "bad"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Rejected(e) if e.code == "unauthorized"),
        "{err}"
    );
    let err = ActorClient::connect(&server.base(), "nope", "c", ())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("actor_not_found"));
    let err = ActorClient::connect(
        &server.base(),
        "counter",
        "c",
        json!({"token": "x".repeat(5000)}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some("params_too_long"));
    // params the server could not even read (a request target over hyper's 64 KiB, which
    // it refuses with a bare 414) are refused here, with the same code, before connecting
    let err = ActorClient::connect(
        &server.base(),
        "counter",
        "c",
        json!({"token": "x".repeat(70 * 1024)}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some("params_too_long"), "{err}");
    let err = ActorClient::connect("ws://127.0.0.1:9", "counter", "c", ())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect(_)), "{err}");

    // a destroyed actor ends a connected client for good
    let client = ActorClient::connect(&server.base(), "counter", "d", json!({"token": "t"}))
        .await
        .expect("connects");
    system.destroy("counter", "d").await.expect("destroy");
    let mut status = client.status_changes();
    let closed = within(status.wait_for(|s| matches!(s, ClientStatus::Closed(_))))
        .await
        .expect("status")
        .clone();
    assert_eq!(
        closed,
        ClientStatus::Closed(ClientError::Closed(flame_protocol::WireError::new(
            ErrorCode::ActorDestroyed,
            "the actor was destroyed"
        )))
    );
    system.shutdown().await;
    server.stop().await;
}

#[tokio::test]
async fn the_client_reconnects_after_a_server_restart_and_subscribes_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::default();
    let system = redb_system(&log, dir.path()).await;
    let server = Server::start(system.clone(), TransportConfig::default()).await;
    let addr = server.addr;
    let config = ClientConfig {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..ClientConfig::default()
    };
    let client = ActorClient::connect_with(
        &server.base(),
        "counter",
        "r",
        json!({"token": "ada"}),
        config,
    )
    .await
    .expect("connects");
    let mut counts = client.on("count");
    assert_eq!(client.call::<i64>("increment", (5,)).await, Ok(5));
    assert_eq!(within(counts.recv()).await, Some(json!(5)));

    // the server goes away: its connections are closed with `unavailable`
    system.shutdown().await;
    server.stop().await;
    let mut status = client.status_changes();
    within(status.wait_for(|s| matches!(s, ClientStatus::Reconnecting { .. })))
        .await
        .expect("status");
    // calls made while it is away wait for the next connection
    let queued = {
        let client = client.clone();
        tokio::spawn(async move { client.call::<i64>("increment", (1,)).await })
    };

    // ... and comes back on the same address and data
    let system = redb_system(&log, dir.path()).await;
    let server = Server::start_with(
        system.clone(),
        TransportConfig::default(),
        |_| {},
        &addr.to_string(),
    )
    .await;
    within(status.wait_for(|s| matches!(s, ClientStatus::Connected { connects: 2, .. })))
        .await
        .expect("status");
    assert_eq!(within(queued).await.expect("task"), Ok(6));
    assert_eq!(
        within(counts.recv()).await,
        Some(json!(6)),
        "subscribed again"
    );
    assert_eq!(client.call::<i64>("increment", (1,)).await, Ok(7));
    assert_eq!(within(counts.recv()).await, Some(json!(7)));
    client.close().await;
    system.shutdown().await;
    server.stop().await;
}
