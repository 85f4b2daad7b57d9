//! flame's auth plugin, after Flamigo's: who the user is, and what they may do.
//!
//! - [`user`](User): the signed-in [`User`], with permissions and further claims.
//! - [`user_actor`](UserActor): the [`UserActor`] trait, the [`AuthenticatedUser`] actor, and
//!   [`as_user_actor`], which also finds the user of an authenticated WebSocket connection
//!   ([`WebSocketUserExt`]).
//! - [`validators`](ActorClaimValidator): actor claim validators ([`is_authenticated`],
//!   [`has_permission`], [`of_type`], ...).
//! - [`claims`](require_actor_with_claims): Flamigo's `RequireActorWithClaims`, on anything
//!   that is an [`ActorContext`](flame_actor::ActorContext).
//! - [`token`](TokenVerifier): token verification, with [`jwt`] and [`session`] tokens,
//!   key rotation and JWK Sets ([`jwks`]), rotating [`refresh`] tokens.
//! - [`authenticate`](Authenticator): finding a request's token and turning it into a user.
//! - [`middleware`](authenticate()): the HTTP side: the [`authenticate()`] middleware,
//!   [`require`] / [`require_user`] with owned [`Validators`], the [`AnonymousActor`];
//!   [`AuthError`] is a handler return value (401/403 with a JSON body and stable code).
//! - [`revocation`](Revocation): how sign-out, revocation and expiry reach live identities
//!   ([`identity_ended`], [`CLOSE_SESSION_ENDED`]).
//! - [`session_cookie`](SessionCookie): the session cookie's name and attributes (`Secure`,
//!   `__Host-`, `Max-Age`), for setting it at login and clearing it.
//! - [`password`]: Argon2id password hashing for a login endpoint, with a bounded pool
//!   ([`PasswordHashing`](password::PasswordHashing)) and a
//!   [`PasswordPolicy`](password::PasswordPolicy).
//! - [`login_limit`](LoginLimiter): failed sign-ins per account and per address, lockouts
//!   answered with 429 and `Retry-After`.
//! - [`error`](AuthError): one error enum, with HTTP statuses and stable codes.
//!
//! ```
//! use std::sync::Arc;
//! use flame_actor::{actor_scope, ActorScope};
//! use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
//! use flame_auth::{has_permission, is_authenticated, require_user_actor_with_claims, User};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let secret = b"an example secret that is 32+ bytes long";
//! let token = JwtIssuer::hs256(secret).unwrap().issue(&User::new("u1", "ada").with_permission("posts:write")).unwrap();
//! let actor = JwtVerifier::hs256(secret, Expected::unchecked()).unwrap().verify_sync(&token).unwrap();
//!
//! actor_scope(Arc::new(actor), async {
//!     let current = require_user_actor_with_claims(&ActorScope, &[&is_authenticated(), &has_permission("posts:write")]).unwrap();
//!     assert_eq!(current.username, "ada");
//! })
//! .await;
//! # }
//! ```

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod authenticate;
mod claims;
mod error;
mod login_limit;
mod middleware;
pub mod password;
mod revocation;
mod session_cookie;
mod token;
mod user;
mod user_actor;
mod validators;

pub use authenticate::{Authenticator, bearer_token};
pub use claims::{
    check_actor, require_actor_with_claims, require_user_actor_with_claims, verify_actor_claims,
};
pub use error::{AuthError, TokenRejection};
pub use login_limit::{LoginLimiter, LoginLimits};
pub use middleware::{
    AnonymousActor, IntoValidators, Validators, authenticate, require, require_user,
};
pub use revocation::{CLOSE_SESSION_ENDED, Revocation, Revoker, identity_ended};
pub use session_cookie::SessionCookie;
pub use token::{BoxFuture, DEFAULT_MAX_TOKEN_LEN, TokenVerifier, jwks, jwt, refresh, session};
pub use user::{ADMIN_PERMISSION, User};
pub use user_actor::{
    AuthenticatedUser, CurrentUser, UserActor, WebSocketUserExt, as_user_actor,
    register_user_actor, user_of,
};
pub use validators::{
    ActorClaimValidator, has_permission, is_actor_of_type, is_admin, is_authenticated, is_backend,
    is_not_websocket, is_unauthenticated, is_websocket, of_type,
};
