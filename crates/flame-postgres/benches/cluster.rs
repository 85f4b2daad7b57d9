//! Cluster mode on PostgreSQL, with same-run baselines: durable RPC/s of one node and of
//! three (redb on one node and PostgreSQL without cluster mode as the baselines), and the
//! extra latency of a call that lands on a node that does not own its actor (forwarded over
//! the internal link) against the same call sent to the owner; and failover: a node
//! process owning `FAILOVER_ACTORS` actors is SIGKILLed, and every actor is called through a
//! survivor until it answers again (p50/p99/max from the kill, against the lease).
//!
//! A load benchmark printing its figures (`cargo bench -p flame-postgres --bench cluster`);
//! the PostgreSQL server is started from the system's binaries, as in the tests.

#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use flame_actor::Actor;
use flame_postgres::{ClusterOptions, PgCluster, PgStore};
use flame_stateful::store::{ActorStore, RedbStore};
use flame_stateful::transport::TransportConfig;
use flame_stateful::{ActorConfig, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use flame_test_support::net::Server;
use flame_test_support::pg::PgServer;
use serde_json::json;

#[derive(Default)]
struct Counter;

impl StatefulActor for Counter {
    type State = i64;
    type ConnParams = ();
    type ConnState = ();

    async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Counter {
    async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
        *rpc.state_mut() += by;
        *rpc.state()
    }

    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        *rpc.state()
    }
}

#[derive(Debug)]
struct Bench;

impl Actor for Bench {
    fn actor_type(&self) -> &str {
        "bench"
    }
}

const ACTORS: usize = 256;
const CALLS_PER_ACTOR: usize = 40;

fn builder(store: Arc<dyn ActorStore>) -> flame_stateful::ActorSystemBuilder {
    ActorSystem::builder()
        .config(ActorConfig::default())
        .shared_store(store)
        .register_default::<Counter>("counter")
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0);
    format!("127.0.0.1:{port}")
}

struct Node {
    system: ActorSystem,
    server: Server,
}

async fn node(url: &str, id: &str) -> Node {
    node_at(url, id, &free_addr()).await
}

async fn node_at(url: &str, id: &str, addr: &str) -> Node {
    let addr = addr.to_owned();
    let store = PgStore::connect(url).await.expect("connect");
    let cluster = PgCluster::join(
        store.clone(),
        ClusterOptions::new(id, &addr, "bench secret"),
    )
    .await
    .expect("join");
    let system = builder(Arc::new(store))
        .cluster(cluster.config())
        .build()
        .await
        .expect("system");
    let server =
        Server::start_with(system.clone(), TransportConfig::default(), |_| {}, &addr).await;
    Node { system, server }
}

