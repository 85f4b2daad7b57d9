//! Actor RPC throughput, each against a baseline measured in the same run.
//!
//! - `in_process`: a bare tokio mpsc request/response round trip (baseline) vs. an actor
//!   action that changes the state, on `MemoryStore` (so every call goes through the
//!   snapshot, the committer and the commit gate), and a read-only action.
//! - `durable`: one redb transaction per write (baseline: what a store without group commit
//!   does) vs. actor actions on redb with group commit across many actors.
//!
//! Budgets (DESIGN.md): >= 1M RPC/s in-process, >= 20k RPC/s durable.

// `criterion_group!` makes an undocumented `pub fn`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flame_actor::Actor;
use flame_stateful::store::{ActorId, ActorStore, ActorWrite, MemoryStore, RedbStore};
use flame_stateful::{
    ActorConfig, ActorError, ActorRef, ActorSystem, InitCtx, Rpc, StatefulActor, actions,
};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `clients` tasks, each doing `per_client` calls; returns when all are done.
async fn drive<F, Fut>(clients: usize, per_client: usize, call: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                call(c).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client task");
    }
}

type Request = (i64, oneshot::Sender<i64>);

fn mpsc_server(capacity: usize) -> mpsc::Sender<Request> {
    let (tx, mut rx) = mpsc::channel::<Request>(capacity);
    tokio::spawn(async move {
        let mut state = 0i64;
        while let Some((by, reply)) = rx.recv().await {
            state += by;
            let _ = reply.send(state);
        }
    });
    tx
}

async fn system_with(store: Arc<dyn ActorStore>) -> ActorSystem {
    ActorSystem::builder()
        .config(ActorConfig::default())
        .shared_store(store)
        .register_default::<Counter>("counter")
        .build()
        .await
        .expect("a system")
}

async fn refs(system: &ActorSystem, n: usize) -> Vec<ActorRef> {
    let caller: Arc<dyn Actor> = Arc::new(Bench);
    let mut refs = Vec::new();
    for i in 0..n {
        let r = system
            .get("counter", &format!("k{i}"), caller.clone())
            .expect("an actor");
        r.call("get", vec![]).await.expect("initialized");
        refs.push(r);
    }
    refs
}

fn in_process(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("in_process");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let clients = 64;
    let per_client = 500;
    group.throughput(Throughput::Elements((clients * per_client) as u64));

    for actors in [1usize, 4] {
        let servers: Vec<_> =
            rt.block_on(async { (0..actors).map(|_| mpsc_server(1024)).collect() });
        let servers = Arc::new(servers);
        group.bench_function(BenchmarkId::new("baseline_mpsc_round_trip", actors), |b| {
            b.to_async(&rt).iter(|| {
                let servers = servers.clone();
                drive(clients, per_client, move |c| {
                    let servers = servers.clone();
                    async move {
                        let (tx, rx) = oneshot::channel();
                        let server = &servers[c % servers.len()];
                        server.send((1, tx)).await.expect("sent");
                        rx.await.expect("answered");
                    }
                })
            });
        });

        let (system, actor_refs) = rt.block_on(async {
            let system = system_with(Arc::new(MemoryStore::new())).await;
            let r = refs(&system, actors).await;
            (system, Arc::new(r))
        });
        for method in ["increment", "get"] {
            let actor_refs = actor_refs.clone();
            let before = system.commit_stats();
            group.bench_function(
                BenchmarkId::new(format!("actor_{method}_memory"), actors),
                |b| {
                    b.to_async(&rt).iter(|| {
                        let actor_refs = actor_refs.clone();
                        drive(clients, per_client, move |c| {
                            let actor_refs = actor_refs.clone();
                            async move {
                                let args = if method == "get" {
                                    vec![]
                                } else {
                                    vec![json!(1)]
                                };
                                actor_refs[c % actor_refs.len()]
                                    .call(method, args)
                                    .await
                                    .expect("answered");
                            }
                        })
                    });
                },
            );
            if method == "increment" {
                let after = system.commit_stats();
                let writes = after.writes - before.writes;
                // each increment adds 1 to a state that started at 0
                let calls: i64 = rt.block_on(async {
                    let mut calls = 0;
                    for r in actor_refs.iter() {
                        calls += r
                            .call("get", vec![])
                            .await
                            .expect("answered")
                            .as_i64()
                            .unwrap_or(0);
                    }
                    calls
                });
                println!(
                    "in_process/actor_increment_memory/{actors}: {calls} calls in {writes} actor writes, {:.1} calls per write",
                    calls as f64 / writes.max(1) as f64
                );
            }
        }
        rt.block_on(system.shutdown());
    }
    group.finish();
}

fn durable(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("durable");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    // baseline: one fsync'ed redb transaction per write, 8 writers at once
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(RedbStore::open_dir(dir.path()).expect("a store"));
    let writers = 8;
    let per_writer = 25;
    group.throughput(Throughput::Elements((writers * per_writer) as u64));
    group.bench_function("baseline_redb_txn_per_write", |b| {
        b.to_async(&rt).iter(|| {
            let store = store.clone();
            drive(writers, per_writer, move |w| {
                let store = store.clone();
                async move {
                    let mut write = ActorWrite::new(ActorId::new("counter", format!("k{w}")));
                    write.state = Some(b"1".as_slice().into());
                    store.commit(vec![write]).await.expect("committed");
                }
            })
        });
    });
    drop(store);

    for actors in [1usize, 256] {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (system, actor_refs) = rt.block_on(async {
            let store: Arc<dyn ActorStore> =
                Arc::new(RedbStore::open_dir(dir.path()).expect("a store"));
            let system = system_with(store).await;
            let r = refs(&system, actors).await;
            (system, Arc::new(r))
        });
        let clients = 256;
        let per_client = 40;
        group.throughput(Throughput::Elements((clients * per_client) as u64));
        let before = system.commit_stats();
        group.bench_function(BenchmarkId::new("actor_increment_redb", actors), |b| {
            b.to_async(&rt).iter(|| {
                let actor_refs = actor_refs.clone();
                drive(clients, per_client, move |c| {
                    let actor_refs = actor_refs.clone();
                    async move {
                        actor_refs[c % actor_refs.len()]
                            .call("increment", vec![json!(1)])
                            .await
                            .expect("answered");
                    }
                })
            });
        });
        let after = system.commit_stats();
        let stats = flame_stateful::CommitStats {
            transactions: after.transactions - before.transactions,
            writes: after.writes - before.writes,
            ..flame_stateful::CommitStats::default()
        };
        println!(
            "durable/actor_increment_redb/{actors}: {} transactions, {} actor writes, {:.1} writes per transaction",
            stats.transactions,
            stats.writes,
            stats.writes_per_transaction()
        );
        rt.block_on(system.shutdown());
    }
    group.finish();
}

criterion_group!(benches, in_process, durable);
criterion_main!(benches);
