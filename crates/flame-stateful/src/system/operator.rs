//! What operators do with stored actors, loaded or not: read an actor's state and its
//! key-value space, check that a stored state loads, repair one that does not.
//!
//! Reads go to the store and never activate an actor. They show the *committed* view: for a
//! loaded actor, everything any client was told about (the durability rule commits a change
//! before it is acknowledged), without the changes still on their way to the store. The state
//! and the key-value space are read in separate store reads, so between them another commit
//! of a live actor may land.

use std::sync::Arc;

use serde_json::Value;

use super::{ActorSystem, Kind};
use crate::error::SystemError;
use crate::kv::KvPage;
use crate::store::{ActorId, ActorWrite, KvScan, StoredActor};
use crate::versioned::{self, StateError};

/// An actor's state as stored: its version and its JSON, read without running a migration.
///
/// ```
/// use flame_stateful::StoredState;
/// fn describe(state: &StoredState) -> String {
///     format!("version {}: {}", state.version, state.value)
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredState {
    /// The version it is stored as (older than the code's when no load migrated it yet).
    pub version: u32,
    /// The state, as stored.
    pub value: Value,
}

impl ActorSystem {
    /// The most entries one [`kv_scan`](Self::kv_scan) returns, whatever the scan's limit.
    pub const MAX_INSPECT_PAGE: usize = 1000;

    fn operator_kind(&self, name: &str) -> Result<&Arc<Kind>, SystemError> {
        self.inner
            .kinds
            .get(name)
            .ok_or_else(|| SystemError::UnknownKind(name.to_owned()))
    }

    async fn stored(&self, id: &ActorId) -> Result<StoredActor, SystemError> {
        let stored = self.inner.shared.load(id).await?;
        if stored.destroyed {
            return Err(SystemError::Destroyed(id.clone()));
        }
        Ok(stored)
    }

