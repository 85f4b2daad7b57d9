//! [`MemoryStore`]: sessions in a map, for tests and single-process development.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::SessionError;
use super::store::{BoxFuture, SessionRecord, SessionStore};

/// Sessions in memory: lost on restart. Cheap to clone (clones share the map).
///
/// Its size is bounded by what the middleware lets in (a session is stored only once a
/// handler puts data in it, each at most `max_data_bytes`) and by
/// [`purge_expired`](SessionStore::purge_expired), which [`spawn_purger`](super::spawn_purger)
/// runs periodically.
///
/// ```
/// use flame_extra::session::MemoryStore;
///
/// let store = MemoryStore::new();
/// assert!(store.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<HashMap<String, SessionRecord>>>,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// assert_eq!(flame_extra::session::MemoryStore::new().len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions it holds, expired ones included until purged.
    ///
    /// ```
    /// assert_eq!(flame_extra::session::MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    /// Whether it holds no session.
    ///
    /// ```
    /// assert!(flame_extra::session::MemoryStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.sessions.lock().is_empty()
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, SessionError>> {
        let found = self.sessions.lock().get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        self.sessions.lock().insert(key.to_owned(), record.clone());
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SessionError>> {
        self.sessions.lock().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<usize, SessionError>> {
        let mut sessions = self.sessions.lock();
        let before = sessions.len();
        sessions.retain(|_, record| !record.is_expired_at(now));
        let purged = before - sessions.len();
        Box::pin(async move { Ok(purged) })
    }
}
