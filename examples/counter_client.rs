//! A Rust client of the `counter` example: connects as alice, follows `countUpdated`,
//! increments a few times, and shows what arrives.
//!
//! ```text
//! cargo run --example counter &            # the server
//! cargo run --example counter_client       # COUNTER_URL=ws://host:port to point elsewhere
//! ```

use std::time::Duration;

use flame_client::ActorClient;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
struct CountUpdated {
    count: i64,
}

// ANCHOR: client
pub async fn run(url: &str, increments: usize) -> anyhow::Result<i64> {
    let counter = ActorClient::connect(
        url,
        "counter",
        "main",
        json!({ "auth_token": "alice-token" }),
    )
    .await?;
    let mut updates = counter.on("countUpdated");
    let mut last = counter.call::<i64>("get_count", ()).await?;
    println!("count is {last}");
    for _ in 0..increments {
        let count: i64 = counter.call("increment", ()).await?;
        let update: CountUpdated = updates.recv_as().await?;
        println!("incremented to {count}; countUpdated says {}", update.count);
        last = count;
    }
    counter.close().await;
    Ok(last)
}
// ANCHOR_END: client

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let url = std::env::var("COUNTER_URL").unwrap_or_else(|_| "ws://127.0.0.1:2830".to_owned());
    let count = tokio::time::timeout(Duration::from_secs(30), run(&url, 3)).await??;
    println!("final count {count}");
    Ok(())
}
