//! A Flamego-style cache (flamego/cache): the [`cacher`] middleware maps a [`Cache`] into
//! every request; handlers [`get`](Cache::get), [`set`](Cache::set) with a lifetime,
//! [`delete`](Cache::delete) and [`flush`](Cache::flush) typed values through serde. A
//! [`Cache`] is a cheap handle that works outside requests too (a background task can warm
//! it or share it with the app).
//!
//! ```
//! use std::time::Duration;
//! use flame_core::Flame;
//! use flame_extra::cache::{cacher, Cache, CacheError, CacheOptions, MemoryStore};
//!
//! let mut f = Flame::new();
//! f.use_(cacher(CacheOptions::default(), MemoryStore::new()));
//! f.get("/answer", |cache: Cache| async move {
//!     if let Some(answer) = cache.get::<u64>("answer").await? {
//!         return Ok::<_, CacheError>(answer.to_string());
//!     }
//!     let answer = 6 * 7; // something expensive
//!     cache.set("answer", &answer, Duration::from_secs(60)).await?;
//!     Ok(answer.to_string())
//! });
//! assert!(f.check().is_ok());
//! ```
//!
//! # How it behaves
//!
//! - Values are serialized to JSON and stored as bytes, so a store can persist them
//!   ([`RedbStore`], feature `cache-redb`). A stored value that does not decode as the type
//!   asked for is a miss (logged at `warn`), so the handler computes it again and overwrites it.
//! - Every entry has a lifetime; from its deadline on it is never returned (checked on every
//!   read, so a lifetime of zero caches nothing), and a background task purges expired entries
//!   every [`CacheOptions::gc_interval`] (default 5 minutes, as Flamego). The task starts with
//!   the first [`Cache`] inside a Tokio runtime and stops when the last clone of it is dropped.
//! - Keys are at most [`CacheOptions::max_key_bytes`] long (default 250 bytes, memcached's)
//!   and serialized values at most [`CacheOptions::max_value_bytes`] (default 1 MiB); beyond,
//!   `set` fails with [`CacheError::KeyTooLong`] or [`CacheError::TooLarge`] and stores
//!   nothing; a value is never truncated.
//! - Stores are bounded: [`MemoryStore`] by a number of entries and a number of bytes,
//!   [`RedbStore`] by a number of entries; a full store evicts the entries that expire
//!   soonest.

