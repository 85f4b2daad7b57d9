//! HTTP basic and bearer authentication as middleware (flamego/auth): [`basic`] and
//! [`basic_fn`] map the signed-in [`User`], [`bearer`] and [`bearer_fn`] map the [`Token`].
//!
//! ```
//! use flame_core::Flame;
//! use flame_extra::auth::{basic, User};
//!
//! let mut f = Flame::new();
//! f.get("/", || "public");
//! f.group("/admin", |f| {
//!     f.get("/", |user: User| format!("hello, {user}"));
//! }, basic("admin", "s3cret"));
//! assert!(f.check().is_ok());
//! ```
//!
//! # The answers
//!
//! A request without the right credentials stops the chain with Flamego's answer, byte for
//! byte: `401 Unauthorized`, `Content-Type: text/plain; charset=utf-8`,
//! `X-Content-Type-Options: nosniff` and the body `Unauthorized\n` (Go's `http.Error`). Basic
//! authentication adds [`WWW_AUTHENTICATE`] (`Basic realm="Authorization Required"`), so a
//! browser asks for a user name and password; bearer authentication adds no challenge, as
//! Flamego's does not. The reply is a plain body, not an error reply: a
//! [`ReturnHandler`](flame_core::ReturnHandler) that renders errors as JSON leaves it as it
//! is. A missing header, another scheme, bad base64, a decoded value without a `:` or that
//! is not UTF-8, and wrong credentials all get the same answer.
//!
//! # Where flame differs from flamego/auth
//!
//! - The scheme (`Basic`, `Bearer`) is matched without regard to case, as RFC 7235 says;
//!   Flamego wants it capitalized.
//! - [`basic`] decodes the header and compares `user:password`; Flamego compares the header
//!   with the one it expects. Apart from the scheme's case, both let in the same requests
//!   (the base64 decoder, like Go's, takes only the canonical encoding).
//! - A [`basic_fn`] request whose decoded credentials are not UTF-8 is refused (a Rust `&str`
//!   must be UTF-8); Go would pass the bytes on.
//! - Secrets are compared as SHA-256 digests (Flamego uses SHA-512), in constant time.
//!
//! # Secrets and limits
//!
//! [`basic`] and [`bearer`] hash what the client sent and what they expect with SHA-256 and
//! compare the two digests with a fold over every byte, so the time taken tells nothing of
//! where a wrong password differs, nor of its length. The closures of [`basic_fn`] and
//! [`bearer_fn`] compare as they see fit; [`secure_compare`] does it as [`basic`] does.
//!
//! The `Authorization` header is bounded by the server's header limits (on HTTP/1, hyper's
//! read buffer of about 400 KiB for the whole head; on HTTP/2,
//! `ServerConfig::http2_max_header_list_size`, 16 KiB by default); the middleware reads only
//! that header and keeps nothing between requests.
//!
//! # Who is acting
//!
//! On success the request's actor is recorded ([`Context::record_actor`]) as type
//! [`BASIC_ACTOR_TYPE`] with the user name as id, or as [`BEARER_ACTOR_TYPE`] without an id
//! (a token is a secret and stays out of logs), so the Logger and the request's span say who
//! made the request. This is a name for logs, not an actor: for users, sessions, JWTs and a
//! `UserActor` identity, see flame-auth.

use base64::Engine as _;
use flame_core::{BoxedHandler, Context, Reply, StatusCode};
use sha2::{Digest as _, Sha256};

/// The challenge [`basic`] and [`basic_fn`] send with a refusal, as flamego/auth's.
pub const WWW_AUTHENTICATE: &str = r#"Basic realm="Authorization Required""#;

/// The body of a refusal: Go's `http.Error(w, "Unauthorized", 401)`.
pub const UNAUTHORIZED_BODY: &str = "Unauthorized\n";

/// The actor type recorded for a request signed in with basic authentication.
pub const BASIC_ACTOR_TYPE: &str = "basic-auth";

/// The actor type recorded for a request signed in with a bearer token.
pub const BEARER_ACTOR_TYPE: &str = "bearer-token";

