//! Resolving one injected value: flame's [`Injector`] against a SipHash `HashMap` and `anymap3`.
//!
//! Every map holds the same nine service types, so the tables have the same shape; each
//! iteration looks one value up and clones it, which is what resolving a handler argument does.
//!
//! - `flame/own`: `Injector::get::<T>()`, a hit in the injector's own map.
//! - `flame/own_arc`: the same for an `Arc`-backed service (adds the reference count).
//! - `flame/parent`: `Injector::get::<T>()` on a request-scope child holding four other values,
//!   a miss there and a hit in its parent (what flame does for app-wide services).
//! - `std_siphash/own`: `HashMap<TypeId, Box<dyn Any + Send + Sync>>`, default hasher.
//! - `std_siphash/parent`: the same, missing in a four-value map first, then hitting.
//! - `anymap3/own`: `anymap3::Map<dyn Any + Send + Sync>` (identity-hashed too).
//!
//! And `inject/scope`, a request's own scope made, given two values, read once and dropped:
//! `flame/map_two` (which also lists the mapped types' names beside the map) against
//! `anymap3/map_two`.
//!
//! Run with `cargo bench -p flame-inject --bench inject -- --warm-up-time 1 --measurement-time 3`;
//! `python3 benches/ratios.py inject/get flame/own` prints each figure as a ratio of `flame/own`
//! (`inject/scope anymap3/map_two` for the scopes).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use flame_inject::Injector;

/// The value looked up. Its clone is a plain copy, so the figures are the lookups themselves;
/// `flame/own_arc` shows what an `Arc`-backed service's reference count adds.
#[derive(Clone)]
struct Service(#[allow(dead_code)] u64);

/// An `Arc`-backed service, as real services are.
#[derive(Clone)]
struct ArcService(#[allow(dead_code)] Arc<u64>);

macro_rules! services {
    ($($name:ident = $n:expr),*) => {$(
        #[derive(Clone)]
        struct $name(#[allow(dead_code)] u64);
    )*
        fn fill_injector(injector: &mut Injector) {
            $(injector.map($name($n));)*
        }
        fn fill_std(map: &mut HashMap<TypeId, Box<dyn Any + Send + Sync>>) {
            $(map.insert(TypeId::of::<$name>(), Box::new($name($n)));)*
        }
        fn fill_anymap(map: &mut anymap3::Map<dyn Any + Send + Sync>) {
            $(map.insert($name($n));)*
        }
    };
}

// Seven other services beside `Service`, so the tables are not trivially small.
services!(S1 = 1, S2 = 2, S3 = 3, S4 = 4, S5 = 5, S6 = 6, S7 = 7);

#[derive(Clone)]
struct R1;
#[derive(Clone)]
struct R2;
#[derive(Clone)]
struct R3;
#[derive(Clone)]
struct R4;

fn std_get<T: Clone + 'static>(map: &HashMap<TypeId, Box<dyn Any + Send + Sync>>) -> Option<T> {
    map.get(&TypeId::of::<T>())?.downcast_ref::<T>().cloned()
}

fn bench_get(c: &mut Criterion) {
    let service = Service(42);

    let mut app = Injector::new();
    fill_injector(&mut app);
    app.map(service.clone()).map(ArcService(Arc::new(42)));
    let app = Arc::new(app);
    let mut request = Injector::with_parent(app.clone());
    request.map(R1).map(R2).map(R3).map(R4);

    let mut std_app: HashMap<TypeId, Box<dyn Any + Send + Sync>> = HashMap::new();
    fill_std(&mut std_app);
    std_app.insert(TypeId::of::<Service>(), Box::new(service.clone()));
    std_app.insert(
        TypeId::of::<ArcService>(),
        Box::new(ArcService(Arc::new(42))),
    );
    let mut std_request: HashMap<TypeId, Box<dyn Any + Send + Sync>> = HashMap::new();
    for (id, value) in [
        (
            TypeId::of::<R1>(),
            Box::new(R1) as Box<dyn Any + Send + Sync>,
        ),
        (TypeId::of::<R2>(), Box::new(R2)),
        (TypeId::of::<R3>(), Box::new(R3)),
        (TypeId::of::<R4>(), Box::new(R4)),
    ] {
        std_request.insert(id, value);
    }

    let mut any_app: anymap3::Map<dyn Any + Send + Sync> = anymap3::Map::new();
    fill_anymap(&mut any_app);
    any_app.insert(service);
    any_app.insert(ArcService(Arc::new(42)));

    // Each side is checked once, so a broken setup cannot pass for a fast one.
    assert!(app.get::<Service>().is_some() && request.get::<Service>().is_some());
    assert!(std_get::<Service>(&std_app).is_some());
    assert!(any_app.get::<Service>().is_some());

    let mut group = c.benchmark_group("inject/get");
    group.bench_function("flame/own", |b| {
        b.iter(|| black_box(&*app).get::<Service>());
    });
    group.bench_function("flame/own_arc", |b| {
        b.iter(|| black_box(&*app).get::<ArcService>());
    });
    group.bench_function("flame/parent", |b| {
        b.iter(|| black_box(&request).get::<Service>());
    });
    group.bench_function("std_siphash/own", |b| {
        b.iter(|| std_get::<Service>(black_box(&std_app)));
    });
    group.bench_function("std_siphash/parent", |b| {
        b.iter(|| {
            std_get::<Service>(black_box(&std_request))
                .or_else(|| std_get::<Service>(black_box(&std_app)))
        });
    });
    group.bench_function("anymap3/own", |b| {
        b.iter(|| black_box(&any_app).get::<Service>().cloned());
    });
    group.finish();

    // A request's own scope: made, two values mapped into it, one read back, dropped. What
    // a middleware that maps per request pays (the map, and the list of names beside it).
    let mut group = c.benchmark_group("inject/scope");
    group.bench_function("flame/map_two", |b| {
        b.iter(|| {
            let mut scope = Injector::with_parent(app.clone());
            scope.map(Service(7)).map(ArcService(Arc::new(7)));
            black_box(scope.get::<Service>())
        });
    });
    group.bench_function("anymap3/map_two", |b| {
        b.iter(|| {
            let mut scope: anymap3::Map<dyn Any + Send + Sync> = anymap3::Map::new();
            scope.insert(Service(7));
            scope.insert(ArcService(Arc::new(7)));
            black_box(scope.get::<Service>().cloned())
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_get(&mut criterion);
    criterion.final_summary();
}
