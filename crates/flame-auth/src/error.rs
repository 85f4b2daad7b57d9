//! [`AuthError`] and [`TokenRejection`]: every way authentication or authorization can fail.

use std::borrow::Cow;
use std::fmt;

use flame_actor::IdentityError;
use http::StatusCode;

/// Every way authentication or authorization can fail, each with an HTTP status, a stable
/// machine-readable [`code`](AuthError::code) and a message safe to show the client.
///
/// `Display` is for logs and may hold details (why a token was refused, Rust type names);
/// [`public_message`](AuthError::public_message) and [`to_json`](AuthError::to_json) are
/// for clients.
///
/// ```
/// use flame_auth::AuthError;
/// use http::StatusCode;
///
/// let err = AuthError::NotAuthenticated;
/// assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(err.code(), "not_authenticated");
/// assert_eq!(
///     err.to_json().to_string(),
///     r#"{"error":{"code":"not_authenticated","message":"authentication required"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No authenticated user is acting (401).
    #[error("not authenticated")]
    NotAuthenticated,
    /// A user is signed in where only anonymous callers are allowed, e.g. a login route (403).
    #[error("already authenticated")]
    AlreadyAuthenticated,
    /// The user lacks a permission (403).
    #[error("missing permission `{permission}`")]
    NoPermission {
        /// The permission that was required.
        permission: Cow<'static, str>,
    },
    /// The acting actor is not of the required kind (403).
    #[error(
        "expected the actor to be `{expected}`, but it is a \"{actual_type}\" actor ({actual})"
    )]
    InvalidActorType {
        /// The Rust type or actor type string that was required.
        expected: Cow<'static, str>,
        /// The Rust type of the acting actor.
        actual: &'static str,
        /// The [`actor_type`](flame_actor::Actor::actor_type) of the acting actor.
        actual_type: String,
    },
    /// A user actor was required, and the acting actor is not one (401).
    #[error("the acting \"{actual_type}\" actor is not a user actor")]
    NoUserActor {
        /// The [`actor_type`](flame_actor::Actor::actor_type) of the acting actor.
        actual_type: String,
    },
    /// A token was presented and refused (401).
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
    /// A login attempt with a wrong user name or password (401).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A request input was refused before any check ran (400), e.g. an oversized password.
    #[error("invalid input: {0}")]
    InvalidInput(Cow<'static, str>),
    /// A custom validator refused the actor (403); the message is shown to the client.
    #[error("forbidden: {0}")]
    Forbidden(Cow<'static, str>),
    /// Too many failed sign-ins for this account or from this address (429, with
    /// `Retry-After`).
    #[error("too many attempts, retry in {}s", retry_after_secs(*.retry_after))]
    TooManyAttempts {
        /// How long until the next attempt is allowed.
        retry_after: std::time::Duration,
    },
    /// A new password that the password policy refuses (422); the message says why.
    #[error("weak password: {0}")]
    WeakPassword(Cow<'static, str>),
    /// The auth setup is wrong: a weak secret, an unreadable key (500).
    #[error("auth configuration: {0}")]
    Configuration(String),
    /// A backend failed: the session store, the password hasher (500).
    #[error("auth backend: {0}")]
    Internal(String),
}

impl AuthError {
    /// A [`Forbidden`](AuthError::Forbidden) error for custom validators; `message` reaches
    /// the client.
    ///
    /// ```
    /// use flame_auth::AuthError;
    ///
    /// let err = AuthError::forbidden("only during office hours");
    /// assert_eq!(err.code(), "forbidden");
    /// assert_eq!(err.public_message(), "only during office hours");
    /// ```
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden(message.into())
    }

    /// The HTTP status this error maps to.
    ///
    /// ```
    /// use flame_auth::{AuthError, TokenRejection};
    /// use http::StatusCode;
    ///
    /// assert_eq!(AuthError::InvalidToken(TokenRejection::Expired).status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(AuthError::NoPermission { permission: "admin".into() }.status(), StatusCode::FORBIDDEN);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotAuthenticated
            | Self::NoUserActor { .. }
            | Self::InvalidToken(_)
            | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::AlreadyAuthenticated
            | Self::NoPermission { .. }
            | Self::InvalidActorType { .. }
            | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Self::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Configuration(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable code; clients branch on it.
    ///
    /// | variant | code |
    /// |---|---|
    /// | `NotAuthenticated` | `not_authenticated` |
    /// | `AlreadyAuthenticated` | `already_authenticated` |
    /// | `NoPermission` | `no_permission` |
    /// | `InvalidActorType` | `invalid_actor_type` |
    /// | `NoUserActor` | `no_user_actor` |
    /// | `InvalidToken` | `token_expired` when expired, `invalid_token` otherwise |
    /// | `InvalidCredentials` | `invalid_credentials` |
    /// | `InvalidInput` | `invalid_input` |
    /// | `Forbidden` | `forbidden` |
    /// | `TooManyAttempts` | `too_many_attempts` (429, with `Retry-After`) |
    /// | `WeakPassword` | `weak_password` (422) |
    /// | `Configuration`, `Internal` | `internal_error` |
    ///
    /// ```
    /// use flame_auth::{AuthError, TokenRejection};
    ///
    /// assert_eq!(AuthError::InvalidToken(TokenRejection::Expired).code(), "token_expired");
    /// assert_eq!(AuthError::InvalidToken(TokenRejection::BadSignature).code(), "invalid_token");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAuthenticated => "not_authenticated",
            Self::AlreadyAuthenticated => "already_authenticated",
            Self::NoPermission { .. } => "no_permission",
            Self::InvalidActorType { .. } => "invalid_actor_type",
            Self::NoUserActor { .. } => "no_user_actor",
            Self::InvalidToken(TokenRejection::Expired) => "token_expired",
            Self::InvalidToken(_) => "invalid_token",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidInput(_) => "invalid_input",
            Self::Forbidden(_) => "forbidden",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::WeakPassword(_) => "weak_password",
            Self::Configuration(_) | Self::Internal(_) => "internal_error",
        }
    }

    /// The message shown to the client: no token internals, no Rust types, no backend errors.
    ///
    /// ```
    /// use flame_auth::{AuthError, TokenRejection};
    ///
    /// let err = AuthError::InvalidToken(TokenRejection::WrongIssuer);
    /// assert_eq!(err.public_message(), "the token is invalid");
    /// assert_eq!(err.to_string(), "invalid token: the issuer is not accepted");
    /// ```
    pub fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::NotAuthenticated => "authentication required".into(),
            Self::AlreadyAuthenticated => "already authenticated".into(),
            Self::NoPermission { permission } => {
                format!("missing permission `{permission}`").into()
            }
            Self::InvalidActorType { actual_type, .. } => {
                format!("not allowed for a \"{actual_type}\" actor").into()
            }
            Self::NoUserActor { .. } => "a signed-in user is required".into(),
            Self::InvalidToken(TokenRejection::Expired) => "the token has expired".into(),
            Self::InvalidToken(_) => "the token is invalid".into(),
            Self::InvalidCredentials => "invalid user name or password".into(),
            Self::InvalidInput(message)
            | Self::Forbidden(message)
            | Self::WeakPassword(message) => message.clone(),
            Self::TooManyAttempts { retry_after } => format!(
                "too many attempts, retry in {} seconds",
                retry_after_secs(*retry_after)
            )
            .into(),
            Self::Configuration(_) | Self::Internal(_) => "internal error".into(),
        }
    }

    /// The response body: `{"error":{"code":"...","message":"..."}}`.
    ///
    /// ```
    /// use flame_auth::AuthError;
    ///
    /// let body = AuthError::NoPermission { permission: "posts:write".into() }.to_json();
    /// assert_eq!(body["error"]["code"], "no_permission");
    /// assert_eq!(body["error"]["message"], "missing permission `posts:write`");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        })
    }

    /// The `WWW-Authenticate` header value a 401 response should carry (RFC 6750), if any.
    ///
    /// ```
    /// use flame_auth::{AuthError, TokenRejection};
    ///
    /// assert_eq!(AuthError::NotAuthenticated.www_authenticate(), Some("Bearer"));
    /// assert_eq!(
    ///     AuthError::InvalidToken(TokenRejection::Malformed).www_authenticate(),
    ///     Some(r#"Bearer error="invalid_token""#)
    /// );
    /// assert_eq!(AuthError::forbidden("no").www_authenticate(), None);
    /// ```
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::InvalidToken(_) => Some(r#"Bearer error="invalid_token""#),
            Self::NotAuthenticated | Self::NoUserActor { .. } | Self::InvalidCredentials => {
                Some("Bearer")
            }
            _ => None,
        }
    }

    /// Whether this error is the server's fault (5xx) rather than the caller's.
    ///
    /// ```
    /// use flame_auth::AuthError;
    ///
    /// assert!(AuthError::Internal("store down".into()).is_server_error());
    /// assert!(!AuthError::NotAuthenticated.is_server_error());
    /// ```
    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }
}

