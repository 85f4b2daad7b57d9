//! Flamego-style cookie sessions (flamego/session): the [`sessioner`] middleware maps a
//! [`Session`] into every request; handlers get, set and delete typed values through serde,
//! [`regenerate`](Session::regenerate) the id on sign-in and [`destroy`](Session::destroy) it
//! on sign-out.
//!
//! ```
//! use flame_core::Flame;
//! use flame_extra::session::{sessioner, MemoryStore, Session, SessionConfig};
//!
//! let mut f = Flame::new();
//! f.use_(sessioner(SessionConfig::default(), MemoryStore::new()));
//! f.get("/visits", |s: Session| {
//!     let visits = s.get::<u32>("visits").unwrap_or(0) + 1;
//!     s.set("visits", visits).map(|()| visits.to_string())
//! });
//! assert!(f.check().is_ok());
//! ```
//!
//! # How it behaves
//!
//! - The cookie (`flame_session` unless configured) holds a random id of 256 bits from the
//!   operating system's CSPRNG, base64url-encoded (43 characters); the store is keyed by its
//!   SHA-256, so a leaked store gives no valid cookie. Cookies that are not of that shape are
//!   ignored without touching the store.
//! - A session is created lazily: a visitor whose handlers never put data in the session
//!   gets no cookie and costs no store write, so anonymous traffic cannot fill the store.
//! - Idle expiry (default 1 hour since the last request) and absolute expiry (default 24 hours
//!   since creation), both checked by the middleware at load; an expired session is deleted
//!   and the request starts with an empty one.
//! - The data is bounded: [`Session::set`] refuses a value that would make the session's
//!   serialized data larger than [`SessionConfig::max_data_bytes`] (default 16 KiB) with
//!   [`SessionError::TooLarge`] (a 413 when returned from a handler).
//! - Saved after the rest of the chain ran, before the response leaves, when the data changed,
//!   on rotation, or when the idle deadline has moved by more than a tenth of the idle timeout
//!   (so a busy session is not rewritten on every request). A failed save is logged at
//!   `error`; the handler's answer, already written, stands (flame has no way to take a
//!   written response back), so a store that fails loudly is better watched in the logs.
//! - Cookie attributes: `Path=/`, `HttpOnly`, `SameSite=Lax`, `Secure` configurable (on by
//!   default outside development), no `Max-Age` (a browser-session cookie; the server enforces
//!   the expiry).

mod memory;
#[cfg(feature = "session-redb")]
mod redb_store;
mod store;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use flame_core::{BoxedHandler, Context, Reply, ReturnError, StatusCode};
use parking_lot::Mutex;
use rand::RngCore as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

pub use memory::MemoryStore;
#[cfg(feature = "session-redb")]
pub use redb_store::RedbStore;
pub use store::{BoxFuture, SessionRecord, SessionStore, unix_seconds};

/// The default cookie name.
pub const DEFAULT_COOKIE_NAME: &str = "flame_session";
/// The default idle timeout: 1 hour without a request ends a session.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// The default absolute timeout: a session ends 24 hours after it was created, used or not.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// The default bound on a session's serialized data: 16 KiB.
pub const DEFAULT_MAX_DATA_BYTES: usize = 16 * 1024;

/// The length of an encoded session id: 32 random bytes in unpadded base64url.
const ID_LEN: usize = 43;

/// What can go wrong with a session.
///
/// As a handler's return value: `TooLarge` is 413, the others 500 (with a generic message:
/// store details go to the log only).
///
/// ```
/// use flame_extra::session::SessionError;
///
/// let err = SessionError::TooLarge { size: 20_000, limit: 16_384 };
/// assert_eq!(err.to_string(), "session data would be 20000 bytes, more than the limit of 16384");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A value would make the session's serialized data exceed the limit.
    #[error("session data would be {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The size the data would have had.
        size: usize,
        /// [`SessionConfig::max_data_bytes`].
        limit: usize,
    },
    /// A value could not be serialized.
    #[error("session value cannot be serialized: {0}")]
    Serialize(String),
    /// The store failed.
    #[error("session store: {0}")]
    Store(String),
}

