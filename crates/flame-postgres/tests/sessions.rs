//! flame-auth's sessions on PostgreSQL, on a real server started by the test: a login made
//! through one node is valid on another, survives a restart of both, and a revocation made
//! anywhere holds everywhere; concurrent revocations of one token report it once.

use std::time::{Duration, SystemTime};

use flame_auth::session::{SessionBackend, SessionRecord, SessionStore, TokenHash};
use flame_auth::{TokenVerifier, User, UserActor};
use flame_postgres::{PgSessionBackend, PgStore};
use flame_test_support::pg::PgServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_login_on_one_node_holds_on_the_others_and_across_restarts() {
    let Some(pg) = PgServer::start() else { return };
    // two nodes: two stores (two pools) on one database
    let node_a = SessionStore::new(PgSessionBackend::new(
        &PgStore::connect(&pg.url()).await.unwrap(),
    ));
    let node_b = SessionStore::new(PgSessionBackend::new(
        &PgStore::connect(&pg.url()).await.unwrap(),
    ));
    let ada = node_a
        .create(User::new("u1", "ada"))
        .await
        .unwrap()
        .into_token();
    let ada_elsewhere = node_a
        .create(User::new("u1", "ada"))
        .await
        .unwrap()
        .into_token();
    let bob = node_b
        .create(User::new("u2", "bob"))
        .await
        .unwrap()
        .into_token();
    assert_eq!(node_b.verify(&ada).await.unwrap().user().username, "ada");
    assert_eq!(node_a.verify(&bob).await.unwrap().user().username, "bob");

    // a restart of both nodes: new stores on the same database
    drop((node_a, node_b));
    let node_a = SessionStore::new(PgSessionBackend::new(
        &PgStore::connect(&pg.url()).await.unwrap(),
    ));
    let node_b = SessionStore::new(PgSessionBackend::new(
        &PgStore::connect(&pg.url()).await.unwrap(),
    ));
    assert!(node_a.verify(&ada).await.is_ok());

    // signing out on one node signs out everywhere
    assert!(node_b.revoke(&ada).await.unwrap());
    assert!(node_a.verify(&ada).await.is_err());
    assert!(node_a.verify(&ada_elsewhere).await.is_ok());
    assert_eq!(node_a.revoke_user("u1").await.unwrap(), 1);
    assert!(node_b.verify(&ada_elsewhere).await.is_err());
    assert!(node_b.verify(&bob).await.is_ok());
    // a token nobody issued
    assert!(node_a.verify(&"A".repeat(43)).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_is_atomic_and_expired_sessions_are_purged() {
    let Some(pg) = PgServer::start() else { return };
    let store = PgStore::connect(&pg.url()).await.unwrap();
    let backend = PgSessionBackend::new(&store);
    let now = SystemTime::now();
    let live = TokenHash::of_token(&format!("{}A", "L".repeat(42))).unwrap();
    let old = TokenHash::of_token(&format!("{}A", "O".repeat(42))).unwrap();
    backend
        .insert(
            live,
            SessionRecord::new(User::new("u1", "ada"), now, now + Duration::from_secs(60)),
        )
        .await
        .unwrap();
    backend
        .insert(
            old,
            SessionRecord::new(User::new("u1", "ada"), now, now - Duration::from_secs(1)),
        )
        .await
        .unwrap();
    let stored = backend.get(&live).await.unwrap().expect("stored");
    assert_eq!(stored.user.username, "ada");
    assert!(!stored.revoked);

    // many nodes revoking one refresh token at once: exactly one of them does
    let revokers: Vec<_> = (0..8)
        .map(|_| {
            let backend = backend.clone();
            tokio::spawn(async move { backend.revoke(&live).await.unwrap() })
        })
        .collect();
    let mut revoked = 0;
    for revoker in revokers {
        revoked += usize::from(revoker.await.unwrap());
    }
    assert_eq!(revoked, 1);
    assert!(backend.get(&live).await.unwrap().expect("kept").revoked);

    assert_eq!(backend.purge_expired(now).await.unwrap(), 1);
    assert!(backend.get(&old).await.unwrap().is_none());
    assert!(backend.get(&live).await.unwrap().is_some());
}
