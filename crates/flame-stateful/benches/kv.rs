//! The key-value space against the whole-state rewrite it replaces, on a real redb file.
//!
//! - `append`: one durable RPC that appends one 200-byte entry to an actor that holds 0,
//!   10,000 or 100,000 entries: `kv` puts it in the actor's key-value space, `state_rewrite`
//!   (the baseline, what an actor without KV does) pushes it on a `Vec` in `State`, which is
//!   serialized and written whole. Budget (DESIGN.md): KV's cost flat within 1.5x from 0 to
//!   100,000 entries.
//! - `throughput`: durable RPC throughput, 256 clients on 1 and 256 actors, with a KV write
//!   per call (`state_and_kv`: the counter in `State` and a 200-byte entry) against the
//!   baseline that changes the state only (`state_only`); `state_and_kv_no_total_limit` is
//!   the same with `max_kv_bytes_per_actor` off, to show what keeping the total costs.
//!
//! Ratios: compare each `kv/N` with `kv/0`, each `state_rewrite/N` with `kv/N`, and
//! `state_and_kv/N` with `state_only/N` (same run, same machine).

// `criterion_group!` makes an undocumented `pub fn`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flame_actor::Actor;
use flame_stateful::store::RedbStore;
use flame_stateful::{
    ActorConfig, ActorError, ActorRef, ActorSystem, InitCtx, Rpc, StatefulActor, actions,
};
use serde_json::json;

const ENTRY_SIZE: usize = 200;

fn entry() -> String {
    "x".repeat(ENTRY_SIZE)
}

fn entry_key(n: u64) -> String {
    format!("e/{n:010}")
}

/// The entries in the key-value space, their count in `State`.
#[derive(Default)]
struct KvLog;

impl StatefulActor for KvLog {
    type State = u64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<u64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl KvLog {
    async fn append(&self, rpc: &mut Rpc<Self>, count: u64) -> Result<u64, ActorError> {
        let text = entry();
        for _ in 0..count {
            let n = *rpc.state();
            *rpc.state_mut() += 1;
            rpc.kv().put(entry_key(n), &text)?;
        }
        Ok(*rpc.state())
    }
}

/// The entries in `State`, written whole after each change.
#[derive(Default)]
struct StateLog;

impl StatefulActor for StateLog {
    type State = Vec<String>;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<Vec<String>, ActorError> {
        Ok(Vec::new())
    }
}

#[actions]
impl StateLog {
    async fn append(&self, rpc: &mut Rpc<Self>, count: u64) -> u64 {
        let text = entry();
        for _ in 0..count {
            rpc.state_mut().push(text.clone());
        }
        rpc.state().len() as u64
    }
}

/// A counter, with or without a log entry per call.
#[derive(Default)]
struct Counter;

impl StatefulActor for Counter {
    type State = u64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<u64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Counter {
    async fn state_only(&self, rpc: &mut Rpc<Self>) -> u64 {
        *rpc.state_mut() += 1;
        *rpc.state()
    }

    async fn state_and_kv(&self, rpc: &mut Rpc<Self>) -> Result<u64, ActorError> {
        let n = *rpc.state();
        *rpc.state_mut() += 1;
        rpc.kv().put(entry_key(n), &entry())?;
        Ok(n + 1)
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

async fn system(dir: &std::path::Path) -> ActorSystem {
    system_with(dir, ActorConfig::default()).await
}

async fn system_with(dir: &std::path::Path, config: ActorConfig) -> ActorSystem {
    ActorSystem::builder()
        .config(config)
        .store(RedbStore::open_dir(dir).expect("a store"))
        .register_default::<KvLog>("kv")
        .register_default::<StateLog>("state_rewrite")
        .register_default::<Counter>("counter")
        .build()
        .await
        .expect("a system")
}

/// An actor of `kind` holding `entries` entries (KV: 1,000 a message, the most one message
/// may write; state: all at once).
async fn filled(system: &ActorSystem, kind: &str, entries: u64) -> ActorRef {
    let actor = system.get(kind, "a", Arc::new(Bench)).expect("an actor");
    let per_message = if kind == "kv" { 1000 } else { entries.max(1) };
    let mut left = entries;
    loop {
        let batch = left.min(per_message);
        actor
            .call("append", vec![json!(batch)])
            .await
            .expect("filled");
        left -= batch;
        if left == 0 {
            return actor;
        }
    }
}

fn append(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    for entries in [0u64, 10_000, 100_000] {
        for kind in ["kv", "state_rewrite"] {
            let dir = tempfile::tempdir().expect("a temp dir");
            let (system, actor) = rt.block_on(async {
                let system = system(dir.path()).await;
                let actor = filled(&system, kind, entries).await;
                (system, actor)
            });
            group.bench_function(BenchmarkId::new(kind, entries), |b| {
                b.to_async(&rt).iter(|| {
                    let actor = actor.clone();
                    async move {
                        actor
                            .call("append", vec![json!(1)])
                            .await
                            .expect("appended");
                    }
                });
            });
            drop(actor);
            rt.block_on(system.shutdown());
        }
    }
    group.finish();
}

/// `clients` tasks, each doing `per_client` calls of `method` on one of `actors`.
async fn drive(
    actors: Arc<Vec<ActorRef>>,
    method: &'static str,
    clients: usize,
    per_client: usize,
) {
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let actors = actors.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                actors[c % actors.len()]
                    .call(method, vec![])
                    .await
                    .expect("answered");
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client task");
    }
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("throughput");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let clients = 256;
    let per_client = 20;
    group.throughput(Throughput::Elements((clients * per_client) as u64));
    for actors in [1usize, 256] {
        for variant in ["state_only", "state_and_kv", "state_and_kv_no_total_limit"] {
            let method = if variant == "state_only" {
                "state_only"
            } else {
                "state_and_kv"
            };
            let config = ActorConfig {
                max_kv_bytes_per_actor: if variant == "state_and_kv_no_total_limit" {
                    u64::MAX
                } else {
                    ActorConfig::default().max_kv_bytes_per_actor
                },
                ..ActorConfig::default()
            };
            let dir = tempfile::tempdir().expect("a temp dir");
            let (system, refs) = rt.block_on(async {
                let system = system_with(dir.path(), config).await;
                let mut refs = Vec::with_capacity(actors);
                for i in 0..actors {
                    let actor = system
                        .get("counter", &format!("k{i}"), Arc::new(Bench))
                        .expect("an actor");
                    actor.call("state_only", vec![]).await.expect("initialized");
                    refs.push(actor);
                }
                (system, Arc::new(refs))
            });
            group.bench_function(BenchmarkId::new(variant, actors), |b| {
                b.to_async(&rt)
                    .iter(|| drive(refs.clone(), method, clients, per_client));
            });
            drop(refs);
            rt.block_on(system.shutdown());
        }
    }
    group.finish();
}

criterion_group!(benches, append, throughput);
criterion_main!(benches);
