//! Membership, activation and fenced commits against a real PostgreSQL server. Leases are
//! made to lapse by renewing them with a zero lease, never by waiting.

use std::time::Duration;

use flame_postgres::PgStore;
use flame_postgres::cluster::ClusterError;
use flame_postgres::lease::{Activation, Owner};
use flame_stateful::store::{ActorId, ActorStore, ActorWrite};
use flame_test_support::pg::PgServer;

const LONG: Duration = Duration::from_secs(600);

fn write(actor: &ActorId, state: &str) -> ActorWrite {
    let mut w = ActorWrite::new(actor.clone());
    w.state = Some(state.as_bytes().into());
    w
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_id_or_address_is_refused_until_its_lease_lapses() {
    let Some(pg) = PgServer::start() else { return };
    let store = PgStore::connect(&pg.url()).await.unwrap();
    let n1 = store
        .register_node("n1", "10.0.0.1:7000", LONG)
        .await
        .unwrap();
    assert!(n1.expires_at_ms > n1.started_at_ms);
    for (id, address) in [("n1", "10.0.0.9:7000"), ("n9", "10.0.0.1:7000")] {
        match store.register_node(id, address, LONG).await {
            Err(ClusterError::NodeTaken { .. }) => {}
            other => panic!("expected NodeTaken, got {other:?}"),
        }
    }
    assert_eq!(store.live_nodes().await.unwrap(), vec![n1]);
    // n1's lease lapses: its id and address are free again, and it cannot renew.
    store.renew_node("n1", Duration::ZERO).await.unwrap();
    assert!(matches!(
        store.renew_node("n1", LONG).await,
        Err(ClusterError::LeaseLapsed(_))
    ));
    assert!(store.live_nodes().await.unwrap().is_empty());
    store
        .register_node("n2", "10.0.0.1:7000", LONG)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_lost_ownership_can_never_commit() {
    let Some(pg) = PgServer::start() else { return };
    let store = PgStore::connect(&pg.url()).await.unwrap();
    store.register_node("n1", "a:1", LONG).await.unwrap();
    store.register_node("n2", "a:2", LONG).await.unwrap();
    let actor = ActorId::new("counter", "x");

    assert_eq!(
        store.activate(&actor, "n1").await.unwrap(),
        Activation::Take { epoch: 1 }
    );
    assert_eq!(
        store.activate(&actor, "n2").await.unwrap(),
        Activation::OwnedBy(Owner {
            node: "n1".into(),
            epoch: 1
        })
    );
    store
        .commit_fenced("n1", vec![(write(&actor, "1"), 1)])
        .await
        .unwrap();
    // n2 cannot write an actor it does not own.
    assert!(matches!(
        store
            .commit_fenced("n2", vec![(write(&actor, "n2"), 1)])
            .await,
        Err(ClusterError::Fenced { .. })
    ));

    // n1 is cut off: its lease lapses, n2 takes over with epoch 2.
    store.renew_node("n1", Duration::ZERO).await.unwrap();
    assert_eq!(
        store.activate(&actor, "n2").await.unwrap(),
        Activation::Take { epoch: 2 }
    );
    // n1 comes back and re-registers; its old activation stays fenced, and one bad write
    // refuses the whole group.
    store.register_node("n1", "a:1", LONG).await.unwrap();
    let other = ActorId::new("counter", "y");
    assert_eq!(
        store.activate(&other, "n1").await.unwrap(),
        Activation::Take { epoch: 1 }
    );
    let refused = store
        .commit_fenced(
            "n1",
            vec![(write(&other, "y1"), 1), (write(&actor, "stale"), 1)],
        )
        .await;
    assert!(
        matches!(refused, Err(ClusterError::Fenced { epoch: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(store.load(&other).await.unwrap().state, None);
    assert_eq!(
        store.load(&actor).await.unwrap().state.as_deref(),
        Some(b"1".as_slice())
    );
    store
        .commit_fenced("n2", vec![(write(&actor, "2"), 2)])
        .await
        .unwrap();
    assert_eq!(
        store.load(&actor).await.unwrap().state.as_deref(),
        Some(b"2".as_slice())
    );

    // A node whose lease lapsed writes nothing, even to actors it still owns on record.
    store.renew_node("n2", Duration::ZERO).await.unwrap();
    assert!(matches!(
        store
            .commit_fenced("n2", vec![(write(&actor, "3"), 2)])
            .await,
        Err(ClusterError::LeaseLapsed(_))
    ));
    assert!(matches!(
        store.activate(&actor, "n2").await,
        Err(ClusterError::LeaseLapsed(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_first_activations_agree_on_one_owner() {
    let Some(pg) = PgServer::start() else { return };
    let store = PgStore::connect(&pg.url()).await.unwrap();
    for n in 0..3 {
        store
            .register_node(&format!("n{n}"), &format!("a:{n}"), LONG)
            .await
            .unwrap();
    }
    // Each (node, key) pair once: 3 nodes, 5 keys.
    let tasks: Vec<_> = (0..15)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let me = format!("n{}", i % 3);
                let decision = store
                    .activate(&ActorId::new("counter", format!("k{}", i % 5)), &me)
                    .await
                    .unwrap();
                (i % 5, me, decision)
            })
        })
        .collect();
    let mut owners: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for task in tasks {
        let (key, me, decision) = task.await.unwrap();
        let owner = match decision {
            Activation::Take { epoch } => {
                assert_eq!(epoch, 1, "a live owner is never taken over");
                me
            }
            Activation::OwnedBy(owner) => owner.node,
        };
        owners.entry(key).or_default().push(owner);
    }
    for (key, seen) in owners {
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "k{key}: {seen:?}");
    }
}
