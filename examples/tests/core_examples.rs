//! Each core example served on a real socket, checked against the seed's transcripts.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../classic.rs"]
mod classic;
#[allow(dead_code)]
#[path = "../instances.rs"]
mod instances;
#[allow(dead_code)]
#[path = "../middleware.rs"]
mod middleware;
#[allow(dead_code)]
#[path = "../return_values.rs"]
mod return_values;
#[allow(dead_code)]
#[path = "../services.rs"]
mod services;

#[tokio::test]
async fn classic_serves_the_seed_handlers() {
    let server = TestServer::start(classic::app()).await;
    assert_eq!(
        common::get(&server, "/anonymous").await,
        (200, "Respond from an anonymous function".into())
    );
    assert_eq!(
        common::get(&server, "/declared").await,
        (200, "Respond from a declared function".into())
    );
    assert_eq!(
        common::get(&server, "/method").await,
        (200, "Respond from a method of a type".into())
    );
    assert_eq!(
        common::get(&server, "/nothing-here").await,
        (404, "404 page not found\n".into())
    );
    server.stop().await;
}

#[tokio::test]
async fn return_values_match_the_seed() {
    let server = TestServer::start(return_values::app()).await;
    let cases = [
        ("/plain/string", 200, "Return a string"),
        ("/plain/bytes", 200, "Return some bytes"),
        ("/plain/error", 500, "Return an error"),
        ("/plain/no-error", 200, ""),
        ("/status/string", 200, "Return a string"),
        ("/status/bytes", 200, "Return some bytes"),
        ("/status/error", 403, "Return an error"),
        ("/result/string", 200, "Return a string"),
        ("/result/bytes", 200, "Return some bytes"),
        ("/result/error", 500, "Return an error"),
    ];
    for (path, status, body) in cases {
        assert_eq!(
            common::get(&server, path).await,
            (status, body.to_owned()),
            "{path}"
        );
    }
    let response = reqwest::get(server.url("/plain/error")).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    // Flamego writes `err.Error()`, not Go's `http.Error`: no `nosniff`.
    assert!(response.headers().get("x-content-type-options").is_none());
    server.stop().await;
}

#[tokio::test]
async fn services_are_injected_and_a_missing_one_is_reported() {
    let app = services::app();
    // The startup check names the missing service before any request (flame-test's
    // `TestServer` would fail the test here); served anyway, the request that needs it gets
    // Flamego's panic.
    let report = app.check();
    assert!(
        !report.is_ok(),
        "the example leaves a service out on purpose"
    );
    assert!(report.to_string().contains("/missing"), "{report}");
    let server = flame_test_support::TestServer::start(app).await;
    assert_eq!(
        server.get("/greet/ada").await,
        (200, "Hello, ada! (visit 1)".into())
    );
    assert_eq!(
        server.get("/greet/bob").await,
        (200, "Hello, bob! (visit 2)".into())
    );
    assert_eq!(
        server.get("/about").await,
        (200, format!("flame demo v{}", env!("CARGO_PKG_VERSION")))
    );

    let response = reqwest::get(server.url("/builtins?x=1")).await.unwrap();
    assert_eq!(response.headers()["x-route"], "/builtins");
    assert_eq!(response.text().await.unwrap(), "GET /builtins?x=1");

    let (status, body) = server.get("/missing").await;
    assert_eq!(status, 500);
    // The module path depends on the crate the example is compiled into; the words are Flamego's.
    // In development Recovery answers Flamego's HTML panic page, the message in its title.
    let title = body
        .lines()
        .nth(1)
        .and_then(|line| line.strip_prefix("<head><title>"))
        .and_then(|line| line.strip_suffix("</title>"))
        .unwrap_or_default();
    assert!(
        title.starts_with("PANIC: unable to invoke the 1st handler ["),
        "{body}"
    );
    assert!(
        title.contains("services::app::{{closure}}]: value not found for type "),
        "{body}"
    );
    assert!(title.ends_with("services::MyService"), "{body}");
    // The server survived the panic.
    assert_eq!(server.get("/greet/eve").await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn services_check_names_the_missing_route() {
    let report = services::app().check();
    assert_eq!(report.missing.len(), 1, "{report}");
    let missing = &report.missing[0];
    assert_eq!(missing.route, "GET /missing");
    assert_eq!(missing.ordinal, 1);
    assert!(
        missing.type_name.ends_with("services::MyService"),
        "{}",
        missing.type_name
    );
}

#[tokio::test]
async fn middleware_runs_in_order_around_next() {
    let server = TestServer::start(middleware::app()).await;

    let response = reqwest::get(server.url("/hi")).await.unwrap();
    assert_eq!(
        response.headers()["x-trace"],
        "global > route-7 > route-8 > /route-8 > /route-7 > /global"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "hi: global > route-7 > route-8"
    );

    let response = reqwest::get(server.url("/api/hello")).await.unwrap();
    assert_eq!(
        response.headers()["x-trace"],
        "global > group-4 > group-5 > /group-5 > /group-4 > /global"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "hello: global > group-4 > group-5"
    );

    // Global middleware runs even when no route matches.
    let response = reqwest::get(server.url("/nowhere")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-trace"], "global > /global");
    let report = middleware::app().check();
    assert!(report.is_ok(), "{report}");
    server.stop().await;
}

#[tokio::test]
async fn instances_are_independent() {
    let (f1, f2) = instances::instances();
    let (s1, s2) = (TestServer::start(f1).await, TestServer::start(f2).await);
    assert_eq!(common::get(&s1, "/").await, (200, "f1: classic".into()));
    assert_eq!(
        common::get(&s2, "/").await,
        (200, "f2: bare, with Recovery only".into())
    );
    s1.stop().await;
    s2.stop().await;
}
