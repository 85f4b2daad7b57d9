//! Where stateful actors keep what must survive: [`ActorStore`], with an embedded default
//! ([`RedbStore`], one file in the data directory) and [`MemoryStore`] for tests.
//!
//! Per actor, identified by an [`ActorId`] (kind name and key), a store keeps:
//!
//! - its state, as bytes (JSON); an actor with state has been initialized,
//! - a tombstone once it was destroyed (its key can never come back),
//! - its scheduled [`Alarm`]s.
//!
//! The runtime never writes one actor at a time: a committer task groups the writes of many
//! actors into one [`ActorStore::commit`] call, which must be atomic and durable before it
//! returns (for redb: one write transaction, fsync'ed).
//!
//! The trait is object-safe (boxed futures), so other stores (PostgreSQL with single-activation
//! leases, say) can be added without touching the runtime.

mod memory;
#[cfg(feature = "redb")]
mod redb;

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::memory::MemoryStore;
#[cfg(feature = "redb")]
pub use self::redb::RedbStore;

/// An actor's address: its kind's registered name and its key.
///
/// ```
/// use flame_stateful::store::ActorId;
/// let id = ActorId::new("counter", "room-1");
/// assert_eq!(id.to_string(), "counter/room-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId {
    /// The kind's name, as registered with the actor system.
    pub name: Arc<str>,
    /// The instance's key.
    pub key: Arc<str>,
}

impl ActorId {
    /// An id from a kind name and a key.
    pub fn new(name: impl Into<Arc<str>>, key: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
        }
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.key)
    }
}

/// A scheduled call of one of an actor's actions.
///
/// ```
/// use flame_stateful::store::Alarm;
/// let alarm = Alarm { id: 1, at_ms: 1_700_000_000_000, method: "tick".into(), args: vec![] };
/// assert_eq!(alarm.method, "tick");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Unique within its actor.
    pub id: u64,
    /// When it is due, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The action to call.
    pub method: String,
    /// Its positional arguments.
    pub args: Vec<Value>,
}

/// What a store holds about one actor.
///
/// ```
/// use flame_stateful::store::StoredActor;
/// let fresh = StoredActor::default();
/// assert!(!fresh.is_initialized() && !fresh.destroyed);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredActor {
    /// The last committed state, if the actor was ever initialized.
    pub state: Option<Arc<[u8]>>,
    /// Whether the actor was destroyed (a tombstone).
    pub destroyed: bool,
}

impl StoredActor {
    /// Whether `on_initialize` ran and its result was committed.
    pub fn is_initialized(&self) -> bool {
        self.state.is_some()
    }
}

/// One change to an actor's key-value space: a put (`Some`) or a delete (`None`).
///
/// ```
/// use flame_stateful::store::KvOp;
/// let put = KvOp { key: b"msg/0001".to_vec(), value: Some(b"hello".as_slice().into()) };
/// let delete = KvOp { key: b"msg/0000".to_vec(), value: None };
/// assert!(put.value.is_some() && delete.value.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvOp {
    /// The key (bytes, ordered bytewise).
    pub key: Vec<u8>,
    /// The new value, or `None` to delete the key.
    pub value: Option<Arc<[u8]>>,
}

/// One entry of an actor's key-value space: its key and its value.
pub type KvEntry = (Vec<u8>, Arc<[u8]>);

/// A range scan over an actor's key-value space: keys in `[start, end)` (either end open
/// when `None`), in key order or reversed, at most `limit` entries.
///
/// ```
/// use flame_stateful::store::KvScan;
/// let scan = KvScan::prefix(b"msg/").reverse().limit(20);
/// assert_eq!(scan.start.as_deref(), Some(b"msg/".as_slice()));
/// assert_eq!(scan.end.as_deref(), Some(b"msg0".as_slice()));
/// assert!(scan.contains(b"msg/0001") && !scan.contains(b"msh"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvScan {
    /// The first key included; `None`: from the first key.
    pub start: Option<Vec<u8>>,
    /// The first key excluded; `None`: to the last key.
    pub end: Option<Vec<u8>>,
    /// From the last key down.
    pub reverse: bool,
    /// The most entries returned.
    pub limit: usize,
}

impl KvScan {
    /// Every key, in order, at most `usize::MAX` of them (set a [`limit`](Self::limit)).
    pub fn all() -> Self {
        Self {
            start: None,
            end: None,
            reverse: false,
            limit: usize::MAX,
        }
    }

    /// The keys in `[start, end)`.
    pub fn range(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self {
            start: Some(start.into()),
            end: Some(end.into()),
            ..Self::all()
        }
    }

    /// The keys that start with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        Self {
            start: Some(prefix.to_vec()),
            end: prefix_end(prefix),
            ..Self::all()
        }
    }

    /// In reverse key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// At most `limit` entries.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.start.as_deref().is_none_or(|start| key >= start)
            && self.end.as_deref().is_none_or(|end| key < end)
    }
}

/// The first key after every key that starts with `prefix` (`None`: there is none, the
/// prefix is all `0xff`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// One actor's part of a grouped commit.
///
/// ```
/// use flame_stateful::store::{ActorId, ActorWrite};
/// let mut write = ActorWrite::new(ActorId::new("counter", "a"));
/// write.state = Some(br#"{"count":1}"#.as_slice().into());
/// assert!(!write.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ActorWrite {
    /// Whose write it is.
    pub actor: ActorId,
    /// The new state (which also marks the actor initialized), if it changed.
    pub state: Option<Arc<[u8]>>,
    /// Alarms to add (or replace, by id).
    pub put_alarms: Vec<Alarm>,
    /// Alarms to remove, by id.
    pub delete_alarms: Vec<u64>,
    /// Changes to the actor's key-value space, applied in order.
    pub kv: Vec<KvOp>,
    /// Destroy the actor: write the tombstone, delete its state, its alarms and its whole
    /// key-value space. When set, the other fields are ignored.
    pub destroy: bool,
}

