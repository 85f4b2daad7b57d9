//! Each actor's ordered key-value space: [`Kv`], what hooks and actions see of it.
//!
//! `State` is small and hot, serialized whole after every change; the key-value space is for
//! what grows (a chat room's history, a document's edit log): a write costs the entries it
//! touches, not the size of everything stored. Writes made while handling a message are
//! staged with that message's state change and alarms, committed in the same store
//! transaction, and released under the same rule: nothing a client hears of can be lost.
//! They are visible to the actor at once (read-your-writes); reads of other keys go to the
//! store through a cache with a byte budget.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ActorError;
use crate::protocol::ErrorCode;
use crate::store::{ActorId, ActorStore, KvEntry, KvOp, KvScan, StoreError, entry_bytes};

/// The limits of one actor's key-value space (from [`ActorConfig`](crate::ActorConfig)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KvLimits {
    pub(crate) max_key_size: usize,
    pub(crate) max_value_size: usize,
    pub(crate) max_writes_per_turn: usize,
    pub(crate) max_bytes_per_turn: usize,
    /// `u64::MAX`: no limit, and no lookups to keep the total.
    pub(crate) max_bytes_per_actor: u64,
    pub(crate) cache_bytes: usize,
}

/// A value as the actor last wrote it, or `None` for a delete.
type Written = Option<Arc<[u8]>>;

/// Committed values read before, up to a byte budget; the oldest go first.
#[derive(Debug, Default)]
struct Cache {
    entries: BTreeMap<Vec<u8>, Written>,
    order: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl Cache {
    fn get(&self, key: &[u8]) -> Option<&Written> {
        self.entries.get(key)
    }

    fn insert(&mut self, key: Vec<u8>, value: Written, budget: usize) {
        let size = key.len() + value.as_ref().map_or(0, |v| v.len());
        if size > budget {
            self.remove(&key);
            return;
        }
        if let Some(old) = self.entries.insert(key.clone(), value) {
            self.bytes -= key.len() + old.as_ref().map_or(0, |v| v.len());
        } else {
            self.order.push_back(key);
        }
        self.bytes += size;
        while self.bytes > budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= oldest.len() + old.as_ref().map_or(0, |v| v.len());
            }
        }
    }

    fn remove(&mut self, key: &[u8]) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= key.len() + old.as_ref().map_or(0, |v| v.len());
            self.order.retain(|k| k != key);
        }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The runtime's side of an actor's key-value space: this turn's writes, the writes of
/// earlier turns not yet committed, and the cache.
pub(crate) struct KvSpace {
    id: ActorId,
    store: Option<Arc<dyn ActorStore>>,
    limits: KvLimits,
    /// This turn's writes: the last write of a key wins.
    turn: BTreeMap<Vec<u8>, Written>,
    turn_bytes: usize,
    /// A write of this turn broke a limit: the whole turn is discarded.
    violation: Option<String>,
    /// Staged in earlier turns, not committed yet, with the ledger version that carries it.
    pending: BTreeMap<Vec<u8>, (Written, u64)>,
    cache: Cache,
    /// The bytes (keys and values) the space holds once everything staged is committed;
    /// `None` until the first measured turn reads the committed figure from the store.
    total: Option<u64>,
    /// No key of the space (committed or staged) is greater than this one (`Some(None)`:
    /// the space is empty); known along with `total`. A key past it is new, so appending in
    /// key order, the usual way to grow a space, needs no store read to be measured.
    last_key: Option<Option<Vec<u8>>>,
    /// What `total` becomes when this turn is staged (see [`measure_turn`](Self::measure_turn)).
    turn_total: Option<u64>,
}

impl std::fmt::Debug for KvSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvSpace")
            .field("id", &self.id)
            .field("turn", &self.turn.len())
            .field("pending", &self.pending.len())
            .field("cached_bytes", &self.cache.bytes)
            .finish_non_exhaustive()
    }
}

fn limit_error(message: String) -> ActorError {
    ActorError::with_code(ErrorCode::StorageLimit, message)
}

fn store_error(id: &ActorId, e: &StoreError) -> ActorError {
    tracing::error!(actor = %id, error = %e, "a key-value read failed");
    ActorError::internal(format!("a key-value read of {id} failed: {e}"))
}

impl KvSpace {
    pub(crate) fn new(id: ActorId, store: Option<Arc<dyn ActorStore>>, limits: KvLimits) -> Self {
        Self {
            id,
            store,
            limits,
            turn: BTreeMap::new(),
            turn_bytes: 0,
            violation: None,
            pending: BTreeMap::new(),
            cache: Cache::default(),
            total: None,
            last_key: None,
            turn_total: None,
        }
    }

