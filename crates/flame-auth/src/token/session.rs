//! Opaque session tokens: [`SessionStore`] issues 32 random bytes (base64url), keeps only
//! their SHA-256 hash in a [`SessionBackend`], and checks expiry and revocation.
//!
//! A stolen copy of the backend's contents (a database dump) holds no usable token: only
//! hashes. Lookups go by hash, so their timing tells nothing about valid tokens.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::RwLock;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

pub use crate::token::session_redb::RedbSessionBackend;
use crate::token::{BoxFuture, TokenVerifier};
use crate::{AuthError, AuthenticatedUser, Revocation, Revoker, TokenRejection, User};

/// The length of a session token in characters: 32 bytes in unpadded base64url.
pub const SESSION_TOKEN_LEN: usize = 43;

/// The default session lifetime: 7 days.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The SHA-256 hash of a session token: the only form in which a backend sees it.
///
/// ```
/// use flame_auth::session::TokenHash;
///
/// let hash = TokenHash::of_token("dGhpcyBpcyBub3QgYSByZWFsIHRva2VuIGF0IGFsbCE").unwrap();
/// assert_eq!(hash.to_hex().len(), 64);
/// assert!(TokenHash::of_token("too-short").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a presented token, after checking its shape (43 base64url characters,
    /// canonical).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (malformed) for anything else.
    ///
    /// ```
    /// use flame_auth::session::TokenHash;
    ///
    /// assert!(TokenHash::of_token(&"A".repeat(43)).is_ok());
    /// assert!(TokenHash::of_token(&"*".repeat(43)).is_err());
    /// ```
    pub fn of_token(token: &str) -> Result<Self, AuthError> {
        if token.len() != SESSION_TOKEN_LEN {
            return Err(TokenRejection::Malformed.into());
        }
        let mut raw = [0_u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(token, &mut raw) {
            Ok(32) => Ok(Self::of_bytes(&raw)),
            _ => Err(TokenRejection::Malformed.into()),
        }
    }

    fn of_bytes(raw: &[u8; 32]) -> Self {
        Self(Sha256::digest(raw).into())
    }

    /// The hash bytes.
    ///
    /// ```
    /// use flame_auth::session::TokenHash;
    ///
    /// assert_eq!(TokenHash::of_token(&"A".repeat(43)).unwrap().as_bytes().len(), 32);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash in lowercase hex, e.g. as a database key.
    ///
    /// ```
    /// use flame_auth::session::TokenHash;
    ///
    /// let hex = TokenHash::of_token(&"A".repeat(43)).unwrap().to_hex();
    /// assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    /// ```
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}..)", &hex::encode(&self.0[..4]))
    }
}

/// What a backend stores for one session.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use flame_auth::session::SessionRecord;
/// use flame_auth::User;
///
/// let now = SystemTime::now();
/// let record = SessionRecord::new(User::new("u1", "ada"), now, now + Duration::from_secs(60));
/// assert!(!record.revoked);
/// assert!(record.is_expired_at(now + Duration::from_secs(61)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    /// The signed-in user.
    pub user: Arc<User>,
    /// When the session began.
    pub created_at: SystemTime,
    /// When it ends.
    pub expires_at: SystemTime,
    /// Whether it was revoked (sign-out).
    pub revoked: bool,
}

impl SessionRecord {
    /// A live session.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use flame_auth::session::SessionRecord;
    /// use flame_auth::User;
    ///
    /// let now = SystemTime::now();
    /// assert_eq!(SessionRecord::new(User::new("u1", "ada"), now, now).user.id, "u1");
    /// ```
    pub fn new(user: impl Into<Arc<User>>, created_at: SystemTime, expires_at: SystemTime) -> Self {
        Self {
            user: user.into(),
            created_at,
            expires_at,
            revoked: false,
        }
    }

    /// Whether the session has ended at `now`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::session::SessionRecord;
    /// use flame_auth::User;
    ///
    /// let now = SystemTime::now();
    /// let record = SessionRecord::new(User::new("u1", "ada"), now, now + Duration::from_secs(1));
    /// assert!(!record.is_expired_at(now));
    /// ```
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }
}