/// An `AuthError` returned from a handler (alone, as `Err` of a `Result`, through `?`) is
/// answered with its [status](AuthError::status), the JSON body of
/// [`to_json`](AuthError::to_json) as `application/json` (flame-core's
/// [`ErrorBody`](flame_core::ErrorBody), as a framework error reply that a mapped
/// `ReturnHandler` sees and may render otherwise), and a `WWW-Authenticate` header
/// for 401s. The detailed `Display` text goes to the log only: debug level for the caller's
/// mistakes, warn for the server's.
///
/// ```
/// use flame_auth::AuthError;
/// use flame_core::{Return, StatusCode};
///
/// let reply = AuthError::NotAuthenticated.into_reply();
/// assert_eq!(reply.status(), Some(StatusCode::UNAUTHORIZED));
/// assert_eq!(
///     reply.body_bytes().as_deref(),
///     Some(&br#"{"error":{"code":"not_authenticated","message":"authentication required"}}"#[..])
/// );
/// ```
/// Whole seconds for `Retry-After`, rounded up so that a client retrying on time is not
/// refused again, and at least 1.
fn retry_after_secs(retry_after: std::time::Duration) -> u64 {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    secs.max(1)
}

impl flame_core::ReturnError for AuthError {
    fn status(&self) -> StatusCode {
        AuthError::status(self)
    }

