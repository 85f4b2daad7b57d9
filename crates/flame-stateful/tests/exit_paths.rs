//! The durability promise on every exit path: failure, shutdown, destroy, unload; and the
//! limits and rules around it (back-pressure, refused requests, alarms, states that do not
//! read back). Each test is a way the promise was once broken.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flame_protocol::{ErrorCode, ServerMessage};
use flame_stateful::{
    ActorConfig, ActorCtx, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions,
};
use flame_test_support as common;
use flame_test_support::{ControlledStore, Log, caller, next, until};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An actor whose faults the test switches on.
struct Probe {
    log: Log,
    faults: Faults,
}

#[derive(Clone, Default)]
struct Faults {
    /// `on_start` fails.
    refuse_start: Arc<AtomicBool>,
    /// `on_state_change` panics.
    panic_on_change: Arc<AtomicBool>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ProbeState {
    count: i64,
    ratio: f64,
    /// How many connections ended: `on_disconnect` writes too.
    disconnects: u32,
}

impl StatefulActor for Probe {
    type State = ProbeState;
    type ConnParams = ();
    type ConnState = ();

    async fn on_initialize(&self, _: &InitCtx) -> Result<ProbeState, ActorError> {
        Ok(ProbeState::default())
    }

    async fn on_start(&self, ctx: &mut ActorCtx<Self>) -> Result<(), ActorError> {
        if self.faults.refuse_start.load(Ordering::SeqCst) {
            self.log.push("start refused");
            return Err(ActorError::new("probe.refused", "on_start refuses"));
        }
        self.log.push(format!("start:{}", ctx.state().count));
        Ok(())
    }

    async fn on_disconnect(&self, ctx: &mut ActorCtx<Self>, _: &flame_stateful::Connection<Self>) {
        ctx.state_mut().disconnects += 1;
    }

    async fn on_state_change(&self, ctx: &mut ActorCtx<Self>) {
        if self.faults.panic_on_change.load(Ordering::SeqCst) {
            // changes made here are discarded with the panic
            ctx.state_mut().count += 1000;
            ctx.broadcast("from_on_state_change", ());
            panic!("on_state_change panics");
        }
    }
}

#[actions]
impl Probe {
    async fn increment(&self, rpc: &mut Rpc<Self>) -> i64 {
        rpc.state_mut().count += 1;
        rpc.broadcast("incremented", rpc.state().count);
        rpc.state().count
    }

    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        rpc.state().count
    }

    async fn explode(&self) -> i64 {
        panic!("the action explodes")
    }

    async fn schedule_in(&self, rpc: &mut Rpc<Self>, secs: u64) -> Result<u64, ActorError> {
        rpc.schedule_after(Duration::from_secs(secs), "increment", ())
    }

    async fn divide(&self, rpc: &mut Rpc<Self>, by: f64) -> f64 {
        rpc.state_mut().ratio = rpc.state().count as f64 / by;
        rpc.state().ratio
    }
}

async fn probe_system(store: &ControlledStore, log: &Log, faults: &Faults) -> ActorSystem {
    let (log, faults) = (log.clone(), faults.clone());
    ActorSystem::builder()
        .config(ActorConfig {
            idle_timeout: Duration::from_millis(100),
            ..common::config()
        })
        .store(store.clone())
        .register("probe", move |_| Probe {
            log: log.clone(),
            faults: faults.clone(),
        })
        .build()
        .await
        .expect("the system starts")
}

/// Defect 1: a failed instance used to leave the registry before its last commit, so a
/// call meanwhile started a second instance from the old state and an acknowledged change
/// was overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_instance_settles_before_a_new_activation_of_its_key_starts() {
    let (store, log, faults) = (ControlledStore::new(), Log::default(), Faults::default());
    let system = probe_system(&store, &log, &faults).await;
    let call = |method: &'static str| {
        let system = system.clone();
        tokio::spawn(async move { system.call("probe", "a", method, vec![], caller()).await })
    };
    assert_eq!(call("increment").await.unwrap(), Ok(json!(1)));

    store.hold();
    let acknowledged = call("increment");
    until("the second increment is being written", || {
        store.waiting() == 1
    })
    .await;
    faults.refuse_start.store(true, Ordering::SeqCst);
    let exploded = call("explode");
    until("the restart after the panic failed", || {
        log.count("start refused") == 1
    })
    .await;
    // the failed instance is now settling its last write; a call meanwhile waits for it
    faults.refuse_start.store(false, Ordering::SeqCst);
    let after = call("increment");
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.release();

    assert_eq!(acknowledged.await.unwrap(), Ok(json!(2)));
    let err = exploded.await.unwrap().unwrap_err();
    assert!(err.is(ErrorCode::InternalError), "{err:?}");
    assert_eq!(after.await.unwrap(), Ok(json!(3)), "{:?}", log.entries());
    assert_eq!(store.state("probe", "a").await.unwrap()["count"], 3);
    system.shutdown().await;
}

