//! Refresh tokens: long-lived, opaque, single-use tokens that buy a new short-lived access
//! token (a JWT) and a new refresh token. [`RefreshTokens`] rotates them on every use and
//! detects reuse: a refresh token presented twice means one copy was stolen, so every
//! refresh token of that user is revoked and both the thief and the victim must sign in
//! again.
//!
//! They are kept like sessions ([`SessionStore`], only hashes stored, any
//! [`SessionBackend`]), in a store of their own, so that a refresh token is never accepted
//! as a session cookie and the other way round.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::session::{SessionBackend, SessionStore, SessionToken, TokenHash};
use crate::{AuthError, TokenRejection, User};

/// The default lifetime of a refresh token: 30 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Issues, rotates and revokes refresh tokens.
///
/// ```
/// use flame_auth::refresh::RefreshTokens;
/// use flame_auth::User;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let refresh = RefreshTokens::in_memory();
/// let first = refresh.issue(User::new("u1", "ada")).await.unwrap();
/// let (user, second) = refresh.rotate(first.token()).await.unwrap();
/// assert_eq!(user.id, "u1");
///
/// // The first one again: reuse. Every refresh token of ada is revoked, the second too.
/// assert_eq!(refresh.rotate(first.token()).await.unwrap_err().code(), "invalid_token");
/// assert!(refresh.rotate(second.token()).await.is_err());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RefreshTokens {
    store: SessionStore,
    backend: Arc<dyn SessionBackend>,
}

impl RefreshTokens {
    /// Refresh tokens kept in `backend` (its own, not the sessions' one).
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    /// use flame_auth::session::MemorySessionBackend;
    ///
    /// let refresh = RefreshTokens::new(MemorySessionBackend::default());
    /// # let _ = refresh;
    /// ```
    pub fn new(backend: impl SessionBackend + 'static) -> Self {
        Self::with_backend(Arc::new(backend))
    }

    /// Refresh tokens kept in a shared backend.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::refresh::RefreshTokens;
    /// use flame_auth::session::{MemorySessionBackend, SessionBackend};
    ///
    /// let backend: Arc<dyn SessionBackend> = Arc::new(MemorySessionBackend::default());
    /// let refresh = RefreshTokens::with_backend(backend);
    /// # let _ = refresh;
    /// ```
    pub fn with_backend(backend: Arc<dyn SessionBackend>) -> Self {
        Self {
            store: SessionStore::with_backend(backend.clone()).ttl(DEFAULT_REFRESH_TTL),
            backend,
        }
    }

    /// Refresh tokens in memory.
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    ///
    /// let refresh = RefreshTokens::in_memory();
    /// # let _ = refresh;
    /// ```
    pub fn in_memory() -> Self {
        Self::new(crate::session::MemorySessionBackend::default())
    }

    /// How long a refresh token lives ([`DEFAULT_REFRESH_TTL`] unless set). Each rotation
    /// hands out a token with a full `ttl`, so an active client stays signed in and an idle
    /// one is signed out `ttl` after its last refresh.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::refresh::RefreshTokens;
    ///
    /// let refresh = RefreshTokens::in_memory().ttl(Duration::from_secs(7 * 24 * 3600));
    /// # let _ = refresh;
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.store = self.store.ttl(ttl);
        self
    }

    /// A new refresh token for `user` (at sign-in).
    ///
    /// # Errors
    ///
    /// The backend's error.
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let token = RefreshTokens::in_memory().issue(User::new("u1", "ada")).await.unwrap();
    /// assert_eq!(token.token().len(), 43);
    /// # }
    /// ```
    pub async fn issue(&self, user: impl Into<Arc<User>>) -> Result<SessionToken, AuthError> {
        self.store.create(user).await
    }

    /// Spends `token`: the user it was issued to and its successor.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`]: unknown, expired, or already spent
    /// ([`TokenRejection::Reused`], after which every refresh token of the user is revoked).
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = RefreshTokens::in_memory().rotate(&"A".repeat(43)).await.unwrap_err();
    /// assert_eq!(err.code(), "invalid_token");
    /// # }
    /// ```
    pub async fn rotate(&self, token: &str) -> Result<(Arc<User>, SessionToken), AuthError> {
        let hash = TokenHash::of_token(token)?;
        let record = self
            .backend
            .get(&hash)
            .await?
            .ok_or(TokenRejection::Unknown)?;
        if record.is_expired_at(SystemTime::now()) {
            return Err(TokenRejection::Expired.into());
        }
        // Spending is the atomic revoke: of two uses of one token, exactly one wins here.
        if record.revoked || !self.backend.revoke(&hash).await? {
            tracing::warn!(user.id = %record.user.id, "refresh token reused: revoking all of the user's refresh tokens");
            self.store.revoke_user(&record.user.id).await?;
            return Err(TokenRejection::Reused.into());
        }
        let next = self.store.create(record.user.clone()).await?;
        Ok((record.user, next))
    }

    /// Revokes one refresh token (sign-out); `true` if this call revoked it.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] for a malformed token, or the backend's error.
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let refresh = RefreshTokens::in_memory();
    /// let token = refresh.issue(User::new("u1", "ada")).await.unwrap();
    /// assert!(refresh.revoke(token.token()).await.unwrap());
    /// assert!(refresh.rotate(token.token()).await.is_err());
    /// # }
    /// ```
    pub async fn revoke(&self, token: &str) -> Result<bool, AuthError> {
        self.store.revoke(token).await
    }

    /// Revokes every refresh token of a user ("log out everywhere", a password change); how
    /// many were live.
    ///
    /// # Errors
    ///
    /// The backend's error.
    ///
    /// ```
    /// use flame_auth::refresh::RefreshTokens;
    /// use flame_auth::User;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let refresh = RefreshTokens::in_memory();
    /// refresh.issue(User::new("u1", "ada")).await.unwrap();
    /// assert_eq!(refresh.revoke_user("u1").await.unwrap(), 1);
    /// # }
    /// ```
    pub async fn revoke_user(&self, user_id: &str) -> Result<usize, AuthError> {
        self.store.revoke_user(user_id).await
    }
}
