//! The store contract (flame-test-support's `store_contract`) on the memory store and on a
//! real redb file; flame-postgres runs the same cases on PostgreSQL.

use flame_stateful::store::{MemoryStore, RedbStore};
use flame_test_support::store_contract;

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    let store = MemoryStore::new();
    store_contract::run_all(|| {
        let store = store.clone();
        async move { store }
    })
    .await;
}

#[tokio::test]
async fn redb_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actors.redb");
    store_contract::run_all(|| {
        let path = path.clone();
        async move { RedbStore::open(path).unwrap() }
    })
    .await;
}