    fn into_error_reply(self) -> flame_core::Reply {
        let status = AuthError::status(&self);
        if self.is_server_error() {
            tracing::warn!(error = %self, code = self.code(), status = status.as_u16(), "auth failed on the server side");
        } else {
            tracing::debug!(error = %self, code = self.code(), status = status.as_u16(), "request refused by auth");
        }
        // The framework's error reply: written as `to_json()` by default, and seen as an
        // error by the app's ReturnHandler, which may render it otherwise.
        let reply = flame_core::Reply::json_error(status, self.code(), self.public_message());
        let reply = match &self {
            Self::TooManyAttempts { retry_after } => reply.with_header(
                http::header::RETRY_AFTER.as_str(),
                &retry_after_secs(*retry_after).to_string(),
            ),
            _ => reply,
        };
        match self.www_authenticate() {
            Some(challenge) => {
                reply.with_header(http::header::WWW_AUTHENTICATE.as_str(), challenge)
            }
            None => reply,
        }
    }
}

/// A bare `AuthError` as a handler's return value: see the `ReturnError` implementation.
///
/// ```
/// use flame_auth::{AuthError, has_permission, require_actor_with_claims, AuthenticatedUser};
/// use flame_core::{Context, Flame};
///
/// let mut f = Flame::new();
/// f.get("/closed", || AuthError::forbidden("closed for maintenance"));
/// f.get("/drafts", |c: Context| -> Result<String, AuthError> {
///     let user = require_actor_with_claims::<AuthenticatedUser>(&c, &[&has_permission("drafts:read")])?;
///     Ok(format!("drafts of {}", user.shared_user().username))
/// });
/// ```
impl flame_core::Return for AuthError {
    fn into_reply(self) -> flame_core::Reply {
        flame_core::ReturnError::into_error_reply(self)
    }
}