/// Where sessions live, by [`TokenHash`]. [`MemorySessionBackend`] is the built-in one; a
/// persistent one (redb, PostgreSQL) implements the same five operations.
///
/// ```
/// use std::time::SystemTime;
/// use flame_auth::session::{MemorySessionBackend, SessionBackend, SessionRecord, TokenHash};
/// use flame_auth::User;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let backend = MemorySessionBackend::default();
/// let hash = TokenHash::of_token(&"A".repeat(43)).unwrap();
/// let now = SystemTime::now();
/// backend.insert(hash, SessionRecord::new(User::new("u1", "ada"), now, now)).await.unwrap();
/// assert!(backend.get(&hash).await.unwrap().is_some());
/// # }
/// ```
pub trait SessionBackend: Send + Sync + fmt::Debug {
    /// Stores a new session.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the backend fails.
    fn insert(
        &self,
        hash: TokenHash,
        record: SessionRecord,
    ) -> BoxFuture<'_, Result<(), AuthError>>;

    /// The session with this hash, revoked or expired ones included.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the backend fails.
    fn get<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, AuthError>>;

    /// Marks one session revoked; `true` if this call revoked it (it existed and was not
    /// revoked yet). Must be atomic: of two concurrent calls for one hash, one gets `true`
    /// (refresh-token rotation relies on it to detect reuse).
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the backend fails.
    fn revoke<'a>(&'a self, hash: &'a TokenHash) -> BoxFuture<'a, Result<bool, AuthError>>;

    /// Marks every session of one user revoked ("sign out everywhere"); how many were live.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the backend fails.
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, AuthError>>;

    /// Deletes sessions that ended before `now`; how many.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the backend fails.
    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<usize, AuthError>>;
}

/// Sessions in memory (lost on restart): tests, development, a single process.
///
/// ```
/// use flame_auth::session::MemorySessionBackend;
///
/// assert!(MemorySessionBackend::default().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct MemorySessionBackend {
    sessions: RwLock<HashMap<TokenHash, SessionRecord>>,
}

impl MemorySessionBackend {
    /// How many sessions are stored (revoked and expired ones until purged).
    ///
    /// ```
    /// use flame_auth::session::MemorySessionBackend;
    ///
    /// assert_eq!(MemorySessionBackend::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.sessions.read().len()
    }

    /// Whether no session is stored.
    ///
    /// ```
    /// use flame_auth::session::MemorySessionBackend;
    ///
    /// assert!(MemorySessionBackend::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.sessions.read().is_empty()
    }
}

