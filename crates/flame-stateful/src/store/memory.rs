//! [`MemoryStore`]: everything in memory, for tests and benchmarks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};
use parking_lot::Mutex;

use super::{ActorId, ActorStore, ActorWrite, Alarm, KvEntry, KvScan, StoreError, StoredActor};

/// An [`ActorStore`] in memory: fast, atomic, and gone with the process.
///
/// Clones share the same data, so a test can "restart" an actor system on the same store.
///
/// ```
/// use flame_stateful::store::MemoryStore;
/// let store = MemoryStore::new();
/// let same = store.clone();
/// assert_eq!(format!("{store:?}"), format!("{same:?}"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Data>>,
}

#[derive(Debug, Default)]
struct Data {
    states: HashMap<ActorId, Arc<[u8]>>,
    destroyed: HashSet<ActorId>,
    alarms: HashMap<ActorId, BTreeMap<u64, Alarm>>,
    kv: HashMap<ActorId, BTreeMap<Vec<u8>, Arc<[u8]>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ActorStore for MemoryStore {
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>> {
        let data = self.inner.lock();
        let stored = StoredActor {
            state: data.states.get(actor).cloned(),
            destroyed: data.destroyed.contains(actor),
        };
        futures_util::future::ready(Ok(stored)).boxed()
    }

    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut data = self.inner.lock();
        for write in writes {
            if write.destroy {
                data.states.remove(&write.actor);
                data.alarms.remove(&write.actor);
                data.kv.remove(&write.actor);
                data.destroyed.insert(write.actor);
                continue;
            }
            if !write.kv.is_empty() {
                let space = data.kv.entry(write.actor.clone()).or_default();
                for op in write.kv {
                    match op.value {
                        Some(value) => space.insert(op.key, value),
                        None => space.remove(&op.key),
                    };
                }
            }
            if let Some(state) = write.state {
                data.states.insert(write.actor.clone(), state);
            }
            if !write.put_alarms.is_empty() || !write.delete_alarms.is_empty() {
                let alarms = data.alarms.entry(write.actor).or_default();
                for alarm in write.put_alarms {
                    alarms.insert(alarm.id, alarm);
                }
                for id in write.delete_alarms {
                    alarms.remove(&id);
                }
            }
        }
        futures_util::future::ready(Ok(())).boxed()
    }

    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>> {
        let data = self.inner.lock();
        let alarms = data
            .alarms
            .iter()
            .flat_map(|(id, alarms)| alarms.values().map(|a| (id.clone(), a.clone())))
            .collect();
        futures_util::future::ready(Ok(alarms)).boxed()
    }

    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Arc<[u8]>>, StoreError>> {
        let data = self.inner.lock();
        let value = data.kv.get(actor).and_then(|space| space.get(key).cloned());
        futures_util::future::ready(Ok(value)).boxed()
    }

    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, StoreError>> {
        let data = self.inner.lock();
        let entries = match data.kv.get(actor) {
            None => Vec::new(),
            Some(space) => {
                use std::ops::Bound;
                let start = scan
                    .start
                    .as_deref()
                    .map_or(Bound::Unbounded, Bound::Included);
                let end = scan
                    .end
                    .as_deref()
                    .map_or(Bound::Unbounded, Bound::Excluded);
                if scan.start.is_some() && scan.end.is_some() && scan.start >= scan.end {
                    return futures_util::future::ready(Ok(Vec::new())).boxed();
                }
                let selected = space.range::<[u8], _>((start, end));
                let cloned = |(k, v): (&Vec<u8>, &Arc<[u8]>)| (k.clone(), v.clone());
                if scan.reverse {
                    selected.rev().take(scan.limit).map(cloned).collect()
                } else {
                    selected.take(scan.limit).map(cloned).collect()
                }
            }
        };
        futures_util::future::ready(Ok(entries)).boxed()
    }
}
