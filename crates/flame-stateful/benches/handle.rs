//! What a typed handle (`Counter::handle(&system, key).add(..)`, written by `#[actions]`)
//! costs against the untyped `system.call(name, key, method, Vec<Value>, caller)` it is built
//! on, in the same run, on `MemoryStore`.
//!
//! - `untyped_*`: the arguments built as `serde_json::Value`s by hand, the answer read back
//!   from a `Value` (what a handler had to write before handles).
//! - `typed_*`: the handle made for each call (as a handler does), the arguments serialized
//!   and the answer deserialized by it.
//!
//! Two actions: `get` (no argument, an `i64` back) and `add` (a struct with a string and a
//! list in, the struct back).

// `criterion_group!` makes an undocumented `pub fn`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flame_actor::Actor;
use flame_stateful::store::MemoryStore;
use flame_stateful::{ActorError, ActorSystem, InitCtx, LocalCaller, Rpc, StatefulActor, actions};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Default)]
struct Counter;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    name: String,
    tags: Vec<String>,
    count: i64,
}

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
    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        *rpc.state()
    }

    async fn add(&self, rpc: &mut Rpc<Self>, item: Item) -> Item {
        *rpc.state_mut() += item.count;
        item
    }
}

/// Sequential calls from one task per iteration: the per-call overhead is what differs.
const CALLS: u64 = 1000;

fn handle(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let system = rt.block_on(async {
        let system = ActorSystem::builder()
            .store(MemoryStore::new())
            .register_default::<Counter>("counter")
            .build()
            .await
            .expect("a system");
        Counter::handle(&system, "k")
            .get()
            .await
            .expect("initialized");
        system
    });
    let caller: Arc<dyn Actor> = Arc::new(LocalCaller);
    let item = Item {
        name: "a widget".into(),
        tags: vec!["blue".into(), "small".into()],
        count: 1,
    };

    let mut group = c.benchmark_group("handle");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(CALLS));

    group.bench_function("untyped_get", |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..CALLS {
                let v = system
                    .call("counter", "k", "get", Vec::new(), caller.clone())
                    .await
                    .expect("answered");
                let n: i64 = serde_json::from_value(v).expect("an i64");
                std::hint::black_box(n);
            }
        });
    });
    group.bench_function("typed_get", |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..CALLS {
                let n = Counter::handle(&system, "k").get().await.expect("answered");
                std::hint::black_box(n);
            }
        });
    });
    group.bench_function("untyped_add", |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..CALLS {
                let args = vec![json!({
                    "name": item.name, "tags": item.tags, "count": item.count,
                })];
                let v = system
                    .call("counter", "k", "add", args, caller.clone())
                    .await
                    .expect("answered");
                let back: Item = serde_json::from_value(v).expect("an item");
                std::hint::black_box(back);
            }
        });
    });
    group.bench_function("typed_add", |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..CALLS {
                let back = Counter::handle(&system, "k")
                    .add(item.clone())
                    .await
                    .expect("answered");
                std::hint::black_box(back);
            }
        });
    });
    group.finish();
    rt.block_on(system.shutdown());
}

criterion_group!(benches, handle);
criterion_main!(benches);
