//! The recipes example over a real socket, with the public test kit: what the book's
//! recipes promise.

#[allow(dead_code)]
#[path = "../recipes.rs"]
mod recipes;

// ANCHOR: testing
use flame_core::Method;
use flame_test::TestServer;

#[tokio::test]
async fn errors_answer_in_one_json_shape() {
    // `start` runs the startup check: a handler needing an unprovided service fails here.
    let server = TestServer::start(recipes::app()).await;

    let found = server.get("/orders/7").await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.text(), "order 7: 2 items");

    let missing = server.get("/orders/9").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.error().error.code, "order_not_found");
    assert_eq!(missing.error().error.message, "no order 9");

    let shipped = server.delete("/orders/7").await;
    assert_eq!(shipped.status(), 409);
    assert_eq!(shipped.error().error.code, "already_shipped");

    let wrong_method = server.request(Method::PUT, "/orders/7").await;
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.header("allow"), Some("GET, DELETE"));
    assert_eq!(wrong_method.error().error.code, "method_not_allowed");
    server.stop().await;
}
// ANCHOR_END: testing

#[tokio::test]
async fn internal_details_stay_in_the_log_and_plain_errors_become_json() {
    let server = TestServer::start(recipes::app()).await;
    let broken = server.get("/broken").await;
    assert_eq!(broken.status(), 500);
    assert_eq!(broken.error().error.message, "internal error");
    let crash = server.get("/crash").await;
    assert_eq!(crash.status(), 500);
    assert_eq!(crash.header("content-type"), Some("application/json"));
    assert_eq!(crash.error().error.code, "internal_error");
    assert_eq!(crash.error().error.message, "the disk is full");
    let nowhere = server.get("/nowhere").await;
    assert_eq!(nowhere.status(), 404);
    assert_eq!(nowhere.error().error.code, "not_found");
    server.stop().await;
}

#[tokio::test]
async fn the_timing_middleware_wraps_every_answer() {
    let server = TestServer::start(recipes::app()).await;
    for path in ["/orders/7", "/orders/9", "/nowhere"] {
        let answer = server.get(path).await;
        let took = answer.header("x-response-time").unwrap_or_default();
        assert!(took.ends_with("ms"), "{path}: {took:?}");
        assert!(
            took.trim_end_matches("ms").parse::<f64>().is_ok(),
            "{path}: {took:?}"
        );
    }
    server.stop().await;
}