    /// The size `key` has in the space before this turn: what was staged last, else what
    /// is cached, else what the store has.
    async fn size_before_turn(&self, key: &[u8]) -> Result<u64, StoreError> {
        let known = self
            .pending
            .get(key)
            .map(|(value, _)| value)
            .or_else(|| self.cache.get(key));
        if let Some(value) = known {
            return Ok(entry_bytes(key, value.as_deref()));
        }
        if let Some(last) = &self.last_key
            && last.as_deref().is_none_or(|last| key > last)
        {
            return Ok(0);
        }
        let store = self.store.as_ref().ok_or(StoreError::Closed)?;
        let value = store.kv_get(&self.id, key).await?;
        Ok(entry_bytes(key, value.as_deref()))
    }

    /// Measures what this turn's writes make of the space's total bytes, exactly (an
    /// overwrite counts the difference, a delete frees its entry), and breaks the turn if the
    /// total would go past `max_bytes_per_actor`. A key whose size is not known (not written
    /// since the last load, not cached, not past the last key) costs one store read.
    pub(crate) async fn measure_turn(&mut self) {
        self.turn_total = None;
        if self.turn.is_empty()
            || self.violation.is_some()
            || self.limits.max_bytes_per_actor == u64::MAX
        {
            return;
        }
        match self.measure().await {
            Ok(total)
                if total > self.limits.max_bytes_per_actor && total > self.total.unwrap_or(0) =>
            {
                self.violation = Some(format!(
                    "the actor's key-value space would hold {total} bytes, over the limit of {}",
                    self.limits.max_bytes_per_actor
                ));
            }
            Ok(total) => self.turn_total = Some(total),
            Err(e) => {
                tracing::error!(actor = %self.id, error = %e, "could not measure the key-value space");
                self.violation = Some(format!(
                    "the actor's key-value space could not be measured: {e}"
                ));
            }
        }
    }

    async fn measure(&mut self) -> Result<u64, StoreError> {
        let total = match self.total {
            Some(total) => total,
            None => {
                // nothing is pending (see `reset`): the store's figure is the whole truth
                let store = self.store.as_ref().ok_or(StoreError::Closed)?;
                let total = store.kv_bytes(&self.id).await?;
                let last = store
                    .kv_scan(&self.id, &KvScan::all().reverse().limit(1))
                    .await?;
                self.last_key = Some(last.into_iter().next().map(|(key, _)| key));
                self.total = Some(total);
                total
            }
        };
        let mut total = i128::from(total);
        for (key, value) in &self.turn {
            total += i128::from(entry_bytes(key, value.as_deref()));
            total -= i128::from(self.size_before_turn(key).await?);
        }
        Ok(u64::try_from(total).unwrap_or_default())
    }

    fn store(&self) -> Result<&Arc<dyn ActorStore>, ActorError> {
        self.store
            .as_ref()
            .ok_or_else(|| ActorError::internal("the actor store is closed"))
    }

    /// What the actor itself wrote to `key` and has not seen committed (this turn first).
    fn written(&self, key: &[u8]) -> Option<&Written> {
        self.turn
            .get(key)
            .or_else(|| self.pending.get(key).map(|(value, _)| value))
    }

    fn write(&mut self, key: Vec<u8>, value: Written) -> Result<(), ActorError> {
        let result = self.check(&key, value.as_deref());
        if let Err(e) = &result {
            self.violation.get_or_insert_with(|| e.message().to_owned());
            return result;
        }
        self.turn_bytes += key.len() + value.as_ref().map_or(0, |v| v.len());
        self.turn.insert(key, value);
        Ok(())
    }

    fn check(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), ActorError> {
        let limits = &self.limits;
        if key.len() > limits.max_key_size {
            return Err(limit_error(format!(
                "a key of {} bytes is over the limit of {}",
                key.len(),
                limits.max_key_size
            )));
        }
        let value_len = value.map_or(0, <[u8]>::len);
        if value_len > limits.max_value_size {
            return Err(limit_error(format!(
                "a value of {value_len} bytes is over the limit of {}",
                limits.max_value_size
            )));
        }
        if !self.turn.contains_key(key) && self.turn.len() >= limits.max_writes_per_turn {
            return Err(limit_error(format!(
                "more than {} keys written while handling one message",
                limits.max_writes_per_turn
            )));
        }
        if self.turn_bytes + key.len() + value_len > limits.max_bytes_per_turn {
            return Err(limit_error(format!(
                "more than {} bytes written while handling one message",
                limits.max_bytes_per_turn
            )));
        }
        Ok(())
    }

