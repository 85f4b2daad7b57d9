//! Durability against a model: random sequences of calls, concurrent bursts, panics, failed
//! commits, destroys, idle unloads, graceful restarts and hard stops, on a real redb file.
//!
//! The model is what the callers were told: a count per key that moves only by acknowledged
//! changes, and the keys destroyed. After every step each key is read back and must match.
//! A hard stop drops the runtime with calls in flight (their tasks are cancelled wherever
//! they are, as in a crash); what comes back must hold every acknowledged call, and may hold
//! some of the unacknowledged ones, whole, but nothing else. The process-level twin, with
//! SIGKILL, is `examples/tests/counter.rs`.

use flame_test_support as common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Log, caller};
use flame_protocol::{ErrorCode, WireError};
use flame_stateful::store::{
    ActorId, ActorStore, ActorWrite, Alarm, RedbStore, StoreError, StoredActor,
};
use flame_stateful::{ActorConfig, ActorSystem};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use proptest::prelude::*;
use serde_json::{Value, json};

const KEYS: [&str; 3] = ["a", "b", "c"];

/// The redb store, with a switch that makes its commits fail (a full disk).
#[derive(Debug)]
struct FlakyRedb {
    inner: RedbStore,
    failing: Arc<AtomicBool>,
}

impl ActorStore for FlakyRedb {
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>> {
        self.inner.load(actor)
    }

    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
        if self.failing.load(Ordering::SeqCst) {
            let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
            return Box::pin(std::future::ready(Err(StoreError::backend(full))));
        }
        self.inner.commit(writes)
    }

    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
        self.inner.load_alarms()
    }

    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<std::sync::Arc<[u8]>>, StoreError>> {
        self.inner.kv_get(actor, key)
    }

    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a flame_stateful::store::KvScan,
    ) -> BoxFuture<'a, Result<Vec<flame_stateful::store::KvEntry>, StoreError>> {
        self.inner.kv_scan(actor, scan)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Increment(usize, i64),
    /// Changes the state, then returns a user error: the change is kept.
    FailAfterIncrement(usize, i64),
    /// Changes the state, then panics: the change is discarded.
    PanicAfterIncrement(usize, i64),
    /// An increment whose commit fails: `internal_error`, nothing changes.
    DiskFull(usize, i64),
    /// Concurrent increments, all answered.
    Burst(Vec<(usize, i64)>),
    Destroy(usize),
    /// Waits until every live actor is unloaded, so the next call loads it from the file.
    Idle,
    /// `ActorSystem::shutdown`, then a new system on the same file.
    Restart,
    /// Concurrent increments, and the runtime dropped after `after_us` microseconds.
    HardStop(Vec<(usize, i64)>, u64),
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn amount() -> impl Strategy<Value = i64> {
    1..1000i64
}

fn burst() -> impl Strategy<Value = Vec<(usize, i64)>> {
    prop::collection::vec((key(), amount()), 1..7)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (key(), amount()).prop_map(|(k, by)| Op::Increment(k, by)),
        2 => (key(), amount()).prop_map(|(k, by)| Op::FailAfterIncrement(k, by)),
        2 => (key(), amount()).prop_map(|(k, by)| Op::PanicAfterIncrement(k, by)),
        2 => (key(), amount()).prop_map(|(k, by)| Op::DiskFull(k, by)),
        4 => burst().prop_map(Op::Burst),
        1 => key().prop_map(Op::Destroy),
        1 => Just(Op::Idle),
        2 => Just(Op::Restart),
        3 => (burst(), 0..3000u64).prop_map(|(calls, after_us)| Op::HardStop(calls, after_us)),
    ]
}

/// What the callers were told.
#[derive(Debug, Default)]
struct Model {
    counts: [i64; KEYS.len()],
    destroyed: [bool; KEYS.len()],
}

/// One run of the actor system on the file: its own runtime, as one process would have.
struct Life {
    runtime: tokio::runtime::Runtime,
    system: ActorSystem,
    failing: Arc<AtomicBool>,
}

fn start(dir: &Path) -> Life {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // The previous life's last blocking commit may still hold the file for a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let inner = loop {
        match RedbStore::open_dir(dir) {
            Ok(store) => break store,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the store does not open again: {e}"),
        }
    };
    let failing = Arc::new(AtomicBool::new(false));
    let store = FlakyRedb {
        inner,
        failing: failing.clone(),
    };
    let config = ActorConfig {
        // short, so that actors also unload between steps on their own
        idle_timeout: Duration::from_millis(20),
        ..common::config()
    };
    let system = runtime.block_on(common::system_with(&Log::default(), store, config));
    Life {
        runtime,
        system,
        failing,
    }
}

