//! The `cluster` example: three nodes in-process on loopback ports against one real
//! PostgreSQL; the page and the counter through each of them.

use std::time::Duration;

use flame_postgres::ClusterOptions;
use flame_test_support::pg::PgServer;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../cluster.rs"]
mod cluster;

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_serve_the_page_and_one_count() {
    let Some(pg) = PgServer::start() else { return };
    let mut addrs = Vec::new();
    let mut systems = Vec::new();
    for n in 1..=3 {
        let addr = free_addr();
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        let options = ClusterOptions::new(format!("node-{n}"), &addr, "example secret");
        let (f, system) = cluster::node(&pg.url(), options).await.unwrap();
        tokio::spawn(f.serve(listener));
        addrs.push(addr);
        systems.push(system);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for (i, addr) in addrs.iter().enumerate() {
        let page = http
            .get(format!("http://{addr}/counter.html"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let count = http
            .post(format!("http://{addr}/actors/counter/main/rpc/increment"))
            .header("authorization", "Bearer alice-token")
            .json(&json!([]))
            .send()
            .await
            .unwrap();
        assert_eq!(count.status(), 200);
        // one counter, whichever node the call reached
        assert_eq!(count.json::<Value>().await.unwrap(), json!(i + 1));
    }
    // the caller's identity travelled with the forwarded calls: without a token, refused
    let refused = http
        .post(format!(
            "http://{}/actors/counter/main/rpc/increment",
            addrs[2]
        ))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let loaded = systems
        .iter()
        .filter(|s| s.is_loaded("counter", "main"))
        .count();
    assert_eq!(loaded, 1);
    for system in systems {
        system.shutdown().await;
    }
}
