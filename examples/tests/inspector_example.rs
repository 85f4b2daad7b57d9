//! The inspector example over a real loopback socket: the metrics a scrape sees, the JSON
//! the inspector serves, production's refusal without the token, and the page in headless
//! Chromium.

mod common;

use common::TestServer;
use common::browser::{Browser, chromium_or_skip};
use flame_core::Env;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../inspector.rs"]
mod inspector;

const SCRIPT_NOTE: &str = "<script>window.pwned = true</script>";

/// A service the example never maps.
#[derive(Clone)]
struct Mailer;

async fn pin(server: &TestServer, board: &str, text: &str) -> Value {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/boards/{board}/notes")))
        .query(&[("text", text)])
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String) {
    let (status, _, body) = get_typed(server, path, token).await;
    (status, body)
}

/// The status, the content type and the body.
async fn get_typed(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

async fn json_of(server: &TestServer, path: &str) -> Value {
    let (status, body) = get(server, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

#[tokio::test]
async fn a_scrape_counts_requests_by_route_pattern_and_sees_the_actors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system, _metrics) = inspector::app(dir.path(), Env::Development, None)
        .await
        .expect("app");
    let server = TestServer::start(f).await;

    assert_eq!(pin(&server, "home", "milk").await, json!({ "count": 1 }));
    assert_eq!(
        pin(&server, "work", "call bob").await,
        json!({ "count": 1 })
    );
    // raw paths nobody routes share one label value, whatever they are
    for n in 0..5 {
        assert_eq!(get(&server, &format!("/nope/{n}"), None).await.0, 404);
    }

    let (status, content_type, text) = get_typed(&server, "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains(
            r#"flame_http_requests_total{method="POST",route="/boards/{board}/notes",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"flame_http_requests_total{method="GET",route="unmatched",status="404"} 5"#
        ),
        "{text}"
    );
    assert!(
        !text.contains("/nope/"),
        "raw paths never become labels: {text}"
    );
    assert!(
        text.contains(
            r#"flame_http_request_duration_seconds_count{method="POST",route="/boards/{board}/notes"} 2"#
        ),
        "{text}"
    );
    // the scrape itself is in flight while it renders
    assert!(text.contains("flame_http_requests_in_flight 1"), "{text}");
    assert!(text.contains("flame_actors_loaded 2"), "{text}");
    assert!(text.contains("flame_actors_hibernating 0"), "{text}");
    assert!(text.contains("flame_actor_connections_open 0"), "{text}");
    // the server's own counters: this scrape's connection is open
    assert!(text.contains("flame_http_accept_errors_total 0"), "{text}");
    assert!(
        !text.contains("flame_http_connections_open 0\n"),
        "the scrape's own connection is counted: {text}"
    );
    assert!(text.contains("flame_actor_commit_writes_total"), "{text}");
    assert!(
        text.contains("flame_actor_commit_failures_total 0"),
        "{text}"
    );
    assert!(
        text.contains(r#"flame_actor_commit_batch_size_bucket{le="+Inf"}"#),
        "{text}"
    );
    assert!(
        text.contains("flame_actor_commit_duration_seconds_count"),
        "{text}"
    );
    let stats = system.commit_stats();
    assert!(stats.transactions >= 1 && stats.writes >= 2, "{stats:?}");
    assert_eq!(stats.latency.iter().sum::<u64>(), stats.transactions);

    server.stop().await;
    system.shutdown().await;
}

#[tokio::test]
async fn the_inspector_serves_routes_actors_and_one_actors_state_in_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system, _metrics) = inspector::app(dir.path(), Env::Development, None)
        .await
        .expect("app");
    let server = TestServer::start(f).await;
    for text in ["milk", "eggs", SCRIPT_NOTE] {
        pin(&server, "home", text).await;
    }
    pin(&server, "work", "call bob").await;

    // routes: the app's, in registration order, paged by index
    let routes = json_of(&server, "/_flame/api/routes").await;
    let listed: Vec<(String, String)> = routes["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_owned(),
                r["pattern"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        listed.contains(&("POST".into(), "/boards/{board}/notes".into())),
        "{routes}"
    );
    assert!(
        listed.contains(&("GET".into(), "/metrics".into())),
        "{routes}"
    );
    assert_eq!(routes["routes"][0]["handler_count"], 1);
    assert_eq!(routes["next"], Value::Null);
    let first = json_of(&server, "/_flame/api/routes?limit=1").await;
    assert_eq!(first["routes"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["next"], 0);
    let second = json_of(&server, "/_flame/api/routes?limit=1&after=0").await;
    assert_eq!(second["routes"][0]["index"], 1);
    // a limit beyond the bound is cut to it
    let capped = json_of(&server, "/_flame/api/routes?limit=100000").await;
    assert!(capped["routes"].as_array().map_or(0, Vec::len) <= flame_metrics::MAX_PAGE);

    // the actors: kinds and counts, live keys paged by key
    let actors = json_of(&server, "/_flame/api/actors").await;
    assert_eq!(actors["kinds"], json!(["board"]));
    assert_eq!(actors["loaded"], 2);
    assert_eq!(actors["hibernating"], 0);
    assert_eq!(actors["connections"], 0);
    let keys = json_of(&server, "/_flame/api/keys?name=board&limit=1").await;
    assert_eq!(
        keys["keys"],
        json!([{ "key": "home", "hibernating": false, "mailbox": 0, "connections": 0 }])
    );
    assert_eq!(keys["next"], "home");
    let rest = json_of(&server, "/_flame/api/keys?name=board&limit=1&after=home").await;
    assert_eq!(rest["keys"][0]["key"], "work");
    let (status, _) = get(&server, "/_flame/api/keys?name=nobody", None).await;
    assert_eq!(status, 404);

    // the services the app maps (the transport maps the actor system), sorted
    let services = json_of(&server, "/_flame/api/services").await;
    let names: Vec<&str> = services["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&std::any::type_name::<flame_stateful::ActorSystem>()),
        "{services}"
    );
    assert!(names.is_sorted(), "{services}");
    assert_eq!(services["total"], names.len());
    let one = json_of(&server, "/_flame/api/services?limit=1").await;
    assert_eq!(one["services"].as_array().map(Vec::len), Some(1));

    // the server's live counters: this request's own connection is open
    let counters = json_of(&server, "/_flame/api/server").await;
    assert!(
        counters["open_connections"].as_u64() >= Some(1),
        "{counters}"
    );
    assert!(counters["accepted"].as_u64() >= Some(1), "{counters}");
    assert_eq!(counters["accept_errors"], 0, "{counters}");
    assert!(counters["connection_cap"].as_u64() >= Some(1), "{counters}");

    // the startup check: every handler's arguments are provided
    let check = json_of(&server, "/_flame/api/check").await;
    assert_eq!(
        check,
        json!({ "ok": true, "total": 0, "missing": [], "next": null })
    );

    // the recent commits, newest first: the four pins, one transaction each
    let commits = json_of(&server, "/_flame/api/commits").await;
    let commits = commits["commits"].as_array().expect("commits");
    assert_eq!(commits.len(), 4, "{commits:?}");
    assert_eq!(commits[0]["actors"], json!(["board/work"]));
    assert_eq!(commits[0]["writes"], 1);
    assert_eq!(commits[0]["ok"], true);
    assert_eq!(commits[0]["error"], Value::Null);
    assert_eq!(commits[3]["actors"], json!(["board/home"]));
    assert!(commits[0]["at_unix_ms"].as_u64() >= commits[3]["at_unix_ms"].as_u64());

    // one actor: its committed state and its key-value entries, paged by a hex cursor
    let home = json_of(&server, "/_flame/api/actor?name=board&key=home&limit=2").await;
    assert_eq!(home["state"], json!({ "version": 1, "value": 3 }));
    assert_eq!(home["loaded"], true);
    assert_eq!(
        home["kv"]["entries"],
        json!([
            { "key": "note/000001", "key_hex": "6e6f74652f303030303031", "value": "milk" },
            { "key": "note/000002", "key_hex": "6e6f74652f303030303032", "value": "eggs" },
        ])
    );
    let cursor = home["kv"]["next"].as_str().expect("a cursor").to_owned();
    let more = json_of(
        &server,
        &format!("/_flame/api/actor?name=board&key=home&limit=2&from={cursor}"),
    )
    .await;
    assert_eq!(more["kv"]["entries"][0]["value"], SCRIPT_NOTE);
    assert_eq!(more["kv"]["next"], Value::Null);
    let (status, _) = get(
        &server,
        "/_flame/api/actor?name=board&key=home&from=xyz",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = get(&server, "/_flame/api/actor?name=nobody&key=home", None).await;
    assert_eq!(status, 404);
    // a key never used has no state and no entries, and reading it does not load it
    let fresh = json_of(&server, "/_flame/api/actor?name=board&key=fresh").await;
    assert_eq!(fresh["state"], Value::Null);
    assert_eq!(fresh["loaded"], false);
    assert!(!system.is_loaded("board", "fresh"));

    // the page and the metrics it shows
    let (status, content_type, page) = get_typed(&server, "/_flame", None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(page.contains("<title>flame inspector</title>"));
    let (status, metrics) = get(&server, "/_flame/api/metrics", None).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("flame_http_requests_total"), "{metrics}");

    server.stop().await;
    system.shutdown().await;
}

#[tokio::test]
async fn production_refuses_the_inspector_without_its_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    // production, no token: nothing is mounted
    let (f, system, _metrics) = inspector::app(dir.path(), Env::Production, None)
        .await
        .expect("app");
    let server = TestServer::start(f).await;
    for path in [
        "/_flame",
        "/_flame/api/routes",
        "/_flame/api/actor?name=board&key=a",
    ] {
        assert_eq!(get(&server, path, None).await.0, 404, "{path}");
        assert_eq!(get(&server, path, Some("guess")).await.0, 404, "{path}");
    }
    server.stop().await;
    system.shutdown().await;

    // production with a token: only requests carrying it get through
    let dir = tempfile::tempdir().expect("tempdir");
    let (f, system, _metrics) = inspector::app(dir.path(), Env::Production, Some("s3cret-token"))
        .await
        .expect("app");
    let server = TestServer::start(f).await;
    assert_eq!(get(&server, "/_flame/api/routes", None).await.0, 404);
    assert_eq!(
        get(&server, "/_flame/api/routes", Some("s3cret-tokeN"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&server, "/_flame/api/routes?token=wrong", None).await.0,
        404
    );
    assert_eq!(get(&server, "/_flame", None).await.0, 404);
    let (status, body) = get(&server, "/_flame/api/routes", Some("s3cret-token")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get(&server, "/_flame?token=s3cret-token", None).await.0,
        200
    );
    server.stop().await;
    system.shutdown().await;
}

#[tokio::test]
async fn the_page_shows_an_actors_state_in_headless_chromium() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut boards = inspector::boards(dir.path()).await.expect("app");
    // a handler whose argument nothing provides: the startup check lists it
    boards.f.get("/mail", |_: Mailer| "sent");
    inspector::mount_inspector(&mut boards, Env::Production, Some("page-token"));
    let inspector::Boards { f, system, .. } = boards;
    // TestServer refuses an app whose startup check fails; outside the test environment
    // `serve` only warns, as a developer's app would
    assert_ne!(
        flame_core::env(),
        Env::Test,
        "the check would refuse to serve"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(f.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    for text in ["milk", SCRIPT_NOTE] {
        let response = reqwest::Client::new()
            .post(format!("{base}/boards/home/notes"))
            .query(&[("text", text)])
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200);
    }
    // a client connected to the home board, in process
    let caller = std::sync::Arc::new(flame_actor::BackendActor::new("reader"));
    let mut reader = system
        .connect("board", "home", "", caller)
        .await
        .expect("connected");
    assert!(reader.recv().await.is_some(), "its init");

    let url = format!("{base}/_flame?token=page-token");
    let browser = Browser::start(&binary, &url);
    let mut page = browser.page(&url).await;
    page.wait_for("document.body.dataset.ready || ''", &json!("true"))
        .await;
    assert_eq!(
        page.eval(
            "document.querySelector('#routes').textContent.includes('/boards/{board}/notes')"
        )
        .await,
        json!(true)
    );
    assert_eq!(
        page.eval(
            "document.querySelector('#metrics').textContent.includes('flame_actors_loaded 1')"
        )
        .await,
        json!(true)
    );
    // the services, the check report naming the missing argument, the connection count
    // and the recent commits
    assert_eq!(
        page.eval("document.querySelector('#services').textContent.includes('ActorSystem')")
            .await,
        json!(true)
    );
    assert_eq!(
        page.eval("document.getElementById('check').className")
            .await,
        json!("bad")
    );
    assert_eq!(
        page.eval(
            "Array.from(document.querySelectorAll('#check-missing li')).map(li => li.textContent)"
        )
        .await
        .as_array()
        .map(|items| {
            items.len() == 1
                && items[0]
                    .as_str()
                    .is_some_and(|t| t.starts_with("GET /mail: ") && t.ends_with("::Mailer"))
        }),
        Some(true)
    );
    let server_line = page
        .eval("document.getElementById('server').textContent")
        .await;
    assert!(
        server_line
            .as_str()
            .is_some_and(|t| t.starts_with("open connections ") && t.contains("accept errors 0")),
        "{server_line}"
    );
    assert_eq!(
        page.eval("document.querySelector('button[data-key=\"home\"]').parentElement.textContent")
            .await,
        json!("home loaded, mailbox 0, connections 1")
    );
    // the two pins at least, each its own transaction; nothing else writes in this app
    let commits = page
        .eval(
            "Array.from(document.querySelectorAll('#commits tbody tr')).map(tr => tr.cells[2].textContent + ' ' + tr.cells[4].textContent)",
        )
        .await;
    let commits = commits.as_array().expect("rows");
    assert!(commits.len() >= 2, "{commits:?}");
    assert!(
        commits.iter().all(|row| row == "board/home ok"),
        "{commits:?}"
    );
    page.eval("document.querySelector('button[data-key=\"home\"]').click(); true")
        .await;
    page.wait_for(
        "document.getElementById('state').textContent",
        &json!("version 1\n2"),
    )
    .await;
    // the note holding markup is shown as text and never ran
    page.wait_for(
        "document.querySelector('#kv').textContent.includes('<script>window.pwned')",
        &json!(true),
    )
    .await;
    assert_eq!(page.eval("window.pwned === undefined").await, json!(true));
    assert_eq!(
        page.eval("document.querySelectorAll('#kv script').length")
            .await,
        json!(0)
    );

    drop(browser);
    drop(reader);
    let _ = stop.send(());
    assert!(matches!(served.await, Ok(Ok(()))));
    system.shutdown().await;
}