impl ReturnError for SessionError {
    fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_error_reply(self) -> Reply {
        match self {
            Self::TooLarge { .. } => Reply::error(self.status(), self.to_string()),
            other => {
                tracing::error!(error = %other, "session failure");
                Reply::error(other.status(), "session unavailable")
            }
        }
    }
}

/// A source of the current time, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How sessions behave; every default named in this module's constants.
///
/// ```
/// use std::time::Duration;
/// use flame_extra::session::SessionConfig;
///
/// let config = SessionConfig::default()
///     .cookie_name("sid")
///     .secure(true)
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .absolute_timeout(Duration::from_secs(8 * 60 * 60))
///     .max_data_bytes(4096);
/// assert_eq!(config.get_cookie_name(), "sid");
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    cookie_name: String,
    cookie_path: String,
    cookie_domain: Option<String>,
    secure: bool,
    same_site: SameSite,
    idle_timeout: Duration,
    absolute_timeout: Duration,
    max_data_bytes: usize,
    clock: Clock,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("cookie_path", &self.cookie_path)
            .field("cookie_domain", &self.cookie_domain)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("max_data_bytes", &self.max_data_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for SessionConfig {
    /// The defaults: cookie `flame_session` on `/`, `HttpOnly`, `SameSite=Lax`, `Secure`
    /// unless `FLAME_ENV` is development, 1 hour idle, 24 hours absolute, 16 KiB of data.
    fn default() -> Self {
        Self {
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            cookie_path: "/".to_owned(),
            cookie_domain: None,
            secure: flame_core::env() != flame_core::Env::Development,
            same_site: SameSite::Lax,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl SessionConfig {
    /// The cookie's name.
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// assert_eq!(SessionConfig::default().cookie_name("sid").get_cookie_name(), "sid");
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The configured cookie name.
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// assert_eq!(SessionConfig::default().get_cookie_name(), "flame_session");
    /// ```
    pub fn get_cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The cookie's `Path` (default `/`).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().cookie_path("/app");
    /// ```
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie_path = path.into();
        self
    }

    /// The cookie's `Domain` (default none: this host only).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().cookie_domain("example.com");
    /// ```
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie_domain = Some(domain.into());
        self
    }

    /// Whether the cookie is `Secure` (sent over HTTPS only). Default: on, except when
    /// `FLAME_ENV` is development (so that `http://localhost` works).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().secure(false);
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The cookie's `SameSite` (default `Lax`).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().same_site(cookie::SameSite::Strict);
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// How long a session lives without a request (default [`DEFAULT_IDLE_TIMEOUT`]).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().idle_timeout(std::time::Duration::from_secs(600));
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a session lives at most, used or not (default [`DEFAULT_ABSOLUTE_TIMEOUT`]).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().absolute_timeout(std::time::Duration::from_secs(3600));
    /// ```
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = timeout;
        self
    }

    /// The bound on a session's serialized data (default [`DEFAULT_MAX_DATA_BYTES`]).
    ///
    /// ```
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().max_data_bytes(1024);
    /// ```
    pub fn max_data_bytes(mut self, limit: usize) -> Self {
        self.max_data_bytes = limit;
        self
    }

    /// The clock expiry is measured with (default the system clock); tests move it by hand.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// # use flame_extra::session::SessionConfig;
    /// let config = SessionConfig::default().clock(Arc::new(|| UNIX_EPOCH + Duration::from_secs(1_000)));
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> u64 {
        unix_seconds((self.clock)())
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::build((self.cookie_name.clone(), value))
            .path(self.cookie_path.clone())
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site);
        if let Some(domain) = &self.cookie_domain {
            cookie = cookie.domain(domain.clone());
        }
        cookie.build()
    }
}