    /// Takes this turn's writes to stage them, or the limit one of them broke.
    pub(crate) fn take_turn(&mut self) -> Result<Vec<KvOp>, String> {
        self.turn_bytes = 0;
        let turn = std::mem::take(&mut self.turn);
        if let Some(violation) = self.violation.take() {
            return Err(violation);
        }
        Ok(turn
            .into_iter()
            .map(|(key, value)| KvOp { key, value })
            .collect())
    }

    /// This turn's writes were staged as `version`: they stay visible until it is committed.
    pub(crate) fn staged(&mut self, ops: &[KvOp], version: u64) {
        if let Some(total) = self.turn_total.take() {
            self.total = Some(total);
        } else if self.limits.max_bytes_per_actor != u64::MAX {
            // not measured (cannot happen: every staged turn is): the total is unknown now
            self.total = None;
            self.last_key = None;
        }
        for op in ops {
            if op.value.is_some()
                && let Some(last) = &mut self.last_key
                && last.as_deref().is_none_or(|last| op.key.as_slice() > last)
            {
                *last = Some(op.key.clone());
            }
            self.pending
                .insert(op.key.clone(), (op.value.clone(), version));
        }
    }

    /// Every version up to `version` is durable: its writes are what the store holds now.
    pub(crate) fn committed(&mut self, version: u64) {
        let budget = self.limits.cache_bytes;
        let done: Vec<Vec<u8>> = self
            .pending
            .iter()
            .filter(|(_, (_, v))| *v <= version)
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            if let Some((value, _)) = self.pending.remove(&key) {
                self.cache.insert(key, value, budget);
            }
        }
    }

    /// Forgets this turn's writes (the message failed, panicked or timed out).
    pub(crate) fn discard_turn(&mut self) {
        self.turn.clear();
        self.turn_bytes = 0;
        self.violation = None;
        self.turn_total = None;
    }

    /// Forgets everything not read from the store (a commit failed: the store is the truth).
    pub(crate) fn reset(&mut self) {
        self.discard_turn();
        self.pending.clear();
        self.cache.clear();
        self.total = None;
        self.last_key = None;
    }
}

/// A page of a [`Kv::scan`]: the entries, and the scan that continues after them.
///
/// ```
/// # use flame_stateful::{KvPage, store::KvScan};
/// fn keys(page: &KvPage) -> Vec<String> {
///     page.entries.iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvPage {
    /// The entries, in the scan's order.
    pub entries: Vec<KvEntry>,
    /// The scan for the next page, when this one was full (there may be more).
    pub next: Option<KvScan>,
}

impl KvPage {
    /// The values, deserialized from JSON.
    ///
    /// # Errors
    ///
    /// A value that is not a `T`.
    pub fn values<T: DeserializeOwned>(&self) -> Result<Vec<T>, ActorError> {
        self.entries
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(ActorError::from))
            .collect()
    }
}

/// An actor's key-value space, from [`ActorCtx::kv`](crate::ActorCtx::kv).
///
/// Keys are bytes, ordered bytewise (use fixed-width numbers, `format!("msg/{n:020}")`, for
/// numeric order). Values are JSON through serde ([`put`](Kv::put), [`get`](Kv::get)) or raw
/// bytes ([`put_raw`](Kv::put_raw), [`get_raw`](Kv::get_raw)). Writes are staged with the
/// current message and committed with its state change, before its answer goes out; a
/// message that fails, panics or times out leaves none of its writes behind. A write over a
/// limit fails with `storage_limit` and discards the whole message's changes.
///
/// ```
/// use flame_stateful::{ActorError, Rpc, StatefulActor, store::KvScan};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Message { from: String, text: String }
///
/// async fn post<A>(rpc: &mut Rpc<A>, n: u64, message: Message) -> Result<(), ActorError>
/// where
///     A: StatefulActor,
/// {
///     rpc.kv().put(format!("msg/{n:020}"), &message)
/// }
///
/// async fn latest<A: StatefulActor>(rpc: &mut Rpc<A>) -> Result<Vec<Message>, ActorError> {
///     let page = rpc.kv().scan(KvScan::prefix(b"msg/").reverse().limit(50)).await?;
///     page.values()
/// }
/// ```
#[derive(Debug)]
pub struct Kv<'a> {
    space: &'a mut KvSpace,
}

impl<'a> Kv<'a> {
    pub(crate) fn new(space: &'a mut KvSpace) -> Self {
        Self { space }
    }

