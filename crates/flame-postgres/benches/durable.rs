//! Durable RPC throughput on PostgreSQL against redb in the same run: the same counter
//! actors, the same clients, group commit on both; only the store differs.
//!
//! The PostgreSQL server is started by the benchmark from the system's binaries (as the
//! tests do: fsync and synchronous_commit on); without them the PostgreSQL half is skipped.

// `criterion_group!` makes an undocumented `pub fn`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flame_actor::Actor;
use flame_postgres::PgStore;
use flame_stateful::store::{ActorStore, RedbStore};
use flame_stateful::{
    ActorConfig, ActorError, ActorRef, ActorSystem, InitCtx, Rpc, StatefulActor, actions,
};
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
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

/// `clients` tasks, each doing `per_client` increments on its actor.
async fn drive(refs: Arc<Vec<ActorRef>>, clients: usize, per_client: usize) {
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let refs = refs.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                refs[c % refs.len()]
                    .call("increment", vec![json!(1)])
                    .await
                    .expect("answered");
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client task");
    }
}

fn durable(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("durable_store");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let clients = 256;
    let per_client = 40;
    group.throughput(Throughput::Elements((clients * per_client) as u64));
    let pg = PgServer::start();
    for actors in [1usize, 256] {
        let dir = tempfile::tempdir().expect("a temp dir");
        let redb: Arc<dyn ActorStore> = Arc::new(RedbStore::open_dir(dir.path()).expect("a store"));
        let mut stores = vec![("redb", redb)];
        if let Some(pg) = &pg {
            let store = rt.block_on(PgStore::connect(&pg.url())).expect("connected");
            stores.push(("postgres", Arc::new(store)));
        }
        for (name, store) in stores {
            let (system, actor_refs) = rt.block_on(async {
                let system = system_with(store).await;
                let r = refs(&system, actors).await;
                (system, Arc::new(r))
            });
            let before = system.commit_stats();
            group.bench_function(
                BenchmarkId::new(format!("actor_increment_{name}"), actors),
                |b| {
                    b.to_async(&rt)
                        .iter(|| drive(actor_refs.clone(), clients, per_client))
                },
            );
            let after = system.commit_stats();
            println!(
                "durable_store/actor_increment_{name}/{actors}: {} transactions, {} actor writes",
                after.transactions - before.transactions,
                after.writes - before.writes
            );
            rt.block_on(system.shutdown());
        }
    }
    group.finish();
}

criterion_group!(benches, durable);
criterion_main!(benches);