/// The session of the current request, mapped by [`sessioner`]; a cheap handle (clones
/// share the session).
///
/// Values are stored as JSON through serde, under string keys.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::session::{sessioner, MemoryStore, Session, SessionConfig};
///
/// let mut f = Flame::new();
/// f.use_(sessioner(SessionConfig::default(), MemoryStore::new()));
/// f.post("/login", |s: Session| {
///     s.regenerate(); // a new id on sign-in: a fixated id is worth nothing
///     s.set("user_id", 42u64)
/// });
/// f.get("/me", |s: Session| match s.get::<u64>("user_id") {
///     Some(id) => format!("user {id}"),
///     None => "anonymous".to_owned(),
/// });
/// f.post("/logout", |s: Session| s.destroy());
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<State>>,
    max_data_bytes: usize,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("Session")
            .field("keys", &state.data.keys().collect::<Vec<_>>())
            .field("is_new", &state.stored_key.is_none())
            .finish_non_exhaustive()
    }
}

struct State {
    /// The id the cookie carries (after the response, if rotated).
    id: String,
    /// The store key of the session loaded for this request, if one was.
    stored_key: Option<String>,
    data: BTreeMap<String, serde_json::Value>,
    /// The serialized size of `data`, kept to check the bound on each `set`.
    size: usize,
    created_at: u64,
    last_seen: u64,
    changed: bool,
    regenerated: bool,
    destroyed: bool,
}

