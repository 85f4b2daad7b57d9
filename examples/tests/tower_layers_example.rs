//! The tower_layers example over a real socket: what its doc comment's curl lines show.

use flame_core::Method;
use flame_test::TestServer;

#[allow(dead_code)]
#[path = "../tower_layers.rs"]
mod tower_layers;

#[tokio::test]
async fn layers_answer_at_the_app_group_and_route_levels() {
    let server = TestServer::start(tower_layers::app()).await;
    let preflight = server
        .request(Method::OPTIONS, "/api/items")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .await;
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,POST")
    );
    assert_eq!(preflight.header("x-request-id").map(str::len), Some(36));

    let report = server
        .get("/api/report")
        .header("accept-encoding", "gzip")
        .await;
    assert_eq!(report.status(), 200);
    assert_eq!(report.header("content-encoding"), Some("gzip"));
    let created = server.post("/api/items").await;
    assert_eq!(
        (created.status().as_u16(), created.text()),
        (201, "created")
    );

    let slow = server.get("/api/slow").await;
    assert_eq!((slow.status().as_u16(), slow.text()), (408, ""));
    server.stop().await;
}
