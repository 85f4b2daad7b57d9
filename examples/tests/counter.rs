//! The `counter` example: over real sockets in-process, as a real process killed with
//! SIGKILL and started again on the same data, with the Rust client, and in headless Chromium.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestServer;
use common::browser::{Browser, chromium_or_skip};
use flame_client::{ActorClient, ClientConfig, ClientStatus};
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../counter.rs"]
mod counter;
#[allow(dead_code)]
#[path = "../counter_client.rs"]
mod counter_client;

/// Only there so a broken test fails instead of hanging.
const HANG: Duration = Duration::from_secs(60);

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future).await.expect("no hang")
}

async fn http_increment(base: &str, token: Option<&str>) -> (u16, Value) {
    let mut request =
        reqwest::Client::new().post(format!("{base}/actors/counter/main/rpc/increment"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn http_count(base: &str) -> i64 {
    let response = reqwest::Client::new()
        .post(format!("{base}/actors/counter/main/rpc/get_count"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// The JSON API's handlers call the actor through its typed handle, on behalf of the
/// request's caller; the actor's `unauthorized` answers 401 with the error as JSON.
#[tokio::test]
async fn the_api_calls_the_counter_through_its_typed_handle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system) = counter::app(dir.path()).await.expect("app");
    let server = TestServer::start(f).await;
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();

    let response = within(
        client
            .post(format!("{base}/api/counters/api/increment?by=5"))
            .bearer_auth("alice-token")
            .send(),
    )
    .await
    .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"count": 5}));

    // no token: the caller the handle passes on is anonymous, and the actor refuses it
    let response = within(
        client
            .post(format!("{base}/api/counters/api/increment"))
            .send(),
    )
    .await
    .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );

    let response = within(client.get(format!("{base}/api/counters/api")).send())
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"count": 5}));
    // the same actor the protocol's HTTP RPC reaches
    let response = within(
        client
            .post(format!("{base}/actors/counter/api/rpc/get_count"))
            .send(),
    )
    .await
    .expect("request");
    assert_eq!(response.json::<i64>().await.unwrap(), 5);
    server.stop().await;
    system.shutdown().await;
}