impl Session {
    fn new(state: State, max_data_bytes: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(state)),
            max_data_bytes,
        }
    }

    /// The value under `key`, if there is one of type `T` (a value of another shape is
    /// `None`, with a warning in the log).
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::{sessioner, MemoryStore, Session, SessionConfig};
    /// # let mut f = Flame::new();
    /// f.get("/", |s: Session| s.get::<String>("name").unwrap_or_default());
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.inner.lock().data.get(key).cloned()?;
        match serde_json::from_value(value) {
            Ok(value) => Some(value),
            Err(err) => {
                tracing::warn!(key, error = %err, "session value of another type");
                None
            }
        }
    }

    /// Stores `value` under `key`. Refused, leaving the session as it was, when the data
    /// would exceed [`SessionConfig::max_data_bytes`].
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.post("/theme", |s: Session| s.set("theme", "dark"));
    /// ```
    pub fn set<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value =
            serde_json::to_value(value).map_err(|err| SessionError::Serialize(err.to_string()))?;
        let mut state = self.inner.lock();
        let previous = state.data.insert(key.to_owned(), value);
        let size = data_size(&state.data)?;
        if size > self.max_data_bytes {
            match previous {
                Some(previous) => state.data.insert(key.to_owned(), previous),
                None => state.data.remove(key),
            };
            return Err(SessionError::TooLarge {
                size,
                limit: self.max_data_bytes,
            });
        }
        state.size = size;
        state.changed = true;
        Ok(())
    }

    /// Removes the value under `key`.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.post("/forget", |s: Session| s.delete("theme"));
    /// ```
    pub fn delete(&self, key: &str) {
        let mut state = self.inner.lock();
        if state.data.remove(key).is_some() {
            state.changed = true;
            state.size = data_size(&state.data).unwrap_or(0);
        }
    }

    /// Removes every value (the session itself stays, with its id).
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.post("/reset", |s: Session| s.clear());
    /// ```
    pub fn clear(&self) {
        let mut state = self.inner.lock();
        if !state.data.is_empty() {
            state.data.clear();
            state.size = 2;
            state.changed = true;
        }
    }

    /// Gives the session a new id, keeping its data; the old id stops working. Call it on
    /// sign-in (and on any privilege change) so that an id an attacker planted beforehand
    /// is worth nothing (session fixation).
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.post("/login", |s: Session| {
    ///     s.regenerate();
    ///     s.set("user_id", 7)
    /// });
    /// ```
    pub fn regenerate(&self) {
        let mut state = self.inner.lock();
        state.id = new_id();
        state.regenerated = true;
    }

    /// Ends the session: its data is dropped, the store forgets it and the cookie is
    /// cleared. Values set afterwards in the same request are not kept.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.post("/logout", |s: Session| s.destroy());
    /// ```
    pub fn destroy(&self) {
        let mut state = self.inner.lock();
        state.destroyed = true;
        state.data.clear();
    }

    /// Whether this request started without a live session (no cookie, an unknown id, or an
    /// expired session).
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.get("/", |s: Session| if s.is_new() { "welcome" } else { "welcome back" });
    /// ```
    pub fn is_new(&self) -> bool {
        self.inner.lock().stored_key.is_none()
    }

    /// The session's id, as the cookie carries it (the new one after [`regenerate`](Self::regenerate)).
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::session::Session;
    /// # let mut f = Flame::new();
    /// f.get("/id-length", |s: Session| s.id().len().to_string()); // "43"
    /// ```
    pub fn id(&self) -> String {
        self.inner.lock().id.clone()
    }
}

fn data_size(data: &BTreeMap<String, serde_json::Value>) -> Result<usize, SessionError> {
    serde_json::to_vec(data)
        .map(|bytes| bytes.len())
        .map_err(|err| SessionError::Serialize(err.to_string()))
}

/// A fresh id: 32 bytes from the thread-local CSPRNG (ChaCha, seeded from the OS).
fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The store key of `id`: its SHA-256, in hex.
fn store_key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn well_formed(id: &str) -> bool {
    id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

struct Sessions {
    config: SessionConfig,
    store: Arc<dyn SessionStore>,
}

/// The session middleware (Flamego's `session.Sessioner`): loads the session named by the
/// request's cookie, maps a [`Session`], runs the rest of the chain, then saves it and sets
/// or clears the cookie. See the [module docs](self) for the rules.
///
/// A failure of the store while loading answers 500 and stops the chain.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::session::{sessioner, MemoryStore, Session, SessionConfig};
///
/// let mut f = Flame::new();
/// f.use_(sessioner(SessionConfig::default().secure(false), MemoryStore::new()));
/// f.get("/", |s: Session| s.is_new().to_string());
/// assert!(f.check().is_ok());
/// ```
pub fn sessioner(config: SessionConfig, store: impl SessionStore) -> BoxedHandler {
    sessioner_shared(config, Arc::new(store))
}

/// [`sessioner`] over a store shared with other code (a purger, an admin page).
///
/// ```
/// use std::sync::Arc;
/// use flame_extra::session::{sessioner_shared, MemoryStore, SessionConfig, SessionStore};
///
/// let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
/// let middleware = sessioner_shared(SessionConfig::default(), store.clone());
/// ```
pub fn sessioner_shared(config: SessionConfig, store: Arc<dyn SessionStore>) -> BoxedHandler {
    let sessions = Arc::new(Sessions { config, store });
    BoxedHandler::new(move |c: Context| {
        let sessions = sessions.clone();
        async move { sessions.handle(&c).await }
    })
    .provides::<Session>()
}

impl Sessions {
    async fn handle(&self, c: &Context) -> Result<(), SessionError> {
        let now = self.config.now();
        let session = self.load(c, now).await.inspect_err(|err| {
            tracing::error!(parent: c.span(), error = %err, "loading the session failed");
        })?;
        c.map(session.clone());
        c.next().await;
        if let Err(err) = self.finish(c, &session, now).await {
            tracing::error!(parent: c.span(), error = %err, "saving the session failed");
            // Answers 500 when nothing was written yet; a written answer stands.
            return Err(err);
        }
        Ok(())
    }

    async fn load(&self, c: &Context, now: u64) -> Result<Session, SessionError> {
        let limit = self.config.max_data_bytes;
        let id = c.cookie(&self.config.cookie_name);
        if well_formed(&id) {
            let key = store_key(&id);
            if let Some(record) = self.store.load(&key).await? {
                if record.is_expired_at(now) {
                    self.store.delete(&key).await?;
                } else if let Ok(data) =
                    serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&record.data)
                {
                    let size = record.data.len();
                    return Ok(Session::new(
                        State {
                            id,
                            stored_key: Some(key),
                            data,
                            size,
                            created_at: record.created_at,
                            last_seen: record.last_seen,
                            changed: false,
                            regenerated: false,
                            destroyed: false,
                        },
                        limit,
                    ));
                } else {
                    tracing::warn!(parent: c.span(), "unreadable session data; starting afresh");
                    self.store.delete(&key).await?;
                }
            }
        }
        Ok(Session::new(
            State {
                id: new_id(),
                stored_key: None,
                data: BTreeMap::new(),
                size: 2,
                created_at: now,
                last_seen: now,
                changed: false,
                regenerated: false,
                destroyed: false,
            },
            limit,
        ))
    }

    async fn finish(&self, c: &Context, session: &Session, now: u64) -> Result<(), SessionError> {
        enum Step {
            Nothing,
            Forget(Option<String>),
            Save {
                old: Option<String>,
                key: String,
                record: SessionRecord,
                cookie: Option<String>,
            },
        }
        let step = {
            let state = session.inner.lock();
            if state.destroyed || (state.data.is_empty() && state.stored_key.is_some()) {
                Step::Forget(state.stored_key.clone())
            } else if state.data.is_empty() {
                Step::Nothing
            } else {
                let rotated = state.regenerated || state.stored_key.is_none();
                let idle = self.config.idle_timeout.as_secs();
                let touch_due = now.saturating_sub(state.last_seen) > idle / 10;
                if state.changed || rotated || touch_due {
                    let data = serde_json::to_vec(&state.data)
                        .map_err(|err| SessionError::Serialize(err.to_string()))?;
                    let absolute = state
                        .created_at
                        .saturating_add(self.config.absolute_timeout.as_secs());
                    let record = SessionRecord {
                        data,
                        created_at: state.created_at,
                        last_seen: now,
                        expires_at: now.saturating_add(idle).min(absolute),
                    };
                    Step::Save {
                        old: state.stored_key.clone().filter(|_| state.regenerated),
                        key: store_key(&state.id),
                        record,
                        cookie: rotated.then(|| state.id.clone()),
                    }
                } else {
                    Step::Nothing
                }
            }
        };
        match step {
            Step::Nothing => {}
            Step::Forget(key) => {
                if let Some(key) = key {
                    self.store.delete(&key).await?;
                }
                if !c.cookie(&self.config.cookie_name).is_empty() {
                    let mut cookie = self.config.cookie(String::new());
                    cookie.make_removal();
                    set_cookie(c, cookie);
                }
            }
            Step::Save {
                old,
                key,
                record,
                cookie,
            } => {
                self.store.save(&key, &record).await?;
                if let Some(old) = old {
                    self.store.delete(&old).await?;
                }
                if let Some(id) = cookie {
                    set_cookie(c, self.config.cookie(id));
                }
            }
        }
        Ok(())
    }
}

/// Adds `cookie` to the response. The chain has run, but flame builds the response from the
/// writer's state only after it: headers added now still go out.
fn set_cookie(c: &Context, cookie: Cookie<'static>) {
    c.set_cookie(cookie);
}

/// Spawns a task that removes expired sessions from `store` every `every`, logging how many
/// at `debug` (and failures at `warn`). Abort the handle to stop it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use flame_extra::session::{spawn_purger, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let purger = spawn_purger(Arc::new(MemoryStore::new()), Duration::from_secs(600));
/// purger.abort();
/// # }
/// ```
pub fn spawn_purger(store: Arc<dyn SessionStore>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.purge_expired(unix_seconds(SystemTime::now())).await {
                Ok(purged) => tracing::debug!(purged, "expired sessions purged"),
                Err(err) => tracing::warn!(error = %err, "purging expired sessions failed"),
            }
        }
    })
}