/// Defect 8: a graceful shutdown used to close connections before the replies waiting for
/// the last commit went out, so a caller whose change was committed saw
/// `connection_closed` and retried it by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_answers_every_committed_caller_before_it_closes_their_connection() {
    let (store, log) = (ControlledStore::new(), Log::default());
    let system = common::system_with(&log, store.clone(), common::config()).await;
    let mut conn = common::connect(&system, "a", "alice").await;
    conn.subscribe("count").await.unwrap();

    store.hold();
    conn.send_text(r#"{"v":1,"type":"rpc","id":1,"method":"increment","args":[5]}"#)
        .await
        .unwrap();
    until("the increment is being written", || store.waiting() == 1).await;
    let stopping = {
        let system = system.clone();
        tokio::spawn(async move { system.shutdown().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.release();

    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Event {
            event: "count".into(),
            payload: json!(5)
        })
    );
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::RpcOk {
            id: 1,
            output: json!(5)
        })
    );
    match next(&mut conn).await {
        Some(ServerMessage::Close { code, .. }) => assert_eq!(code, "unavailable"),
        other => panic!("expected close, got {other:?}"),
    }
    stopping.await.unwrap();
    assert_eq!(store.state("counter", "a").await.unwrap()["count"], 5);
    assert_eq!(log.count("disconnect:alice"), 1, "{:?}", log.entries());
}

/// Defect 3: while a write was in flight, an instance kept taking messages, so a slow
/// store let its staged changes and waiting replies grow without bound. Now at most
/// `max_batch` messages wait behind the write in flight; the rest stay in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_slow_commit_an_instance_takes_at_most_max_batch_messages() {
    let (store, log) = (ControlledStore::new(), Log::default());
    let max_batch = 4;
    let config = ActorConfig {
        max_batch,
        ..common::config()
    };
    let system = common::system_with(&log, store.clone(), config).await;
    let counter = system.get("counter", "a", caller()).unwrap();
    assert_eq!(counter.call("get", vec![]).await, Ok(json!(0)));

    store.hold();
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move { counter.call("increment", vec![json!(1)]).await })
        })
        .collect();
    until("a write is in flight", || store.waiting() == 1).await;
    until("the instance stops taking messages", || {
        log.count("increment:") >= max_batch
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let handled = log.count("increment:");
    assert!(
        handled <= 2 * max_batch,
        "{handled} increments were handled behind one held write"
    );

    store.release();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().unwrap().as_i64().unwrap());
    }
    answers.sort_unstable();
    assert_eq!(answers, (1..=100).collect::<Vec<i64>>());
    assert_eq!(store.state("counter", "a").await.unwrap()["count"], 100);
    system.shutdown().await;
}

/// Defect 4: any client created and persisted any key before any check, so requests for
/// actions that do not exist grew the store forever.
#[tokio::test]
async fn a_refused_request_leaves_nothing_in_the_store() {
    let (store, log) = (ControlledStore::new(), Log::default());
    let config = ActorConfig {
        idle_timeout: Duration::from_millis(50),
        ..common::config()
    };
    let system = common::system_with(&log, store.clone(), config).await;

    for i in 0..20 {
        let key = format!("k{i}");
        let err = system
            .call("counter", &key, "nope", vec![], caller())
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::ActionNotFound), "{err:?}");
    }
    let err = system
        .connect("counter", "refused", r#"{"token":"bad"}"#, caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::Unauthorized), "{err:?}");
    until("the refused actor unloads", || {
        !system.is_loaded("counter", "refused")
    })
    .await;
    assert!(store.committed().is_empty(), "{:?}", store.committed());
    assert!(!store.stored("counter", "refused").await.is_initialized());

    // an accepted request makes the actor for good
    assert_eq!(
        system
            .call("counter", "kept", "increment", vec![json!(2)], caller())
            .await,
        Ok(json!(2))
    );
    assert_eq!(store.state("counter", "kept").await.unwrap()["count"], 2);
    let _ = common::connect(&system, "joined", "alice").await;
    assert!(store.ever_wrote("counter", "joined"));
    system.shutdown().await;
}

