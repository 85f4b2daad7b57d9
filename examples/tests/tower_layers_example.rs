//! The tower_layers example over a real socket: what its doc comment's curl lines show.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../tower_layers.rs"]
mod tower_layers;

#[tokio::test]
async fn layers_answer_at_the_app_group_and_route_levels() {
    let server = TestServer::start(tower_layers::app()).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.url("/api/items"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET,POST"
    );
    assert_eq!(preflight.headers()["x-request-id"].len(), 36);

    let report = client
        .get(server.url("/api/report"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert_eq!(report.headers()["content-encoding"], "gzip");
    let created = client.post(server.url("/api/items")).send().await.unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.text().await.unwrap(), "created");

    assert_eq!(server.get("/api/slow").await, (408, String::new()));
    server.stop().await;
}