impl SessionBackend for MemorySessionBackend {
    fn insert(
        &self,
        hash: TokenHash,
        record: SessionRecord,
    ) -> BoxFuture<'_, Result<(), AuthError>> {
        self.sessions.write().insert(hash, record);
        Box::pin(std::future::ready(Ok(())))
    }

    fn get<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, AuthError>> {
        let record = self.sessions.read().get(hash).cloned();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn revoke<'a>(&'a self, hash: &'a TokenHash) -> BoxFuture<'a, Result<bool, AuthError>> {
        let found = match self.sessions.write().get_mut(hash) {
            Some(record) => !std::mem::replace(&mut record.revoked, true),
            None => false,
        };
        Box::pin(std::future::ready(Ok(found)))
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, AuthError>> {
        let mut revoked = 0;
        for record in self.sessions.write().values_mut() {
            if record.user.id == user_id && !record.revoked {
                record.revoked = true;
                revoked += 1;
            }
        }
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<usize, AuthError>> {
        let mut sessions = self.sessions.write();
        let before = sessions.len();
        sessions.retain(|_, record| !record.is_expired_at(now));
        let purged = before - sessions.len();
        Box::pin(std::future::ready(Ok(purged)))
    }
}

/// A freshly issued session token. Hand [`token`](SessionToken::token) to the client (a
/// cookie, a response body) once; only its hash is kept. `Debug` does not show it.
///
/// ```
/// use flame_auth::session::SessionStore;
/// use flame_auth::User;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let issued = SessionStore::in_memory().create(User::new("u1", "ada")).await.unwrap();
/// assert_eq!(issued.token().len(), 43);
/// assert!(!format!("{issued:?}").contains(issued.token()));
/// # }
/// ```
#[derive(Clone)]
pub struct SessionToken {
    token: String,
    expires_at: SystemTime,
}

impl SessionToken {
    /// The token to give the client.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let issued = SessionStore::in_memory().create(User::new("u1", "ada")).await.unwrap();
    /// assert!(issued.token().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// # }
    /// ```
    pub fn token(&self) -> &str {
        &self.token
    }

    /// When the session ends.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use flame_auth::session::SessionStore;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let issued = SessionStore::in_memory().create(User::new("u1", "ada")).await.unwrap();
    /// assert!(issued.expires_at() > SystemTime::now());
    /// # }
    /// ```
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The token, consuming the handle.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let token: String = SessionStore::in_memory().create(User::new("u1", "ada")).await.unwrap().into_token();
    /// assert_eq!(token.len(), 43);
    /// # }
    /// ```
    pub fn into_token(self) -> String {
        self.token
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Opaque session tokens: issue at login, verify on each request (it is a
/// [`TokenVerifier`]), revoke at sign-out.
///
/// ```
/// use flame_auth::session::SessionStore;
/// use flame_auth::{TokenVerifier, User, UserActor};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sessions = SessionStore::in_memory();
/// let issued = sessions.create(User::new("u1", "ada")).await.unwrap();
/// assert_eq!(sessions.verify(issued.token()).await.unwrap().user().id, "u1");
///
/// assert!(sessions.revoke(issued.token()).await.unwrap());
/// assert_eq!(sessions.verify(issued.token()).await.unwrap_err().code(), "invalid_token");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SessionStore {
    backend: Arc<dyn SessionBackend>,
    ttl: Duration,
    live: Arc<parking_lot::Mutex<LiveSessions>>,
}

/// The revokers of sessions that identities still hold (a WebSocket connection, a request in
/// flight), so that revoking a session reaches them at once in this process.
#[derive(Debug, Default)]
struct LiveSessions {
    by_hash: HashMap<TokenHash, (String, Revoker)>,
    /// The size after the last sweep of unwatched entries; the next sweep waits until the map
    /// has doubled, so sweeping costs O(1) per verification on average.
    swept_at: usize,
}

impl LiveSessions {
    fn watch(&mut self, hash: TokenHash, user_id: &str) -> Revocation {
        if let Some((_, revoker)) = self.by_hash.get(&hash) {
            return revoker.subscribe();
        }
        if self.by_hash.len() >= (2 * self.swept_at).max(64) {
            self.by_hash.retain(|_, (_, revoker)| revoker.is_watched());
            self.swept_at = self.by_hash.len();
        }
        let (revoker, revocation) = Revocation::channel();
        self.by_hash.insert(hash, (user_id.to_owned(), revoker));
        revocation
    }

    fn revoke(&mut self, hash: &TokenHash) {
        if let Some((_, revoker)) = self.by_hash.remove(hash) {
            revoker.revoke();
        }
    }

    fn revoke_user(&mut self, user_id: &str) {
        self.by_hash.retain(|_, (id, revoker)| {
            if id == user_id {
                revoker.revoke();
            }
            id != user_id
        });
    }
}

impl SessionStore {
    /// Sessions kept in `backend`, lasting [`DEFAULT_SESSION_TTL`].
    ///
    /// ```
    /// use flame_auth::session::{MemorySessionBackend, SessionStore};
    ///
    /// let sessions = SessionStore::new(MemorySessionBackend::default());
    /// # let _ = sessions;
    /// ```
    pub fn new(backend: impl SessionBackend + 'static) -> Self {
        Self::with_backend(Arc::new(backend))
    }

    /// Sessions kept in a shared `backend`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::session::{MemorySessionBackend, SessionStore};
    ///
    /// let backend = Arc::new(MemorySessionBackend::default());
    /// let sessions = SessionStore::with_backend(backend.clone());
    /// # let _ = sessions;
    /// ```
    pub fn with_backend(backend: Arc<dyn SessionBackend>) -> Self {
        Self {
            backend,
            ttl: DEFAULT_SESSION_TTL,
            live: Arc::default(),
        }
    }

    /// Sessions in memory.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    ///
    /// let sessions = SessionStore::in_memory();
    /// # let _ = sessions;
    /// ```
    pub fn in_memory() -> Self {
        Self::new(MemorySessionBackend::default())
    }

    /// How long new sessions last.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::session::SessionStore;
    ///
    /// let sessions = SessionStore::in_memory().ttl(Duration::from_secs(3600));
    /// # let _ = sessions;
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Starts a session for `user` and returns its token.
    ///
    /// # Errors
    ///
    /// The backend's error.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sessions = SessionStore::in_memory();
    /// let a = sessions.create(User::new("u1", "ada")).await.unwrap();
    /// let b = sessions.create(User::new("u1", "ada")).await.unwrap();
    /// assert_ne!(a.token(), b.token());
    /// # }
    /// ```
    pub async fn create(&self, user: impl Into<Arc<User>>) -> Result<SessionToken, AuthError> {
        let mut raw = [0_u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        let now = SystemTime::now();
        let expires_at = now + self.ttl;
        let user = user.into();
        tracing::debug!(user.id = %user.id, "session created");
        self.backend
            .insert(
                TokenHash::of_bytes(&raw),
                SessionRecord::new(user, now, expires_at),
            )
            .await?;
        Ok(SessionToken { token, expires_at })
    }

    /// The user of a live session.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`]: malformed, unknown, revoked or expired; or the backend's
    /// error.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = SessionStore::in_memory().verify_token(&"A".repeat(43)).await.unwrap_err();
    /// assert_eq!(err.to_string(), "invalid token: no such session");
    /// # }
    /// ```
    pub async fn verify_token(&self, token: &str) -> Result<AuthenticatedUser, AuthError> {
        let hash = TokenHash::of_token(token)?;
        let record = self
            .backend
            .get(&hash)
            .await?
            .ok_or(TokenRejection::Unknown)?;
        if record.revoked {
            return Err(TokenRejection::Revoked.into());
        }
        if record.is_expired_at(SystemTime::now()) {
            return Err(TokenRejection::Expired.into());
        }
        let revocation = self.live.lock().watch(hash, &record.user.id);
        Ok(AuthenticatedUser::new(record.user)
            .expiring_at(record.expires_at)
            .revocable(revocation))
    }

    /// Revokes one session (sign-out); `true` if this call revoked it. Identities made from
    /// it that are still alive in this process (an open WebSocket connection) learn it at
    /// once (see [`identity_ended`](crate::identity_ended)); other processes sharing the
    /// backend learn it at their next verification.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] for a malformed token, or the backend's error.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert!(!SessionStore::in_memory().revoke(&"A".repeat(43)).await.unwrap());
    /// # }
    /// ```
    pub async fn revoke(&self, token: &str) -> Result<bool, AuthError> {
        let hash = TokenHash::of_token(token)?;
        let found = self.backend.revoke(&hash).await?;
        self.live.lock().revoke(&hash);
        Ok(found)
    }

    /// Revokes every session of a user ("log out everywhere"); how many were live. Open
    /// WebSocket connections of those sessions in this process are told at once.
    ///
    /// # Errors
    ///
    /// The backend's error.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sessions = SessionStore::in_memory();
    /// sessions.create(User::new("u1", "ada")).await.unwrap();
    /// sessions.create(User::new("u1", "ada")).await.unwrap();
    /// assert_eq!(sessions.revoke_user("u1").await.unwrap(), 2);
    /// # }
    /// ```
    pub async fn revoke_user(&self, user_id: &str) -> Result<usize, AuthError> {
        let revoked = self.backend.revoke_user(user_id).await?;
        self.live.lock().revoke_user(user_id);
        tracing::debug!(user.id = user_id, revoked, "sessions revoked");
        Ok(revoked)
    }

    /// Deletes ended sessions; how many. Run it from a periodic job.
    ///
    /// # Errors
    ///
    /// The backend's error.
    ///
    /// ```
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(SessionStore::in_memory().purge_expired().await.unwrap(), 0);
    /// # }
    /// ```
    pub async fn purge_expired(&self) -> Result<usize, AuthError> {
        self.backend.purge_expired(SystemTime::now()).await
    }
}

impl TokenVerifier for SessionStore {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
        Box::pin(async move {
            let result = self.verify_token(token).await;
            if let Err(err) = &result {
                tracing::debug!(error = %err, "session token refused");
            }
            result
        })
    }
}