/// Defect 6: a panic in `on_state_change` answered the call ok but dropped the action's own
/// events. The rule now: the change stands, its answer and its events go out; what
/// `on_state_change` itself changed or sent is discarded.
#[tokio::test]
async fn a_panic_in_on_state_change_keeps_the_change_its_answer_and_its_events() {
    let (store, log, faults) = (ControlledStore::new(), Log::default(), Faults::default());
    let system = probe_system(&store, &log, &faults).await;
    let mut conn = system.connect("probe", "a", "", caller()).await.unwrap();
    assert!(matches!(
        next(&mut conn).await,
        Some(ServerMessage::Init { .. })
    ));
    conn.subscribe("incremented").await.unwrap();
    conn.subscribe("from_on_state_change").await.unwrap();

    faults.panic_on_change.store(true, Ordering::SeqCst);
    assert_eq!(conn.rpc("increment", vec![]).await, Ok(json!(1)));
    faults.panic_on_change.store(false, Ordering::SeqCst);
    assert_eq!(
        next(&mut conn).await,
        Some(ServerMessage::Event {
            event: "incremented".into(),
            payload: json!(1)
        })
    );
    assert_eq!(conn.rpc("get", vec![]).await, Ok(json!(1)));
    assert_eq!(store.state("probe", "a").await.unwrap()["count"], 1);
    assert_eq!(
        log.count("start:"),
        2,
        "restarted once: {:?}",
        log.entries()
    );
    system.shutdown().await;
}

/// Defect 9: a NaN serialized as `null`, was committed, and the key could never be loaded
/// again. Now the change is refused and the call fails.
#[tokio::test]
async fn a_state_that_would_not_read_back_is_refused_and_the_key_stays_loadable() {
    let (store, log, faults) = (ControlledStore::new(), Log::default(), Faults::default());
    let system = probe_system(&store, &log, &faults).await;
    let call = |method: &'static str, args: Vec<serde_json::Value>| {
        system.call("probe", "a", method, args, caller())
    };
    assert_eq!(call("increment", vec![]).await, Ok(json!(1)));
    assert_eq!(call("divide", vec![json!(4.0)]).await, Ok(json!(0.25)));
    // 1 / 0 is infinite: JSON has no such number
    let err = call("divide", vec![json!(0.0)]).await.unwrap_err();
    assert!(err.is(ErrorCode::InternalError), "{err:?}");
    assert_eq!(store.state("probe", "a").await.unwrap()["ratio"], 0.25);
    system.shutdown().await;

    let system = probe_system(&store, &log, &faults).await;
    assert_eq!(
        system.call("probe", "a", "get", vec![], caller()).await,
        Ok(json!(1))
    );
    system.shutdown().await;
}

/// Defect 7: an alarm whose delivery failed did not fire again until the process
/// restarted. Now it is retried with backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_whose_delivery_failed_fires_again_without_a_restart() {
    let (store, log) = (ControlledStore::new(), Log::default());
    let system = common::system_with(&log, store.clone(), common::config()).await;
    let c = caller();
    assert!(
        system
            .call(
                "counter",
                "a",
                "schedule_increment",
                vec![json!(50), json!(7)],
                c.clone()
            )
            .await
            .is_ok()
    );
    // the alarm's own commit (the increment and the alarm's deletion) fails once
    store.fail_next(1);
    until("the alarm fired twice", || log.count("increment:7") == 2).await;
    until("the retried alarm is committed", || {
        store
            .committed()
            .iter()
            .any(|w| !w.delete_alarms.is_empty())
    })
    .await;
    assert_eq!(
        system.call("counter", "a", "get", vec![], c.clone()).await,
        Ok(json!(7))
    );
    system.shutdown().await;
}

