//! How revocation and expiry reach identities that outlive their request: a [`Revocation`]
//! rides on the [`AuthenticatedUser`](crate::AuthenticatedUser) a session token became, and
//! [`identity_ended`] resolves when that identity stops being valid, so a long-lived
//! WebSocket connection can be closed with [`CLOSE_SESSION_ENDED`].

use std::future::Future;
use std::time::SystemTime;

use flame_actor::Actor;
use tokio::sync::watch;

use crate::{AuthError, TokenRejection, as_user_actor};

/// The close code of a WebSocket connection whose session ended (signed out, revoked or
/// expired): 4401, in the private range (4000-4999) of RFC 6455, after HTTP's 401. The close
/// reason is the [`AuthError::code`] (`invalid_token` or `token_expired`).
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// The receiving side of a revocation: cheap to clone, carried by every identity made from
/// one session token.
///
/// ```
/// use flame_auth::Revocation;
///
/// let (revoker, revocation) = Revocation::channel();
/// assert!(!revocation.is_revoked());
/// revoker.revoke();
/// assert!(revocation.is_revoked());
/// ```
#[derive(Clone, Debug)]
pub struct Revocation(watch::Receiver<bool>);

/// The sending side of a [`Revocation`], kept by whoever can revoke (the
/// [`SessionStore`](crate::session::SessionStore)).
///
/// ```
/// use flame_auth::Revocation;
///
/// let (revoker, revocation) = Revocation::channel();
/// assert!(revoker.is_watched());
/// drop(revocation);
/// assert!(!revoker.is_watched());
/// ```
#[derive(Debug)]
pub struct Revoker(watch::Sender<bool>);

impl Revocation {
    /// A new, unrevoked pair.
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// let (_revoker, revocation) = Revocation::channel();
    /// assert!(!revocation.is_revoked());
    /// ```
    pub fn channel() -> (Revoker, Revocation) {
        let (tx, rx) = watch::channel(false);
        (Revoker(tx), Revocation(rx))
    }

    /// Whether it has been revoked.
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// let (revoker, revocation) = Revocation::channel();
    /// revoker.revoke();
    /// assert!(revocation.is_revoked());
    /// ```
    pub fn is_revoked(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once revoked. A dropped [`Revoker`] (the store is gone) counts as revoked:
    /// nobody can vouch for the identity any more.
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (revoker, revocation) = Revocation::channel();
    /// tokio::spawn(async move { revoker.revoke() });
    /// revocation.revoked().await;
    /// # }
    /// ```
    pub async fn revoked(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|revoked| *revoked).await;
    }
}

impl Revoker {
    /// Revokes every identity holding the matching [`Revocation`].
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// let (revoker, revocation) = Revocation::channel();
    /// revoker.revoke();
    /// assert!(revocation.is_revoked());
    /// ```
    pub fn revoke(&self) {
        self.0.send_replace(true);
    }

    /// A new [`Revocation`] tied to this revoker.
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// let (revoker, _) = Revocation::channel();
    /// let another = revoker.subscribe();
    /// revoker.revoke();
    /// assert!(another.is_revoked());
    /// ```
    pub fn subscribe(&self) -> Revocation {
        Revocation(self.0.subscribe())
    }

    /// Whether any identity still holds a matching [`Revocation`].
    ///
    /// ```
    /// use flame_auth::Revocation;
    ///
    /// let (revoker, revocation) = Revocation::channel();
    /// drop(revocation);
    /// assert!(!revoker.is_watched());
    /// ```
    pub fn is_watched(&self) -> bool {
        self.0.receiver_count() > 0
    }
}

/// Resolves when the identity `actor` acts as stops being valid: its session is revoked, or
/// its credential expires (leeway included, see [`JwtVerifier::leeway`](crate::jwt::JwtVerifier::leeway)).
/// Never resolves for an actor without a user, or with a user that neither expires nor can
/// be revoked. The output is the error a validator would now answer.
///
/// A WebSocket handler races its `recv` against this and closes with
/// [`CLOSE_SESSION_ENDED`]:
///
/// ```
/// use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
/// use flame_auth::{identity_ended, CLOSE_SESSION_ENDED};
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.websocket("/ws", |mut conn: WebSocketConnection| async move {
///     loop {
///         let ended = identity_ended(&*conn.actor());
///         tokio::select! {
///             message = conn.recv() => match message {
///                 Some(message) => { let _ = conn.send_text(message.as_text().unwrap_or_default().to_owned()).await; }
///                 None => return,
///             },
///             err = ended => return conn.close(CLOSE_SESSION_ENDED, err.code()).await,
///         }
///     }
/// });
/// ```
pub fn identity_ended(actor: &dyn Actor) -> impl Future<Output = AuthError> + Send + 'static {
    let (expires_at, revocation) = match as_user_actor(actor) {
        Some(user) => (user.expires_at(), user.revocation().cloned()),
        None => (None, None),
    };
    async move {
        let expiry = async {
            match expires_at {
                Some(at) => {
                    let left = at.duration_since(SystemTime::now()).unwrap_or_default();
                    tokio::time::sleep(left).await;
                }
                None => std::future::pending().await,
            }
        };
        let revoked = async {
            match &revocation {
                Some(revocation) => revocation.revoked().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = expiry => AuthError::InvalidToken(TokenRejection::Expired),
            () = revoked => AuthError::InvalidToken(TokenRejection::Revoked),
        }
    }
}