    /// Writes `value` (as JSON) under `key`.
    ///
    /// # Errors
    ///
    /// `storage_limit` (the key, the value, or this message's writes are too big), or a value
    /// that does not serialize.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: &impl Serialize) -> Result<(), ActorError> {
        let bytes = serde_json::to_vec(value)?;
        self.put_raw(key, bytes)
    }

    /// Writes `value` (bytes) under `key`.
    ///
    /// # Errors
    ///
    /// `storage_limit`.
    pub fn put_raw(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl Into<Arc<[u8]>>,
    ) -> Result<(), ActorError> {
        self.space.write(key.as_ref().to_vec(), Some(value.into()))
    }

    /// Deletes `key` (deleting a key that is not there is fine).
    ///
    /// # Errors
    ///
    /// `storage_limit` (this message wrote too many keys).
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<(), ActorError> {
        self.space.write(key.as_ref().to_vec(), None)
    }

    /// The value under `key`, deserialized from JSON.
    ///
    /// # Errors
    ///
    /// The store failed, or the value is not a `T`.
    pub async fn get<T: DeserializeOwned>(
        &mut self,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<T>, ActorError> {
        match self.get_raw(key).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The value under `key`, as bytes: what this actor wrote last (committed or not), else
    /// what the store holds.
    ///
    /// # Errors
    ///
    /// The store failed.
    pub async fn get_raw(
        &mut self,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<Arc<[u8]>>, ActorError> {
        let key = key.as_ref();
        if let Some(written) = self.space.written(key) {
            return Ok(written.clone());
        }
        if let Some(cached) = self.space.cache.get(key) {
            return Ok(cached.clone());
        }
        let space = &mut *self.space;
        let value = space
            .store()?
            .kv_get(&space.id, key)
            .await
            .map_err(|e| store_error(&space.id, &e))?;
        let budget = space.limits.cache_bytes;
        space.cache.insert(key.to_vec(), value.clone(), budget);
        Ok(value)
    }

    /// The entries `scan` selects, this actor's own uncommitted writes included.
    ///
    /// # Errors
    ///
    /// The store failed.
    pub async fn scan(&mut self, scan: KvScan) -> Result<KvPage, ActorError> {
        let space = &*self.space;
        // what the actor wrote in the range, newest first: it wins over the store
        let mut overlay: BTreeMap<&[u8], &Written> = BTreeMap::new();
        for (key, (value, _)) in &space.pending {
            if scan.contains(key) {
                overlay.insert(key, value);
            }
        }
        for (key, value) in &space.turn {
            if scan.contains(key) {
                overlay.insert(key, value);
            }
        }
        let deletes = overlay.values().filter(|v| v.is_none()).count();
        let fetch = scan.clone().limit(scan.limit.saturating_add(deletes));
        let stored = space
            .store()?
            .kv_scan(&space.id, &fetch)
            .await
            .map_err(|e| store_error(&space.id, &e))?;
        let mut merged: BTreeMap<Vec<u8>, Arc<[u8]>> = stored.into_iter().collect();
        let stored_full = merged.len() >= fetch.limit;
        let last_stored = if scan.reverse {
            merged.keys().next().cloned()
        } else {
            merged.keys().next_back().cloned()
        };
        for (key, value) in overlay {
            // past the last key the store gave, the store's entries are unknown: an
            // overlay entry there would jump ahead of them
            let beyond = stored_full
                && last_stored
                    .as_deref()
                    .is_some_and(|last| if scan.reverse { key < last } else { key > last });
            if beyond {
                continue;
            }
            match value {
                Some(value) => {
                    merged.insert(key.to_vec(), value.clone());
                }
                None => {
                    merged.remove(key);
                }
            }
        }
        let entries: Vec<KvEntry> = if scan.reverse {
            merged.into_iter().rev().take(scan.limit).collect()
        } else {
            merged.into_iter().take(scan.limit).collect()
        };
        let next = next_page(&scan, &entries);
        Ok(KvPage { entries, next })
    }
}

/// The scan that continues after `entries`, a page of `scan`, when the page was full.
pub(crate) fn next_page(scan: &KvScan, entries: &[KvEntry]) -> Option<KvScan> {
    match entries.last() {
        Some((last, _)) if entries.len() >= scan.limit => {
            let mut next = scan.clone();
            if scan.reverse {
                next.end = Some(last.clone());
            } else {
                let mut after = last.clone();
                after.push(0);
                next.start = Some(after);
            }
            Some(next)
        }
        _ => None,
    }
}