/// `ACTORS` clients, each `CALLS_PER_ACTOR` increments of its own actor, through
/// `systems[actor % n]`; durable calls per second.
async fn durable(systems: &[ActorSystem], prefix: &str) -> f64 {
    let caller: Arc<dyn Actor> = Arc::new(Bench);
    // first activations out of the measurement
    for i in 0..ACTORS {
        let system = &systems[i % systems.len()];
        system
            .call(
                "counter",
                &format!("{prefix}{i}"),
                "get",
                vec![],
                caller.clone(),
            )
            .await
            .expect("get");
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..ACTORS)
        .map(|i| {
            let system = systems[i % systems.len()].clone();
            let caller = caller.clone();
            let key = format!("{prefix}{i}");
            tokio::spawn(async move {
                for _ in 0..CALLS_PER_ACTOR {
                    system
                        .call("counter", &key, "increment", vec![json!(1)], caller.clone())
                        .await
                        .expect("increment");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    (ACTORS * CALLS_PER_ACTOR) as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// p50 and p99 of `n` sequential HTTP RPC `get`s of `key` sent to `addr`.
async fn latency(http: &reqwest::Client, url: &str, n: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let response = http.post(url).json(&json!([])).send().await.expect("send");
        assert!(response.status().is_success());
        let _ = response.bytes().await;
        times.push(start.elapsed());
    }
    times.sort_unstable();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// Actors the killed node owns in the failover measurement.
const FAILOVER_ACTORS: usize = 1000;

/// This bench binary run again as a node of its own (for the failover measurement): serves
/// until it is killed.
fn node_process(url: &str, id: &str, addr: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let _node = node_at(url, id, addr).await;
        std::future::pending::<()>().await;
    });
}

/// Kills a node process, and the time it died; every actor it owned is then called through
/// `survivor` until it answers: how long after the kill each came back.
async fn failover(url: &str, survivor: &ActorSystem) -> Vec<Duration> {
    let addr = free_addr();
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("FLAME_BENCH_NODE_DB", url)
        .env("FLAME_BENCH_NODE_ID", "doomed")
        .env("FLAME_BENCH_NODE_ADDR", &addr)
        .spawn()
        .expect("a node process");
    let http = reqwest::Client::new();
    let base = format!("http://{addr}/actors/counter");
    let ready = Instant::now();
    while http
        .get(format!("{base}/../client.js"))
        .send()
        .await
        .is_err()
    {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "the node never came up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The doomed node activates (owns) every actor.
    for i in 0..FAILOVER_ACTORS {
        let response = http
            .post(format!("{base}/x{i}/rpc/increment"))
            .json(&json!([1]))
            .send()
            .await
            .expect("send");
        assert!(response.status().is_success());
    }
    let _ = child.kill();
    let killed = Instant::now();
    let _ = child.wait();
    let caller: Arc<dyn Actor> = Arc::new(Bench);
    let tasks: Vec<_> = (0..FAILOVER_ACTORS)
        .map(|i| {
            let (system, caller) = (survivor.clone(), caller.clone());
            tokio::spawn(async move {
                let key = format!("x{i}");
                loop {
                    let call = system.call("counter", &key, "get", vec![], caller.clone());
                    if call.await.is_ok() {
                        return killed.elapsed();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    let mut back = Vec::with_capacity(FAILOVER_ACTORS);
    for task in tasks {
        back.push(task.await.expect("caller"));
    }
    back.sort_unstable();
    back
}

fn main() {
    if let (Ok(url), Ok(id), Ok(addr)) = (
        std::env::var("FLAME_BENCH_NODE_DB"),
        std::env::var("FLAME_BENCH_NODE_ID"),
        std::env::var("FLAME_BENCH_NODE_ADDR"),
    ) {
        node_process(&url, &id, &addr);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let redb: Arc<dyn ActorStore> = Arc::new(RedbStore::open_dir(dir.path()).expect("redb"));
        let system = builder(redb).build().await.expect("system");
        let base = durable(std::slice::from_ref(&system), "r").await;
        system.shutdown().await;
        println!("durable RPC/s, redb, 1 node (baseline): {base:.0}");

        let Some(pg) = PgServer::start() else {
            println!("no PostgreSQL binaries: the PostgreSQL figures are skipped");
            return;
        };
        let plain: Arc<dyn ActorStore> = Arc::new(PgStore::connect(&pg.url()).await.expect("pg"));
        let system = builder(plain).build().await.expect("system");
        let rate = durable(std::slice::from_ref(&system), "p").await;
        system.shutdown().await;
        println!("durable RPC/s, PostgreSQL, 1 node, no cluster mode: {rate:.0} ({:.2}x redb)", rate / base);

        let one = node(&pg.url(), "solo").await;
        let rate = durable(std::slice::from_ref(&one.system), "c1-").await;
        println!("durable RPC/s, PostgreSQL cluster, 1 node: {rate:.0} ({:.2}x redb)", rate / base);
        one.system.shutdown().await;
        one.server.stop().await;

        let nodes = vec![
            node(&pg.url(), "n1").await,
            node(&pg.url(), "n2").await,
            node(&pg.url(), "n3").await,
        ];
        let systems: Vec<ActorSystem> = nodes.iter().map(|n| n.system.clone()).collect();
        let rate = durable(&systems, "c3-").await;
        println!("durable RPC/s, PostgreSQL cluster, 3 nodes (each client on the owner): {rate:.0} ({:.2}x redb)", rate / base);
        // every client on the next node: each call forwarded
        let rotated: Vec<ActorSystem> = systems.iter().cycle().skip(1).take(3).cloned().collect();
        let caller: Arc<dyn Actor> = Arc::new(Bench);
        for i in 0..ACTORS {
            systems[i % 3]
                .call("counter", &format!("f{i}"), "get", vec![], caller.clone())
                .await
                .expect("activate on its owner");
        }
        let start = Instant::now();
        let tasks: Vec<_> = (0..ACTORS)
            .map(|i| {
                let system = rotated[i % 3].clone();
                let caller = caller.clone();
                let key = format!("f{i}");
                tokio::spawn(async move {
                    for _ in 0..CALLS_PER_ACTOR {
                        system
                            .call("counter", &key, "increment", vec![json!(1)], caller.clone())
                            .await
                            .expect("increment");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("client");
        }
        let rate = (ACTORS * CALLS_PER_ACTOR) as f64 / start.elapsed().as_secs_f64();
        println!("durable RPC/s, PostgreSQL cluster, 3 nodes, every call forwarded: {rate:.0}");

        // latency: the owner of `lat` is n1; the same read through n1 and through n2
        let http = reqwest::Client::new();
        systems[0]
            .call("counter", "lat", "get", vec![], caller.clone())
            .await
            .expect("activate");
        let direct_url = nodes[0].server.http_url("/actors/counter/lat/rpc/get");
        let forwarded_url = nodes[1].server.http_url("/actors/counter/lat/rpc/get");
        let _ = latency(&http, &forwarded_url, 200).await; // warm both links
        let _ = latency(&http, &direct_url, 200).await;
        let (d50, d99) = latency(&http, &direct_url, 3000).await;
        let (f50, f99) = latency(&http, &forwarded_url, 3000).await;
        println!(
            "HTTP RPC round trip, direct to the owner: p50 {d50:?}, p99 {d99:?}; through another node: p50 {f50:?}, p99 {f99:?}; forwarding adds p50 {:?}, p99 {:?}",
            f50.saturating_sub(d50),
            f99.saturating_sub(d99)
        );
        let back = failover(&pg.url(), &systems[1]).await;
        println!(
            "failover, SIGKILL of the owner of {FAILOVER_ACTORS} actors -> each answers again through a survivor: p50 {:?}, p99 {:?}, max {:?} (lease {:?}, margin {:?})",
            percentile(&back, 0.5),
            percentile(&back, 0.99),
            back[back.len() - 1],
            ClusterOptions::DEFAULT_TTL,
            ClusterOptions::DEFAULT_MARGIN,
        );
        for node in nodes {
            node.system.shutdown().await;
            node.server.stop().await;
        }
    });
}