#[tokio::test]
async fn the_counter_over_websocket_and_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system) = counter::app(dir.path()).await.expect("app");
    let server = TestServer::start(f).await;
    let base = format!("http://{}", server.addr());

    let alice = ActorClient::connect(
        &base,
        "counter",
        "main",
        json!({"auth_token": "alice-token"}),
    )
    .await
    .expect("alice connects");
    let mut updates = alice.on("countUpdated");
    assert_eq!(alice.call::<i64>("increment", ()).await, Ok(1));
    assert_eq!(within(updates.recv()).await, Some(json!({"count": 1})));
    assert_eq!(alice.call::<i64>("increment", (10,)).await, Ok(11));
    assert_eq!(within(updates.recv()).await, Some(json!({"count": 11})));

    let err = ActorClient::connect(&base, "counter", "main", json!({"auth_token": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"));
    assert!(err.to_string().contains("Invalid auth token"), "{err}");

    let (status, body) = http_increment(&base, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(
        http_increment(&base, Some("bob-token")).await,
        (200, json!(12))
    );
    assert_eq!(
        within(updates.recv()).await,
        Some(json!({"count": 12})),
        "HTTP changes are broadcast too"
    );

    // the page and the client script
    let (status, page) = common::get(&server, "/counter.html").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"import { connect } from "/actors/client.js""#));
    assert_eq!(common::get(&server, "/actors/client.js").await.0, 200);

    // the counter_client example against this server
    assert_eq!(
        within(counter_client::run(&base, 2))
            .await
            .expect("client runs"),
        14
    );

    alice.close().await;
    system.shutdown().await;
    server.stop().await;
}

/// The `counter` example as a binary, built by the same cargo invocation as this test.
fn counter_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flame-counter"))
}

/// A running `counter` process.
struct CounterProcess {
    child: Child,
    base: String,
}

impl CounterProcess {
    fn start(data_dir: &Path, addr: &str) -> Self {
        let mut child = Command::new(counter_binary())
            .env("FLAME_ADDR", addr)
            .env("FLAME_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the counter starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a first line");
        let base = line
            .trim()
            .strip_prefix("counter listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// SIGKILL: no shutdown hook, no flush, nothing.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for CounterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn acknowledged_counts_survive_sigkill_and_the_client_reconnects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = CounterProcess::start(dir.path(), "127.0.0.1:0");
    let addr = first.addr().to_owned();
    let base = first.base.clone();

    for expected in 1..=3 {
        assert_eq!(
            http_increment(&base, Some("alice-token")).await,
            (200, json!(expected))
        );
    }
    let config = ClientConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..ClientConfig::default()
    };
    let client = ActorClient::connect_with(
        &base,
        "counter",
        "main",
        json!({"auth_token": "alice-token"}),
        config,
    )
    .await
    .expect("connects");
    let mut updates = client.on("countUpdated");
    assert_eq!(client.call::<i64>("increment", ()).await, Ok(4));
    assert_eq!(within(updates.recv()).await, Some(json!({"count": 4})));

    first.kill();
    let mut status = client.status_changes();
    within(status.wait_for(|s| matches!(s, ClientStatus::Reconnecting { .. })))
        .await
        .expect("status");

    // the same data dir, the same address
    let second = CounterProcess::start(dir.path(), &addr);
    assert_eq!(
        http_count(&second.base).await,
        4,
        "every acknowledged increment survived"
    );
    within(status.wait_for(|s| matches!(s, ClientStatus::Connected { connects: 2, .. })))
        .await
        .expect("reconnected");
    assert_eq!(client.call::<i64>("increment", ()).await, Ok(5));
    assert_eq!(
        within(updates.recv()).await,
        Some(json!({"count": 5})),
        "subscribed again after the reconnect"
    );
    client.close().await;
    drop(second);
}

#[tokio::test]
async fn the_page_shows_the_count_live_in_headless_chromium() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system) = counter::app(dir.path()).await.expect("app");
    let server = TestServer::start(f).await;
    let base = format!("http://{}", server.addr());
    let url = format!("{base}/counter.html?key=main");
    let browser = Browser::start(&binary, &url);
    let mut page = browser.page(&url).await;

    let status = "document.getElementById('status').textContent";
    let count = "document.getElementById('count').textContent";
    page.wait_for(status, &json!("open")).await;
    page.wait_for(count, &json!("0")).await;

    // a click in the page: the JS client calls `increment`
    page.eval("document.getElementById('increment').click()")
        .await;
    page.wait_for(count, &json!("1")).await;
    // a change made elsewhere reaches the page through `countUpdated`
    assert_eq!(
        http_increment(&base, Some("bob-token")).await,
        (200, json!(2))
    );
    page.wait_for(count, &json!("2")).await;
    // the page's connection authenticated as alice
    assert_eq!(
        page.eval("window.counter.connId !== null").await,
        json!(true)
    );

    // The server goes away and comes back on the same address and data: the page's JS client
    // reconnects with backoff and subscribes to `countUpdated` again.
    page.eval(
        "window.__statuses = []; window.counter.onStatus((s) => window.__statuses.push(s)); true",
    )
    .await;
    let addr = server.addr();
    system.shutdown().await;
    server.stop().await;
    page.wait_for("window.__statuses.includes('connecting')", &json!(true))
        .await;
    let (f, system) = counter::app(dir.path())
        .await
        .expect("the same data reopens");
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the same address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(f.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    page.wait_for(status, &json!("open")).await;
    // the page reads the count once when it reopens...
    page.wait_for(count, &json!("2")).await;
    // ...so a later change can only reach it through the re-subscribed event
    assert_eq!(
        http_increment(&base, Some("bob-token")).await,
        (200, json!(3))
    );
    page.wait_for(count, &json!("3")).await;

    drop(page);
    drop(browser);
    system.shutdown().await;
    let _ = stop.send(());
    serving.await.expect("server task").expect("served");
}
