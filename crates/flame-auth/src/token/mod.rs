//! Token verification: the [`TokenVerifier`] trait, JWTs ([`jwt`]), opaque session
//! tokens ([`session`]) and rotating refresh tokens ([`refresh`]).

pub mod jwks;
pub mod jwt;
pub mod refresh;
pub mod session;
mod session_redb;

use std::fmt::Debug;
use std::sync::Arc;

use crate::{AuthError, AuthenticatedUser, TokenRejection};

/// The longest token accepted by default (8 KiB); longer ones are refused before parsing.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// A boxed, `Send` future, so that [`TokenVerifier`] is object-safe: `futures-util`'s, the
/// same type flame-stateful's stores return, re-exported so an implementor needs no extra
/// dependency.
pub use futures_util::future::BoxFuture;

/// Turns a presented token into the user it stands for.
///
/// Object-safe (`Arc<dyn TokenVerifier>`), so the auth middleware and the WebSocket
/// authentication take any verifier: [`JwtVerifier`](jwt::JwtVerifier),
/// [`SessionStore`](session::SessionStore), or your own (an OAuth introspection call, an
/// API-key table).
///
/// ```
/// use flame_auth::{AuthError, AuthenticatedUser, BoxFuture, TokenRejection, TokenVerifier, User};
///
/// #[derive(Debug)]
/// struct StaticKey;
///
/// impl TokenVerifier for StaticKey {
///     fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
///         Box::pin(async move {
///             if token == "let-me-in" {
///                 Ok(AuthenticatedUser::new(User::new("u1", "ada")))
///             } else {
///                 Err(AuthError::InvalidToken(TokenRejection::Unknown))
///             }
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let verifier: std::sync::Arc<dyn TokenVerifier> = std::sync::Arc::new(StaticKey);
/// assert!(verifier.verify("let-me-in").await.is_ok());
/// assert!(verifier.verify("nope").await.is_err());
/// # }
/// ```
pub trait TokenVerifier: Send + Sync + Debug {
    /// The user `token` stands for.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason, or a backend error.
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>>;
}

impl<V: TokenVerifier + ?Sized> TokenVerifier for Arc<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
        (**self).verify(token)
    }
}

impl<V: TokenVerifier + ?Sized> TokenVerifier for Box<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
        (**self).verify(token)
    }
}

/// Refuses a token longer than `max` bytes or holding anything but the base64url alphabet
/// and `.`, before any parsing.
pub(crate) fn check_token_chars(token: &str, max: usize) -> Result<(), AuthError> {
    if token.len() > max {
        return Err(TokenRejection::TooLarge {
            len: token.len(),
            max,
        }
        .into());
    }
    let base64url_or_dot =
        |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.';
    if token.is_empty() || !token.as_bytes().iter().all(base64url_or_dot) {
        return Err(TokenRejection::Malformed.into());
    }
    Ok(())
}