impl From<IdentityError> for AuthError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::WrongType {
                expected,
                actual,
                actual_type,
            } => Self::InvalidActorType {
                expected: expected.into(),
                actual,
                actual_type,
            },
            // IdentityError is non-exhaustive; a future variant is still a refusal of the actor.
            other => Self::forbidden(other.to_string()),
        }
    }
}

/// Why a token was refused. Shown in logs (through [`AuthError`]'s `Display`), never to
/// clients, except that an expired token has its own [`code`](AuthError::code).
///
/// ```
/// use flame_auth::TokenRejection;
///
/// assert_eq!(TokenRejection::Revoked.to_string(), "the session was revoked");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Longer than the configured maximum; refused before parsing.
    TooLarge {
        /// The token's length in bytes.
        len: usize,
        /// The maximum accepted.
        max: usize,
    },
    /// Not a token of the expected shape: bad base64, bad JSON, wrong number of parts.
    Malformed,
    /// Signed with another algorithm than the pinned one, or `alg: none`.
    UnsupportedAlgorithm,
    /// The signature does not match.
    BadSignature,
    /// Past its expiry (beyond the leeway).
    Expired,
    /// Before its `nbf` (beyond the leeway).
    NotYetValid,
    /// The `iss` claim is not the configured issuer.
    WrongIssuer,
    /// The `aud` claim does not name the configured audience.
    WrongAudience,
    /// A required claim is missing.
    MissingClaim(String),
    /// The session was revoked.
    Revoked,
    /// No such session.
    Unknown,
    /// The `iat` claim is later than now plus the leeway: minted by a clock (or a forger)
    /// that is not to be trusted.
    IssuedInFuture,
    /// The token lives longer than the verifier's maximum.
    LifetimeTooLong {
        /// `exp` - `iat` (or `exp` - now).
        lifetime: std::time::Duration,
        /// The maximum accepted.
        max: std::time::Duration,
    },
    /// The header's `kid` names no key the verifier knows.
    UnknownKey(String),
    /// A refresh token presented after it was spent: a copy was stolen, so every refresh
    /// token of the user has been revoked.
    Reused,
    /// The request carries more than one `Authorization` header: which one a proxy or a
    /// cache looked at is anybody's guess, so neither is used.
    AmbiguousCredentials,
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "the token is {len} bytes long, more than the {max} accepted"
                )
            }
            Self::Malformed => f.write_str("the token is malformed"),
            Self::UnsupportedAlgorithm => f.write_str("the signing algorithm is not accepted"),
            Self::BadSignature => f.write_str("the signature does not match"),
            Self::Expired => f.write_str("the token has expired"),
            Self::NotYetValid => f.write_str("the token is not valid yet"),
            Self::WrongIssuer => f.write_str("the issuer is not accepted"),
            Self::WrongAudience => f.write_str("the audience is not accepted"),
            Self::MissingClaim(claim) => write!(f, "the `{claim}` claim is missing"),
            Self::Revoked => f.write_str("the session was revoked"),
            Self::Unknown => f.write_str("no such session"),
            Self::IssuedInFuture => f.write_str("the token was issued in the future"),
            Self::LifetimeTooLong { lifetime, max } => write!(
                f,
                "the token lives {}s, more than the {}s accepted",
                lifetime.as_secs(),
                max.as_secs()
            ),
            Self::Reused => f.write_str("the refresh token was already used"),
            Self::UnknownKey(kid) => write!(f, "no key with the id {kid:?}"),
            Self::AmbiguousCredentials => {
                f.write_str("the request has more than one Authorization header")
            }
        }
    }
}

impl From<TokenRejection> for AuthError {
    fn from(rejection: TokenRejection) -> Self {
        Self::InvalidToken(rejection)
    }
}