/// The user name a request signed in with, mapped by [`basic`] and [`basic_fn`]
/// (flamego/auth's `auth.User`); take it as a handler argument.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::{basic, User};
///
/// let mut f = Flame::new();
/// f.get("/me", (basic("ann", "pw"), |user: User| user.0));
/// assert!(f.check().is_ok());
/// assert_eq!(User("ann".into()).as_str(), "ann");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct User(pub String);

impl User {
    /// The user name.
    ///
    /// ```
    /// # use flame_extra::auth::User;
    /// assert_eq!(User("ann".into()).as_str(), "ann");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for User {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The bearer token a request was let in with, mapped by [`bearer`] and [`bearer_fn`]
/// (flamego/auth's `auth.Token`); take it as a handler argument. Its `Debug` hides the
/// token, which is a secret.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::{bearer_fn, Token};
///
/// let mut f = Flame::new();
/// f.get("/key", (bearer_fn(|token| token.starts_with("key-")), |token: Token| {
///     format!("key of {} bytes", token.as_str().len())
/// }));
/// assert!(f.check().is_ok());
/// assert_eq!(format!("{:?}", Token("key-1".into())), "Token(..)");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(pub String);

impl Token {
    /// The token.
    ///
    /// ```
    /// # use flame_extra::auth::Token;
    /// assert_eq!(Token("t0k3n".into()).as_str(), "t0k3n");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl AsRef<str> for Token {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Basic authentication with one user name and password: a request whose `Authorization:
/// Basic ...` decodes to `username:password` goes on with [`User`] mapped; any other gets
/// the 401 described in the [module docs](self).
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::{basic, User};
///
/// let mut f = Flame::new();
/// f.use_(basic("admin", "s3cret"));
/// f.get("/", |user: User| format!("hello, {user}"));
/// assert!(f.check().is_ok());
/// ```
pub fn basic(username: impl Into<String>, password: impl AsRef<str>) -> BoxedHandler {
    let username = username.into();
    let want = digest(format!("{username}:{}", password.as_ref()).as_bytes());
    BoxedHandler::new(move |c: Context| {
        let Some(credentials) = basic_credentials(&c) else {
            return Some(basic_unauthorized());
        };
        if !same_digest(&digest(&credentials), &want) {
            return Some(basic_unauthorized());
        }
        c.record_actor(BASIC_ACTOR_TYPE, Some(username.as_str()));
        c.map(User(username.clone()));
        None
    })
    .provides::<User>()
}

/// Basic authentication checked by a closure: it gets the user name and password of a
/// well-formed `Authorization: Basic ...` header and says whether they are valid; when they
/// are, the request goes on with [`User`] mapped, else it gets the 401 of [`basic`].
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::{basic_fn, secure_compare, User};
///
/// let mut f = Flame::new();
/// f.use_(basic_fn(|user, password| {
///     matches!(user, "ann" | "bob") && secure_compare(password, "s3cret")
/// }));
/// f.get("/", |user: User| format!("hello, {user}"));
/// assert!(f.check().is_ok());
/// ```
pub fn basic_fn<F>(check: F) -> BoxedHandler
where
    F: Fn(&str, &str) -> bool + Send + Sync + 'static,
{
    BoxedHandler::new(move |c: Context| {
        let credentials = basic_credentials(&c).and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = credentials.as_deref().and_then(|s| s.split_once(':')) else {
            return Some(basic_unauthorized());
        };
        if !check(user, password) {
            return Some(basic_unauthorized());
        }
        c.record_actor(BASIC_ACTOR_TYPE, Some(user));
        c.map(User(user.to_owned()));
        None
    })
    .provides::<User>()
}

/// Bearer authentication with one token: a request with `Authorization: Bearer <token>`
/// goes on with [`Token`] mapped; any other gets a 401 (without a challenge, as Flamego's).
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::bearer;
///
/// let mut f = Flame::new();
/// f.post("/deploy", (bearer("ci-token"), || "deploying"));
/// assert!(f.check().is_ok());
/// ```
pub fn bearer(token: impl Into<String>) -> BoxedHandler {
    let token = token.into();
    let want = digest(token.as_bytes());
    BoxedHandler::new(move |c: Context| {
        let Some(got) = credentials(&c, "Bearer") else {
            return Some(unauthorized());
        };
        if !same_digest(&digest(got.as_bytes()), &want) {
            return Some(unauthorized());
        }
        c.record_actor(BEARER_ACTOR_TYPE, None);
        c.map(Token(token.clone()));
        None
    })
    .provides::<Token>()
}

/// Bearer authentication checked by a closure: it gets the token of an `Authorization:
/// Bearer <token>` header and says whether it is valid; when it is, the request goes on with
/// [`Token`] mapped, else it gets the 401 of [`bearer`].
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::auth::{bearer_fn, secure_compare, Token};
///
/// let keys = ["key-ann", "key-bob"];
/// let mut f = Flame::new();
/// f.use_(bearer_fn(move |token| keys.iter().any(|key| secure_compare(token, key))));
/// f.get("/", |token: Token| format!("{} bytes", token.as_str().len()));
/// assert!(f.check().is_ok());
/// ```
pub fn bearer_fn<F>(check: F) -> BoxedHandler
where
    F: Fn(&str) -> bool + Send + Sync + 'static,
{
    BoxedHandler::new(move |c: Context| {
        let Some(token) = credentials(&c, "Bearer").filter(|token| check(token)) else {
            return Some(unauthorized());
        };
        let token = Token(token.to_owned());
        c.record_actor(BEARER_ACTOR_TYPE, None);
        c.map(token);
        None
    })
    .provides::<Token>()
}

/// Whether two strings are equal, in a time that depends on neither where they differ nor
/// their lengths (flamego/auth's `SecureCompare`): both are hashed with SHA-256 and the
/// digests compared byte by byte without stopping early.
///
/// ```
/// use flame_extra::auth::secure_compare;
///
/// assert!(secure_compare("s3cret", "s3cret"));
/// assert!(!secure_compare("s3cret", "s3cret-but-longer"));
/// ```
pub fn secure_compare(given: &str, actual: &str) -> bool {
    same_digest(&digest(given.as_bytes()), &digest(actual.as_bytes()))
}

/// The value of the request's `Authorization` header after `scheme` and one space; the
/// scheme's case does not matter (RFC 7235). `None` without the header, with another scheme,
/// or with a value that is not visible ASCII.
fn credentials<'a>(c: &'a Context, scheme: &str) -> Option<&'a str> {
    let value = c
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// The decoded `user:password` bytes of a `Basic` header (standard base64 with padding).
fn basic_credentials(c: &Context) -> Option<Vec<u8>> {
    let encoded = credentials(c, "Basic")?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equality of two digests that looks at every byte; the digests' length is fixed, so it
/// says nothing of the secrets' lengths.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Flamego's refusal: Go's `http.Error(w, "Unauthorized", 401)`.
fn unauthorized() -> Reply {
    tracing::debug!("authentication refused a request");
    Reply::text(UNAUTHORIZED_BODY)
        .with_status(StatusCode::UNAUTHORIZED)
        .with_header("x-content-type-options", "nosniff")
}

/// The refusal with the basic challenge, so browsers ask for credentials.
fn basic_unauthorized() -> Reply {
    unauthorized().with_header("www-authenticate", WWW_AUTHENTICATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_compare_tells_equal_from_different_strings() {
        assert!(secure_compare("", ""));
        assert!(secure_compare("pässwörd", "pässwörd"));
        assert!(!secure_compare("password", "passwore"));
        assert!(!secure_compare("password", "password "));
        assert!(!secure_compare("", "x"));
    }

    #[test]
    fn the_refusals_are_flamegos() {
        let reply = basic_unauthorized();
        assert_eq!(reply.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(reply.body_bytes().as_deref(), Some(&b"Unauthorized\n"[..]));
        assert!(!reply.is_error());
    }
}