impl ActorWrite {
    /// A write that changes nothing yet.
    pub fn new(actor: ActorId) -> Self {
        Self {
            actor,
            state: None,
            put_alarms: Vec::new(),
            delete_alarms: Vec::new(),
            kv: Vec::new(),
            destroy: false,
        }
    }

    /// Whether the write changes nothing.
    pub fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.put_alarms.is_empty()
            && self.delete_alarms.is_empty()
            && self.kv.is_empty()
            && !self.destroy
    }
}

/// A store failed.
///
/// ```
/// use flame_stateful::store::StoreError;
/// let e = StoreError::backend(std::io::Error::other("disk full"));
/// assert_eq!(e.to_string(), "store backend error: disk full");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend (database, file system) failed.
    #[error("store backend error: {0}")]
    Backend(Arc<dyn std::error::Error + Send + Sync>),
    /// A record could not be read back.
    #[error("corrupt record for actor {actor}: {message}")]
    Corrupt {
        /// Whose record.
        actor: String,
        /// What is wrong with it.
        message: String,
    },
    /// The store (or the committer in front of it) is shut down.
    #[error("the store is closed")]
    Closed,
    /// Cluster mode: the write's activation no longer owns the actor (another node took
    /// it over, with a newer epoch). Nothing of the commit was written, and it is never
    /// acknowledged: the instance deactivates and its callers get `unavailable`.
    #[error("the write of {actor} was fenced: another activation owns the actor")]
    Fenced {
        /// Whose write.
        actor: String,
    },
    /// Cluster mode: this node cannot vouch for its lease (it could not renew it in time),
    /// so it acknowledges nothing; its actors deactivate.
    #[error("this node's lease is lost: it acknowledges no write")]
    LeaseLost,
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Arc::new(e))
    }

    /// Whether the write was refused because this node does not own the actor (any more):
    /// [`Fenced`](Self::Fenced) or [`LeaseLost`](Self::LeaseLost).
    ///
    /// ```
    /// use flame_stateful::store::StoreError;
    /// assert!(StoreError::LeaseLost.is_fenced());
    /// assert!(!StoreError::Closed.is_fenced());
    /// ```
    pub fn is_fenced(&self) -> bool {
        matches!(self, StoreError::Fenced { .. } | StoreError::LeaseLost)
    }
}

/// Durable storage for stateful actors.
///
/// Implementations must make [`commit`](ActorStore::commit) atomic (all writes or none) and
/// durable before its future completes: the runtime acknowledges RPCs on the strength of it.
///
/// ```
/// use flame_stateful::store::{ActorId, ActorStore, ActorWrite, MemoryStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let id = ActorId::new("counter", "a");
/// let mut write = ActorWrite::new(id.clone());
/// write.state = Some(b"1".as_slice().into());
/// store.commit(vec![write]).await?;
/// let stored = store.load(&id).await?;
/// assert_eq!(stored.state.as_deref(), Some(b"1".as_slice()));
/// # Ok::<(), flame_stateful::store::StoreError>(()) }).unwrap();
/// ```
pub trait ActorStore: Send + Sync + fmt::Debug + 'static {
    /// What the store holds about `actor` (the default value when nothing).
    fn load<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<StoredActor, StoreError>>;

    /// Applies all writes in one atomic, durable transaction.
    fn commit(&self, writes: Vec<ActorWrite>) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Every pending alarm of every actor (read once when the actor system starts).
    fn load_alarms(&self) -> BoxFuture<'_, Result<Vec<(ActorId, Alarm)>, StoreError>>;

    /// The committed value of `key` in `actor`'s key-value space.
    fn kv_get<'a>(
        &'a self,
        actor: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Arc<[u8]>>, StoreError>>;

    /// The committed entries of `actor`'s key-value space that `scan` selects, in its order.
    fn kv_scan<'a>(
        &'a self,
        actor: &'a ActorId,
        scan: &'a KvScan,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, StoreError>>;

    /// How many bytes (keys and values) `actor`'s key-value space holds, as committed. The
    /// runtime reads it when an actor first writes to its key-value space, to enforce
    /// `ActorConfig::max_kv_bytes_per_actor`.
    ///
    /// The default sums a scan of the whole space, which costs as much as the space is big;
    /// a store should keep the figure instead, updated in each commit (as
    /// [`RedbStore`] does: one counter per actor, in the commit's transaction).
    fn kv_bytes<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut total = 0u64;
            let mut scan = KvScan::all().limit(1024);
            loop {
                let page = self.kv_scan(actor, &scan).await?;
                for (key, value) in &page {
                    total += (key.len() + value.len()) as u64;
                }
                match page.last() {
                    Some((last, _)) if page.len() >= scan.limit => {
                        let mut after = last.clone();
                        after.push(0);
                        scan.start = Some(after);
                    }
                    _ => return Ok(total),
                }
            }
        })
    }
}

/// The bytes an entry counts for in an actor's total: its key and its value.
pub(crate) fn entry_bytes(key: &[u8], value: Option<&[u8]>) -> u64 {
    value.map_or(0, |v| (key.len() + v.len()) as u64)
}