fn call(life: &Life, k: usize, method: &str, args: Vec<Value>) -> Result<Value, WireError> {
    life.runtime
        .block_on(life.system.call("counter", KEYS[k], method, args, caller()))
}

fn expect_destroyed(result: Result<Value, WireError>, what: &str) {
    match result {
        Err(e) if e.is(ErrorCode::ActorDestroyed) => {}
        other => panic!("{what} on a destroyed actor: {other:?}"),
    }
}

/// Every key reads back as the model says.
fn check(life: &Life, model: &Model, after: &str) {
    for (k, key) in KEYS.iter().enumerate() {
        let got = call(life, k, "get", vec![]);
        if model.destroyed[k] {
            expect_destroyed(got, "get");
        } else {
            assert_eq!(got, Ok(json!(model.counts[k])), "key {key} after {after}");
        }
    }
}

/// A burst's answers so far: the call's position, and what it got.
type Answers = Arc<Mutex<Vec<(usize, Result<Value, WireError>)>>>;

/// Starts `calls` as concurrent tasks; each records its answer when it has one.
fn spawn_burst(life: &Life, calls: &[(usize, i64)]) -> (Vec<tokio::task::JoinHandle<()>>, Answers) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let tasks = calls
        .iter()
        .enumerate()
        .map(|(i, &(k, by))| {
            let system = life.system.clone();
            let answers = answers.clone();
            life.runtime.spawn(async move {
                let answer = system
                    .call("counter", KEYS[k], "increment", vec![json!(by)], caller())
                    .await;
                answers.lock().push((i, answer));
            })
        })
        .collect();
    (tasks, answers)
}

/// The sums of the subsets of `amounts` that contain every index in `required`.
fn subset_sums(amounts: &[(usize, i64)], required: &[usize]) -> Vec<i64> {
    (0u32..1 << amounts.len())
        .filter(|mask| required.iter().all(|&i| mask & (1 << i) != 0))
        .map(|mask| {
            amounts
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, &(_, by))| by)
                .sum()
        })
        .collect()
}