mod memory;
#[cfg(feature = "cache-redb")]
mod redb_store;
mod store;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use flame_core::{BoxedHandler, Context, Reply, ReturnError, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use memory::{DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, MemoryStore};
#[cfg(feature = "cache-redb")]
pub use redb_store::{DEFAULT_REDB_MAX_ENTRIES, RedbStore};
pub use store::{BoxFuture, CacheEntry, CacheStore, unix_millis};

/// The default interval between purges of expired entries: 5 minutes (Flamego's).
pub const DEFAULT_GC_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The shortest purge interval; a shorter one is taken as [`DEFAULT_GC_INTERVAL`], as Flamego
/// does.
pub const MIN_GC_INTERVAL: Duration = Duration::from_secs(1);
/// The default bound on a key: 250 bytes (memcached's).
pub const DEFAULT_MAX_KEY_BYTES: usize = 250;
/// The default bound on a serialized value: 1 MiB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024 * 1024;

/// What can go wrong with the cache.
///
/// As a handler's return value: `TooLarge` is 413, `KeyTooLong` 400 (both with their
/// message), the others 500 with a generic message (store details go to the log only).
///
/// ```
/// use flame_extra::cache::CacheError;
///
/// let err = CacheError::TooLarge { size: 2_000_000, limit: 1_048_576 };
/// assert_eq!(err.to_string(), "cache value of 2000000 bytes is larger than the limit of 1048576");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A key is longer than [`CacheOptions::max_key_bytes`].
    #[error("cache key of {len} bytes is longer than the limit of {limit}")]
    KeyTooLong {
        /// The key's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A serialized value is larger than [`CacheOptions::max_value_bytes`] (or than a whole
    /// [`MemoryStore`]).
    #[error("cache value of {size} bytes is larger than the limit of {limit}")]
    TooLarge {
        /// The value's serialized size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A value could not be serialized.
    #[error("cache value cannot be serialized: {0}")]
    Serialize(String),
    /// The store failed.
    #[error("cache store: {0}")]
    Store(String),
}

impl ReturnError for CacheError {
    fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::KeyTooLong { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_error_reply(self) -> Reply {
        match self {
            Self::TooLarge { .. } | Self::KeyTooLong { .. } => {
                Reply::error(self.status(), self.to_string())
            }
            other => {
                tracing::error!(error = %other, "cache failure");
                Reply::error(other.status(), "cache unavailable")
            }
        }
    }
}

/// A source of the current time, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How a [`Cache`] behaves; every default named in this module's constants.
///
/// ```
/// use std::time::Duration;
/// use flame_extra::cache::CacheOptions;
///
/// let options = CacheOptions::default()
///     .gc_interval(Duration::from_secs(60))
///     .max_key_bytes(128)
///     .max_value_bytes(64 * 1024);
/// assert_eq!(options.get_gc_interval(), Duration::from_secs(60));
/// ```
#[derive(Clone)]
pub struct CacheOptions {
    gc_interval: Duration,
    max_key_bytes: usize,
    max_value_bytes: usize,
    clock: Clock,
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("gc_interval", &self.gc_interval)
            .field("max_key_bytes", &self.max_key_bytes)
            .field("max_value_bytes", &self.max_value_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for CacheOptions {
    /// The defaults: a purge every 5 minutes, keys of 250 bytes, values of 1 MiB, the system
    /// clock.
    fn default() -> Self {
        Self {
            gc_interval: DEFAULT_GC_INTERVAL,
            max_key_bytes: DEFAULT_MAX_KEY_BYTES,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl CacheOptions {
    /// How often expired entries are purged (default [`DEFAULT_GC_INTERVAL`]; below
    /// [`MIN_GC_INTERVAL`], the default).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use flame_extra::cache::{CacheOptions, DEFAULT_GC_INTERVAL};
    /// let options = CacheOptions::default().gc_interval(Duration::ZERO);
    /// assert_eq!(options.get_gc_interval(), DEFAULT_GC_INTERVAL);
    /// ```
    pub fn gc_interval(mut self, every: Duration) -> Self {
        self.gc_interval = if every < MIN_GC_INTERVAL {
            DEFAULT_GC_INTERVAL
        } else {
            every
        };
        self
    }

    /// The configured purge interval.
    ///
    /// ```
    /// # use flame_extra::cache::{CacheOptions, DEFAULT_GC_INTERVAL};
    /// assert_eq!(CacheOptions::default().get_gc_interval(), DEFAULT_GC_INTERVAL);
    /// ```
    pub fn get_gc_interval(&self) -> Duration {
        self.gc_interval
    }

    /// The bound on a key's length in bytes (default [`DEFAULT_MAX_KEY_BYTES`]).
    ///
    /// ```
    /// # use flame_extra::cache::CacheOptions;
    /// let options = CacheOptions::default().max_key_bytes(64);
    /// ```
    pub fn max_key_bytes(mut self, limit: usize) -> Self {
        self.max_key_bytes = limit;
        self
    }

    /// The bound on a serialized value in bytes (default [`DEFAULT_MAX_VALUE_BYTES`]).
    ///
    /// ```
    /// # use flame_extra::cache::CacheOptions;
    /// let options = CacheOptions::default().max_value_bytes(16 * 1024);
    /// ```
    pub fn max_value_bytes(mut self, limit: usize) -> Self {
        self.max_value_bytes = limit;
        self
    }

    /// The clock lifetimes are measured with (default the system clock); tests move it by hand.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// # use flame_extra::cache::CacheOptions;
    /// let options = CacheOptions::default().clock(Arc::new(|| UNIX_EPOCH + Duration::from_secs(1_000)));
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> u64 {
        unix_millis((self.clock)())
    }
}

/// A handle on a cache: cheap to clone (clones share the store and the purge task), mapped
/// into requests by [`cacher`], usable anywhere else.
///
/// ```
/// use std::time::Duration;
/// use flame_extra::cache::{Cache, CacheOptions, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), flame_extra::cache::CacheError> {
/// let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
/// cache.set("greeting", "hello", Duration::from_secs(60)).await?;
/// assert_eq!(cache.get::<String>("greeting").await?.as_deref(), Some("hello"));
/// cache.delete("greeting").await?;
/// assert_eq!(cache.get::<String>("greeting").await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn CacheStore>,
    options: CacheOptions,
    gc: OnceLock<GcTask>,
}

/// The purge task, aborted when the last [`Cache`] handle goes.
struct GcTask(tokio::task::JoinHandle<()>);

impl Drop for GcTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("options", &self.inner.options)
            .field("gc_running", &self.inner.gc.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache over `store`. Its purge task starts now when called inside a Tokio runtime,
    /// else on first use.
    ///
    /// ```
    /// use flame_extra::cache::{Cache, CacheOptions, MemoryStore};
    ///
    /// let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
    /// ```
    pub fn new(options: CacheOptions, store: impl CacheStore) -> Self {
        Self::shared(options, Arc::new(store))
    }

    /// A cache over a store shared with other code (an admin page that counts entries).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_extra::cache::{Cache, CacheOptions, CacheStore, MemoryStore};
    ///
    /// let store: Arc<dyn CacheStore> = Arc::new(MemoryStore::new());
    /// let cache = Cache::shared(CacheOptions::default(), store.clone());
    /// ```
    pub fn shared(options: CacheOptions, store: Arc<dyn CacheStore>) -> Self {
        let cache = Self {
            inner: Arc::new(Inner {
                store,
                options,
                gc: OnceLock::new(),
            }),
        };
        cache.ensure_gc();
        cache
    }

    /// The value under `key`, if there is a live one of type `T`. An expired entry, an absent
    /// one and one of another shape (logged at `warn`) are all `None`.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::cache::Cache;
    /// # let mut f = Flame::new();
    /// f.get("/", |cache: Cache| async move {
    ///     cache.get::<String>("motd").await.map(Option::unwrap_or_default)
    /// });
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        self.ensure_gc();
        let Some(entry) = self.inner.store.get(key).await? else {
            return Ok(None);
        };
        if entry.is_expired_at(self.inner.options.now()) {
            return Ok(None);
        }
        match serde_json::from_slice(&entry.value) {
            Ok(value) => Ok(Some(value)),
            Err(err) => {
                tracing::warn!(key, error = %err, "cached value of another type: a miss");
                Ok(None)
            }
        }
    }

    /// Stores `value` under `key` for `lifetime` (zero: expired at once). Refused, storing
    /// nothing, when the key or the serialized value is over its bound.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use flame_core::Flame;
    /// # use flame_extra::cache::Cache;
    /// # let mut f = Flame::new();
    /// f.post("/motd", |cache: Cache| async move {
    ///     cache.set("motd", "hello", Duration::from_secs(3600)).await
    /// });
    /// ```
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        lifetime: Duration,
    ) -> Result<(), CacheError> {
        self.ensure_gc();
        self.check_key(key)?;
        let value =
            serde_json::to_vec(value).map_err(|err| CacheError::Serialize(err.to_string()))?;
        let limit = self.inner.options.max_value_bytes;
        if value.len() > limit {
            return Err(CacheError::TooLarge {
                size: value.len(),
                limit,
            });
        }
        let lifetime = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        let expires_at = self.inner.options.now().saturating_add(lifetime);
        self.inner
            .store
            .set(key, CacheEntry { value, expires_at })
            .await
    }

    /// Removes the value under `key`; removing an absent one is not an error.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::cache::Cache;
    /// # let mut f = Flame::new();
    /// f.delete("/motd", |cache: Cache| async move { cache.delete("motd").await });
    /// ```
    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.ensure_gc();
        self.inner.store.delete(key).await
    }

    /// Removes every value.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::cache::Cache;
    /// # let mut f = Flame::new();
    /// f.post("/flush", |cache: Cache| async move { cache.flush().await });
    /// ```
    pub async fn flush(&self) -> Result<(), CacheError> {
        self.ensure_gc();
        self.inner.store.flush().await
    }

    /// Purges expired entries now (the background task does it every
    /// [`CacheOptions::gc_interval`]); how many it removed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_extra::cache::{Cache, CacheOptions, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), flame_extra::cache::CacheError> {
    /// let store = MemoryStore::new();
    /// let cache = Cache::new(CacheOptions::default(), store.clone());
    /// cache.set("gone", &1, Duration::ZERO).await?;
    /// assert_eq!(cache.gc().await?, 1);
    /// assert!(store.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn gc(&self) -> Result<usize, CacheError> {
        self.inner
            .store
            .purge_expired(self.inner.options.now())
            .await
    }

    fn check_key(&self, key: &str) -> Result<(), CacheError> {
        let limit = self.inner.options.max_key_bytes;
        if key.len() > limit {
            return Err(CacheError::KeyTooLong {
                len: key.len(),
                limit,
            });
        }
        Ok(())
    }

    /// Starts the purge task once, if a Tokio runtime is there to run it.
    fn ensure_gc(&self) {
        if self.inner.gc.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.inner.gc.get_or_init(|| {
            // The task holds the store and the options, never the `Inner`: dropping the last
            // handle drops the `GcTask`, which aborts it.
            let store = self.inner.store.clone();
            let options = self.inner.options.clone();
            GcTask(runtime.spawn(async move {
                let mut ticks = tokio::time::interval(options.gc_interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    match store.purge_expired(options.now()).await {
                        Ok(purged) => tracing::debug!(purged, "expired cache entries purged"),
                        Err(err) => {
                            tracing::warn!(error = %err, "purging expired cache entries failed")
                        }
                    }
                }
            }))
        });
    }
}

/// The cache middleware (Flamego's `cache.Cacher`): maps a [`Cache`] over `store` into every
/// request.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::cache::{cacher, Cache, CacheOptions, MemoryStore};
///
/// let mut f = Flame::new();
/// f.use_(cacher(CacheOptions::default(), MemoryStore::with_limits(1_000, 8 * 1024 * 1024)));
/// f.get("/", |cache: Cache| async move { cache.get::<String>("motd").await.map(Option::unwrap_or_default) });
/// assert!(f.check().is_ok());
/// ```
pub fn cacher(options: CacheOptions, store: impl CacheStore) -> BoxedHandler {
    cacher_shared(Cache::new(options, store))
}

/// [`cacher`] over a [`Cache`] shared with other code (a task that warms it, a second app).
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::cache::{cacher_shared, Cache, CacheOptions, MemoryStore};
///
/// let cache = Cache::new(CacheOptions::default(), MemoryStore::new());
/// let mut f = Flame::new();
/// f.use_(cacher_shared(cache.clone()));
/// // `cache` stays usable here, e.g. moved into a background task.
/// ```
pub fn cacher_shared(cache: Cache) -> BoxedHandler {
    BoxedHandler::new(move |c: Context| {
        c.map(cache.clone());
    })
    .provides::<Cache>()
}