    /// The committed state of (name, key), as stored; `None` when it has none. Does not load
    /// the actor. For a loaded actor this is the committed view: everything any client was
    /// told about, without the changes still on their way to the store.
    ///
    /// # Errors
    ///
    /// An unknown kind, a destroyed actor, a state that is not JSON, or the store failed.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use flame_stateful::{actions, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
    /// # use flame_stateful::store::MemoryStore;
    /// # #[derive(Default)] struct Counter;
    /// # impl StatefulActor for Counter {
    /// #     type State = i64; type ConnParams = (); type ConnState = ();
    /// #     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> { Ok(0) }
    /// # }
    /// # #[actions] impl Counter {
    /// #     async fn increment(&self, rpc: &mut Rpc<Self>) -> i64 { *rpc.state_mut() += 1; *rpc.state() }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = ActorSystem::builder()
    ///     .store(MemoryStore::new())
    ///     .register_default::<Counter>("counter")
    ///     .build()
    ///     .await?;
    /// assert_eq!(system.state("counter", "a").await?, None);
    /// let caller = Arc::new(flame_actor::BackendActor::new("ops"));
    /// system.call("counter", "a", "increment", vec![], caller).await?;
    /// let state = system.state("counter", "a").await?.unwrap();
    /// assert_eq!((state.version, state.value), (1, serde_json::json!(1)));
    /// system.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn state(&self, name: &str, key: &str) -> Result<Option<StoredState>, SystemError> {
        self.operator_kind(name)?;
        let id = ActorId::new(name, key);
        let Some(bytes) = self.stored(&id).await?.state else {
            return Ok(None);
        };
        let (version, json) =
            versioned::split(&bytes).ok_or_else(|| StateError::BadHeader { actor: id.clone() })?;
        let value = serde_json::from_slice(json).map_err(|e| StateError::Unreadable {
            actor: id.clone(),
            stored: version,
            error: e.to_string(),
        })?;
        Ok(Some(StoredState { version, value }))
    }

    /// Checks that the stored state of (name, key) loads with this code, as a load would
    /// (running the migration, writing nothing). `Ok` when it has no stored state.
    ///
    /// # Errors
    ///
    /// [`SystemError::State`] naming the actor, the stored version and the serde (or
    /// migration) error; an unknown kind, a destroyed actor, or the store failed.
    pub async fn check_state(&self, name: &str, key: &str) -> Result<(), SystemError> {
        let kind = self.operator_kind(name)?;
        let id = ActorId::new(name, key);
        match self.stored(&id).await?.state {
            Some(bytes) => Ok((kind.codec.check)(&id, &bytes)?),
            None => Ok(()),
        }
    }

    /// Overwrites the stored state of (name, key) with `state`, a state of the current
    /// version (it must deserialize as the kind's `State`): the way to repair a stored state
    /// that neither deserializes nor migrates. The actor must not be loaded (one whose state
    /// cannot be read never is); while the write goes on, no activation of the key starts.
    /// Its key-value space and alarms are left as they are.
    ///
    /// # Errors
    ///
    /// [`SystemError::State`] when `state` is not a valid state; [`SystemError::NoState`]
    /// when the actor has no stored state; [`SystemError::Unavailable`] when it is loaded;
    /// an unknown kind, a destroyed actor, or the store failed.
    pub async fn repair_state(
        &self,
        name: &str,
        key: &str,
        state: Value,
    ) -> Result<(), SystemError> {
        let kind = self.operator_kind(name)?;
        let id = ActorId::new(name, key);
        let bytes = (kind.codec.encode)(&id, state)?;
        {
            let mut slots = kind.slots.lock();
            if slots.live.contains_key(key) {
                return Err(SystemError::Unavailable(format!(
                    "{id} is loaded: change a live actor through its actions"
                )));
            }
            if !slots.held.insert(key.into()) {
                return Err(SystemError::Unavailable(format!(
                    "another repair of {id} is under way"
                )));
            }
        }
        let result = self.write_state(&id, bytes).await;
        kind.slots.lock().held.remove(key);
        if result.is_ok() {
            tracing::warn!(actor = %id, "an operator replaced the stored state");
        }
        result
    }

    async fn write_state(&self, id: &ActorId, bytes: Vec<u8>) -> Result<(), SystemError> {
        if self.stored(id).await?.state.is_none() {
            return Err(SystemError::NoState(id.clone()));
        }
        let mut write = ActorWrite::new(id.clone());
        write.state = Some(bytes.into());
        Ok(self.inner.shared.commit_now(write, None).await?)
    }

    /// The committed entries of (name, key)'s key-value space that `scan` selects, at most
    /// [`MAX_INSPECT_PAGE`](Self::MAX_INSPECT_PAGE) of them; `next` continues after the last one. Does not load the
    /// actor.
    ///
    /// # Errors
    ///
    /// An unknown kind, or the store failed.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use flame_stateful::{actions, ActorError, ActorSystem, InitCtx, Rpc, StatefulActor};
    /// # use flame_stateful::store::{KvScan, MemoryStore};
    /// # #[derive(Default)] struct Log;
    /// # impl StatefulActor for Log {
    /// #     type State = (); type ConnParams = (); type ConnState = ();
    /// #     async fn on_initialize(&self, _: &InitCtx) -> Result<(), ActorError> { Ok(()) }
    /// # }
    /// # #[actions] impl Log {
    /// #     async fn add(&self, rpc: &mut Rpc<Self>, n: u32) -> Result<(), ActorError> {
    /// #         rpc.kv().put(format!("e/{n:04}"), &n)
    /// #     }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let system = ActorSystem::builder().store(MemoryStore::new()).register_default::<Log>("log").build().await?;
    /// # let caller = Arc::new(flame_actor::BackendActor::new("ops"));
    /// # for n in 0..3 { system.call("log", "a", "add", vec![n.into()], caller.clone()).await?; }
    /// let page = system.kv_scan("log", "a", KvScan::prefix(b"e/").limit(2)).await?;
    /// assert_eq!(page.entries[0].0, b"e/0000");
    /// let rest = system.kv_scan("log", "a", page.next.unwrap()).await?;
    /// assert_eq!((rest.entries.len(), rest.next), (1, None));
    /// # system.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn kv_scan(
        &self,
        name: &str,
        key: &str,
        scan: KvScan,
    ) -> Result<KvPage, SystemError> {
        self.operator_kind(name)?;
        let id = ActorId::new(name, key);
        let store = self
            .inner
            .shared
            .store()
            .ok_or(crate::store::StoreError::Closed)?;
        let scan = KvScan {
            limit: scan.limit.min(Self::MAX_INSPECT_PAGE),
            ..scan
        };
        let entries = store.kv_scan(&id, &scan).await?;
        let next = crate::kv::next_page(&scan, &entries);
        Ok(KvPage { entries, next })
    }

    /// The committed value of `entry` in (name, key)'s key-value space. Does not load the
    /// actor.
    ///
    /// # Errors
    ///
    /// An unknown kind, or the store failed.
    pub async fn kv_get(
        &self,
        name: &str,
        key: &str,
        entry: &[u8],
    ) -> Result<Option<Arc<[u8]>>, SystemError> {
        self.operator_kind(name)?;
        let id = ActorId::new(name, key);
        let store = self
            .inner
            .shared
            .store()
            .ok_or(crate::store::StoreError::Closed)?;
        Ok(store.kv_get(&id, entry).await?)
    }
}
