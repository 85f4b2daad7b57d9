//! The PostgreSQL store on a real server started by the test: the shared store contract,
//! atomicity of a grouped commit, the schema's versions, and bad input at start.

use flame_postgres::{PgError, PgOptions, PgStore, schema};
use flame_stateful::store::{ActorId, ActorStore, ActorWrite, KvOp};
use flame_test_support::pg::PgServer;
use flame_test_support::store_contract;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_store_keeps_the_contract() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.url();
    store_contract::run_all(|| {
        let url = url.clone();
        async move { PgStore::connect(&url).await.unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grouped_commit_with_one_bad_write_applies_none() {
    let Some(pg) = PgServer::start() else { return };
    let store = PgStore::connect(&pg.url()).await.unwrap();
    let good = ActorId::new("counter", "good");
    let mut first = ActorWrite::new(good.clone());
    first.state = Some(b"1".as_slice().into());
    store.commit(vec![first]).await.unwrap();

    let mut good_write = ActorWrite::new(good.clone());
    good_write.state = Some(b"2".as_slice().into());
    good_write.kv.push(KvOp {
        key: b"k".to_vec(),
        value: Some(b"v".as_slice().into()),
    });
    let other = ActorId::new("counter", "other");
    let mut other_write = ActorWrite::new(other.clone());
    other_write.destroy = true;
    // PostgreSQL's text cannot hold a NUL: this write fails inside the transaction, after
    // the others were sent.
    let mut bad = ActorWrite::new(ActorId::new("counter", "bad\0key"));
    bad.state = Some(b"1".as_slice().into());
    let err = store
        .commit(vec![good_write, other_write, bad])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("store backend error"), "{err}");

    assert_eq!(
        store.load(&good).await.unwrap().state.as_deref(),
        Some(b"1".as_slice())
    );
    assert_eq!(store.kv_get(&good, b"k").await.unwrap(), None);
    assert!(!store.load(&other).await.unwrap().destroyed);
    // The pool's connection is fine afterwards.
    let mut again = ActorWrite::new(good.clone());
    again.state = Some(b"3".as_slice().into());
    store.commit(vec![again]).await.unwrap();
    assert_eq!(
        store.load(&good).await.unwrap().state.as_deref(),
        Some(b"3".as_slice())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_once_and_a_newer_schema_is_refused_untouched() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.url();
    // Several stores connecting at once apply the migrations once.
    let stores = futures_util::future::join_all((0..4).map(|_| PgStore::connect(&url))).await;
    for store in &stores {
        let store = store.as_ref().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), schema::LATEST);
    }
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let newer = schema::LATEST + 1;
    client
        .execute("UPDATE flame_schema SET version = $1", &[&newer])
        .await
        .unwrap();
    let before: i64 = client
        .query_one("SELECT count(*) FROM flame_actor_states", &[])
        .await
        .unwrap()
        .get(0);
    match PgStore::connect(&url).await {
        Err(PgError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (newer, schema::LATEST));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let version: i32 = client
        .query_one("SELECT version FROM flame_schema", &[])
        .await
        .unwrap()
        .get(0);
    let after: i64 = client
        .query_one("SELECT count(*) FROM flame_actor_states", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!((version, after), (newer, before));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_url_or_an_unreachable_database_is_a_clear_error() {
    let err = PgStore::connect("mysql://nope").await.unwrap_err();
    assert!(matches!(err, PgError::Url(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("invalid PostgreSQL URL"),
        "{err}"
    );

    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let options = PgOptions::default().connect_timeout(std::time::Duration::from_secs(2));
    let err = PgStore::connect_with(&url, options).await.unwrap_err();
    assert!(matches!(err, PgError::Connect(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("cannot connect to PostgreSQL"),
        "{err}"
    );

    // A database that does not exist on a live server: refused, nothing created.
    let Some(pg) = PgServer::start() else { return };
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/no_such_database",
        pg.port()
    );
    let err = PgStore::connect(&url).await.unwrap_err();
    assert!(matches!(err, PgError::Connect(_)), "{err:?}");
    assert!(err.to_string().contains("no_such_database"), "{err}");
}