fn run(ops: &[Op]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut model = Model::default();
    let mut life = start(dir.path());
    check(&life, &model, "the start");
    for (step, op) in ops.iter().enumerate() {
        let after = format!("step {step}: {op:?}");
        match op {
            Op::Increment(k, by) => {
                let got = call(&life, *k, "increment", vec![json!(by)]);
                if model.destroyed[*k] {
                    expect_destroyed(got, "increment");
                } else {
                    model.counts[*k] += by;
                    assert_eq!(got, Ok(json!(model.counts[*k])), "{after}");
                }
            }
            Op::FailAfterIncrement(k, by) => {
                let got = call(&life, *k, "fail_after_increment", vec![json!(by)]);
                if model.destroyed[*k] {
                    expect_destroyed(got, "fail_after_increment");
                } else {
                    let e = got.expect_err("a user error");
                    assert_eq!(e.code, "test.failed", "{after}");
                    model.counts[*k] += by;
                }
            }
            Op::PanicAfterIncrement(k, by) => {
                let got = call(&life, *k, "panic_after_increment", vec![json!(by)]);
                if model.destroyed[*k] {
                    expect_destroyed(got, "panic_after_increment");
                } else {
                    let e = got.expect_err("a panic");
                    assert!(e.is(ErrorCode::InternalError), "{after}: {e:?}");
                }
            }
            Op::DiskFull(k, by) => {
                life.failing.store(true, Ordering::SeqCst);
                let got = call(&life, *k, "increment", vec![json!(by)]);
                life.failing.store(false, Ordering::SeqCst);
                if model.destroyed[*k] {
                    expect_destroyed(got, "increment on a full disk");
                } else {
                    let e = got.expect_err("a failed commit");
                    assert!(e.is(ErrorCode::InternalError), "{after}: {e:?}");
                }
            }
            Op::Burst(calls) => {
                let before = model.counts;
                let (tasks, answers) = spawn_burst(&life, calls);
                life.runtime.block_on(async {
                    for task in tasks {
                        task.await.expect("a call task");
                    }
                });
                let answers = answers.lock();
                for k in 0..KEYS.len() {
                    let mut values = Vec::new();
                    let mut amounts = Vec::new();
                    for (i, answer) in answers.iter() {
                        let (key, by) = calls[*i];
                        if key != k {
                            continue;
                        }
                        if model.destroyed[k] {
                            expect_destroyed(answer.clone(), "a burst's increment");
                            continue;
                        }
                        let value = answer.clone().expect("an answered increment");
                        values.push(value.as_i64().expect("a count"));
                        amounts.push(by);
                        model.counts[k] += by;
                    }
                    // Some serial order: each answer is the one before plus one of the amounts.
                    values.sort_unstable();
                    let mut steps: Vec<i64> = values
                        .iter()
                        .scan(before[k], |last, &v| {
                            let step = v - *last;
                            *last = v;
                            Some(step)
                        })
                        .collect();
                    steps.sort_unstable();
                    amounts.sort_unstable();
                    assert_eq!(
                        steps, amounts,
                        "{after}: answers {values:?} for {}",
                        KEYS[k]
                    );
                }
            }
            Op::Destroy(k) => {
                life.runtime
                    .block_on(life.system.destroy("counter", KEYS[*k]))
                    .expect("destroyed");
                model.destroyed[*k] = true;
            }
            Op::Idle => {
                let deadline = Instant::now() + Duration::from_secs(10);
                while (0..KEYS.len()).any(|k| life.system.is_loaded("counter", KEYS[k])) {
                    assert!(Instant::now() < deadline, "{after}: still loaded");
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Op::Restart => {
                life.runtime.block_on(life.system.shutdown());
                drop(life);
                life = start(dir.path());
            }
            Op::HardStop(calls, after_us) => {
                let (_tasks, answers) = spawn_burst(&life, calls);
                std::thread::sleep(Duration::from_micros(*after_us));
                let Life {
                    runtime, system, ..
                } = life;
                drop(system);
                // Every task is dropped where it is; only blocking work (a redb commit
                // already under way) is let finish, as the disk would have it.
                runtime.shutdown_timeout(Duration::from_secs(10));
                let answered: Vec<_> = answers.lock().drain(..).collect();
                life = start(dir.path());
                for (k, key) in KEYS.iter().enumerate() {
                    let got = call(&life, k, "get", vec![]);
                    if model.destroyed[k] {
                        expect_destroyed(got, "get after a hard stop");
                        continue;
                    }
                    let now = got.expect("a count").as_i64().expect("a number");
                    let mine: Vec<(usize, i64)> =
                        calls.iter().copied().filter(|&(of, _)| of == k).collect();
                    let positions: Vec<usize> = calls
                        .iter()
                        .enumerate()
                        .filter(|(_, (of, _))| *of == k)
                        .map(|(i, _)| i)
                        .collect();
                    let mut acknowledged = Vec::new();
                    for (i, answer) in &answered {
                        if let Ok(value) = answer
                            && calls[*i].0 == k
                        {
                            let at = positions.iter().position(|p| p == i).expect("mine");
                            acknowledged.push(at);
                            let value = value.as_i64().expect("a count");
                            assert!(
                                value <= now,
                                "{after}: {key} answered {value}, but holds {now}"
                            );
                        }
                    }
                    let possible = subset_sums(&mine, &acknowledged);
                    assert!(
                        possible.contains(&(now - model.counts[k])),
                        "{after}: {key} holds {now}, from {} with {mine:?} in flight and {acknowledged:?} acknowledged",
                        model.counts[k]
                    );
                    model.counts[k] = now;
                }
            }
        }
        check(&life, &model, &after);
    }
    life.runtime.block_on(life.system.shutdown());
    drop(life);
    let life = start(dir.path());
    check(&life, &model, "the final restart");
    life.runtime.block_on(life.system.shutdown());
}

/// 24 cases on every test run; `PROPTEST_CASES=1000` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn acknowledged_changes_survive_whatever_happens(ops in prop::collection::vec(op(), 1..24)) {
        run(&ops);
    }
}

/// One fixed sequence with every kind of step, so each runs on every CI run whatever the
/// random cases draw.
#[test]
fn every_kind_of_step_in_one_sequence() {
    run(&[
        Op::Increment(0, 5),
        Op::Burst(vec![(0, 1), (0, 2), (1, 3), (2, 4), (0, 8)]),
        Op::FailAfterIncrement(1, 10),
        Op::PanicAfterIncrement(0, 100),
        Op::DiskFull(2, 1000),
        Op::Idle,
        Op::Increment(2, 7),
        Op::HardStop(vec![(0, 1), (1, 2), (2, 4), (0, 8), (1, 16), (2, 32)], 500),
        Op::Restart,
        Op::Destroy(1),
        Op::Increment(1, 1),
        Op::Restart,
        Op::Burst(vec![(1, 1), (0, 1)]),
        Op::HardStop(vec![(0, 3)], 0),
    ]);
}