/// Defect 10: a destroy whose tombstone could not be written closed the connections and
/// made the key unusable in memory, while the store still held the actor.
#[tokio::test]
async fn a_destroy_whose_tombstone_fails_changes_nothing() {
    let (store, log) = (ControlledStore::new(), Log::default());
    let system = common::system_with(&log, store.clone(), common::config()).await;
    let conn = common::connect(&system, "a", "alice").await;
    assert_eq!(conn.rpc("increment", vec![json!(3)]).await, Ok(json!(3)));

    store.fail_next(1);
    assert!(system.destroy("counter", "a").await.is_err());
    assert!(!store.stored("counter", "a").await.destroyed);
    // the connection and the actor go on as before
    assert_eq!(conn.rpc("increment", vec![json!(1)]).await, Ok(json!(4)));
    assert_eq!(
        system.call("counter", "a", "get", vec![], caller()).await,
        Ok(json!(4))
    );
    assert_eq!(log.count("disconnect:"), 0);

    system.destroy("counter", "a").await.unwrap();
    assert!(store.stored("counter", "a").await.destroyed);
    let err = system
        .call("counter", "a", "get", vec![], caller())
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::ActorDestroyed), "{err:?}");
    system.shutdown().await;
}

/// Defect 10: an outside destroy waits for a retiring instance, so nothing of it (here:
/// what `on_disconnect` changes as its connection is closed) is written after the tombstone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_waits_for_a_retiring_instance_and_is_the_last_write() {
    let (store, log, faults) = (ControlledStore::new(), Log::default(), Faults::default());
    let system = probe_system(&store, &log, &faults).await;
    let mut conn = system.connect("probe", "a", "", caller()).await.unwrap();
    assert!(matches!(
        next(&mut conn).await,
        Some(ServerMessage::Init { .. })
    ));
    let call = |method: &'static str| {
        let system = system.clone();
        tokio::spawn(async move { system.call("probe", "a", method, vec![], caller()).await })
    };
    assert_eq!(call("increment").await.unwrap(), Ok(json!(1)));
    store.hold();
    let acknowledged = call("increment");
    until("the increment is being written", || store.waiting() == 1).await;
    faults.refuse_start.store(true, Ordering::SeqCst);
    let exploded = call("explode");
    until("the restart failed", || log.count("start refused") == 1).await;
    let destroying = {
        let system = system.clone();
        tokio::spawn(async move { system.destroy("probe", "a").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.release();

    assert_eq!(acknowledged.await.unwrap(), Ok(json!(2)));
    assert!(exploded.await.unwrap().is_err());
    destroying.await.unwrap().unwrap();
    let committed = store.committed();
    let last = committed.last().expect("writes");
    assert!(
        last.destroy,
        "the tombstone is the last write: {committed:?}"
    );
    assert!(store.stored("probe", "a").await.destroyed);
    system.shutdown().await;
}

/// Defect 10: `schedule_after` with a delay past the clock's range panicked inside the
/// action; an alarm too far ahead for the runtime's clock stopped the scheduler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_past_the_clocks_range_are_refused_and_far_alarms_harm_no_one() {
    let (store, log, faults) = (ControlledStore::new(), Log::default(), Faults::default());
    let system = probe_system(&store, &log, &faults).await;
    let call = |method: &'static str, args: Vec<serde_json::Value>| {
        system.call("probe", "a", method, args, caller())
    };
    let err = call("schedule_in", vec![json!(u64::MAX)])
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::InvalidArguments), "{err:?}");
    assert_eq!(log.count("start:"), 1, "no crash: {:?}", log.entries());

    // far ahead (about 500 million years), but representable: accepted, and it does not
    // stop the scheduler from delivering the alarms before it
    assert!(call("schedule_in", vec![json!(1u64 << 54)]).await.is_ok());
    assert!(call("schedule_in", vec![json!(0)]).await.is_ok());
    until("the near alarm fired", || {
        store
            .committed()
            .iter()
            .any(|w| !w.delete_alarms.is_empty())
    })
    .await;
    assert_eq!(call("get", vec![]).await, Ok(json!(1)));
    system.shutdown().await;
}
