//! JSON Web Tokens: [`JwtVerifier`] (algorithm pinned, `exp`/`nbf`/`iss`/`aud` checked) and
//! [`JwtIssuer`] (mints tokens at login).
//!
//! The verifier accepts exactly one algorithm, fixed by how it was built: `HS256` with a
//! shared secret, or `RS256`/`ES256` with a public key. The token's header never chooses:
//! `alg: none` and a token signed with another algorithm (the HS256-with-the-public-key
//! confusion attack) are refused before the signature is looked at.
//!
//! Claims: `sub` (the user id, required), `username` (or `preferred_username`),
//! `permissions` (an array of strings), `exp` (required), `nbf`, `iat`, `iss`, `aud`; every
//! other claim lands in [`User::claims`].

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;

use crate::token::{BoxFuture, DEFAULT_MAX_TOKEN_LEN, TokenVerifier, check_token_chars};
use crate::{AuthError, AuthenticatedUser, TokenRejection, User};

/// The shortest HS256 secret accepted: 32 bytes, the size of the hash (RFC 7518, 3.2).
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// The default clock leeway for `exp` and `nbf`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The default lifetime of an issued token: 15 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

/// Registered claims that never land in [`User::claims`].
const REGISTERED_CLAIMS: [&str; 10] = [
    "sub",
    "username",
    "permissions",
    "exp",
    "nbf",
    "iat",
    "iss",
    "aud",
    "jti",
    "preferred_username",
];

/// The signing algorithms flame accepts, one per verifier.
///
/// ```
/// use flame_auth::jwt::JwtAlgorithm;
///
/// assert_eq!(JwtAlgorithm::Es256.name(), "ES256");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl JwtAlgorithm {
    /// The algorithm's name in a JWT header.
    ///
    /// ```
    /// use flame_auth::jwt::JwtAlgorithm;
    ///
    /// assert_eq!(JwtAlgorithm::Hs256.name(), "HS256");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

fn check_secret(secret: &[u8]) -> Result<(), AuthError> {
    if secret.len() < MIN_HS256_SECRET_LEN {
        return Err(AuthError::Configuration(format!(
            "an HS256 secret must be at least {MIN_HS256_SECRET_LEN} bytes, this one has {}",
            secret.len()
        )));
    }
    Ok(())
}

fn key_error(what: &str, err: jsonwebtoken::errors::Error) -> AuthError {
    AuthError::Configuration(format!("cannot read the {what}: {err}"))
}

/// Verifies JWTs signed with one pinned algorithm.
///
/// ```
/// use flame_auth::jwt::{JwtIssuer, JwtVerifier};
/// use flame_auth::{User, UserActor};
///
/// let secret = b"an example secret that is 32+ bytes long";
/// let issuer = JwtIssuer::hs256(secret).unwrap().issuer("https://id.example").audience("api");
/// let verifier = JwtVerifier::hs256(secret).unwrap().issuer("https://id.example").audience("api");
///
/// let token = issuer.issue(&User::new("u1", "ada").with_permission("posts:write")).unwrap();
/// let actor = verifier.verify_sync(&token).unwrap();
/// assert_eq!(actor.user().username, "ada");
/// assert!(actor.user().has_permission("posts:write"));
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    algorithm: JwtAlgorithm,
    key: DecodingKey,
    validation: Validation,
    max_token_len: usize,
}

impl JwtVerifier {
    fn with_key(algorithm: JwtAlgorithm, key: DecodingKey) -> Self {
        let mut validation = Validation::new(algorithm.to_jsonwebtoken());
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = DEFAULT_LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            algorithm,
            key,
            validation,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }

    /// A verifier for HS256 tokens signed with `secret`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] for a secret shorter than [`MIN_HS256_SECRET_LEN`].
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// assert!(JwtVerifier::hs256(b"too short").is_err());
    /// assert!(JwtVerifier::hs256(&[7; 32]).is_ok());
    /// ```
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        check_secret(secret)?;
        Ok(Self::with_key(
            JwtAlgorithm::Hs256,
            DecodingKey::from_secret(secret),
        ))
    }

    /// A verifier for RS256 tokens, with the signer's RSA public key in PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an RSA public key.
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// assert!(JwtVerifier::rs256_pem(b"not a key").is_err());
    /// ```
    pub fn rs256_pem(public_key_pem: &[u8]) -> Result<Self, AuthError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem)
            .map_err(|err| key_error("RSA public key", err))?;
        Ok(Self::with_key(JwtAlgorithm::Rs256, key))
    }

    /// A verifier for ES256 tokens, with the signer's P-256 public key in PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an EC public key.
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// assert!(JwtVerifier::es256_pem(b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n").is_err());
    /// ```
    pub fn es256_pem(public_key_pem: &[u8]) -> Result<Self, AuthError> {
        let key = DecodingKey::from_ec_pem(public_key_pem)
            .map_err(|err| key_error("EC public key", err))?;
        Ok(Self::with_key(JwtAlgorithm::Es256, key))
    }

    /// Requires the `iss` claim to be `issuer`.
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32]).unwrap().issuer("https://id.example");
    /// # let _ = verifier;
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.validation.set_issuer(&[issuer.into()]);
        self.validation.required_spec_claims.insert("iss".into());
        self
    }

    /// Requires the `aud` claim to name `audience`. Without this, a token that has an `aud`
    /// claim is refused (RFC 7519, 4.1.3).
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32]).unwrap().audience("api");
    /// # let _ = verifier;
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validation.set_audience(&[audience.into()]);
        self.validation.required_spec_claims.insert("aud".into());
        self
    }

    /// The clock leeway for `exp` and `nbf`, whole seconds ([`DEFAULT_LEEWAY`] unless set).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32]).unwrap().leeway(Duration::from_secs(5));
    /// # let _ = verifier;
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// The longest token accepted, in bytes ([`DEFAULT_MAX_TOKEN_LEN`] unless set).
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    /// use flame_auth::{AuthError, TokenRejection};
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32]).unwrap().max_token_len(16);
    /// assert_eq!(
    ///     verifier.verify_sync("aaaaaaaa.bbbbbbbb.cccccccc").unwrap_err(),
    ///     AuthError::InvalidToken(TokenRejection::TooLarge { len: 26, max: 16 })
    /// );
    /// ```
    pub fn max_token_len(mut self, max: usize) -> Self {
        self.max_token_len = max;
        self
    }

    /// The pinned algorithm.
    ///
    /// ```
    /// use flame_auth::jwt::{JwtAlgorithm, JwtVerifier};
    ///
    /// assert_eq!(JwtVerifier::hs256(&[7; 32]).unwrap().algorithm(), JwtAlgorithm::Hs256);
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Verifies `token` now, without a runtime; [`TokenVerifier::verify`] calls this.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason.
    ///
    /// ```
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// let err = JwtVerifier::hs256(&[7; 32]).unwrap().verify_sync("garbage").unwrap_err();
    /// assert_eq!(err.code(), "invalid_token");
    /// ```
    pub fn verify_sync(&self, token: &str) -> Result<AuthenticatedUser, AuthError> {
        let result = self.decode(token);
        if let Err(err) = &result {
            tracing::debug!(algorithm = self.algorithm.name(), error = %err, "JWT refused");
        }
        result
    }

    fn decode(&self, token: &str) -> Result<AuthenticatedUser, AuthError> {
        check_token_chars(token, self.max_token_len)?;
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Err(TokenRejection::Malformed.into());
        }
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.key, &self.validation)
            .map_err(|err| self.rejection(token, err.kind()))?;
        let claims = data.claims;
        let Some(id) = claims.sub else {
            return Err(TokenRejection::MissingClaim("sub".into()).into());
        };
        let Some(exp) = claims.exp else {
            return Err(TokenRejection::MissingClaim("exp".into()).into());
        };
        let mut extra = claims.extra;
        for name in REGISTERED_CLAIMS {
            extra.remove(name);
        }
        let user = User {
            id,
            username: claims.username.unwrap_or_default(),
            permissions: claims.permissions,
            claims: extra,
        };
        Ok(AuthenticatedUser::new(user).expiring_at(UNIX_EPOCH + Duration::from_secs(exp)))
    }

    fn rejection(&self, token: &str, kind: &ErrorKind) -> AuthError {
        let rejection = match kind {
            ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            ErrorKind::ExpiredSignature => TokenRejection::Expired,
            ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
            ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
            ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => TokenRejection::MissingClaim(claim.clone()),
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::InvalidAlgorithmName => TokenRejection::UnsupportedAlgorithm,
            // A header naming an algorithm jsonwebtoken does not know (`none`) fails to parse;
            // say so rather than "malformed".
            _ if header_alg(token).is_some_and(|alg| alg != self.algorithm.name()) => {
                TokenRejection::UnsupportedAlgorithm
            }
            _ => TokenRejection::Malformed,
        };
        rejection.into()
    }
}

/// The `alg` named in a token's header, if the header is readable JSON.
fn header_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("leeway_secs", &self.validation.leeway)
            .field("max_token_len", &self.max_token_len)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
        let result = self.verify_sync(token);
        Box::pin(std::future::ready(result))
    }
}

#[derive(Deserialize)]
struct IncomingClaims {
    sub: Option<String>,
    #[serde(default, alias = "preferred_username")]
    username: Option<String>,
    #[serde(default)]
    permissions: BTreeSet<String>,
    exp: Option<u64>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// Mints JWTs for a login endpoint, signed with one algorithm.
///
/// Each token carries `sub` (the user id), `username`, `permissions`, `iat`, `nbf`, `exp`
/// (now + [`ttl`](JwtIssuer::ttl)), `iss` and `aud` when configured, and the user's other
/// [`claims`](User::claims) (registered claim names among them are skipped).
///
/// ```
/// use flame_auth::jwt::{JwtIssuer, JwtVerifier};
/// use flame_auth::User;
///
/// let pem = std::fs::read("tests/keys/ec_private.pem").unwrap();
/// let issuer = JwtIssuer::es256_pem(&pem).unwrap();
/// let token = issuer.issue(&User::new("u1", "ada")).unwrap();
/// let public = std::fs::read("tests/keys/ec_public.pem").unwrap();
/// assert!(JwtVerifier::es256_pem(&public).unwrap().verify_sync(&token).is_ok());
/// ```
#[derive(Clone)]
pub struct JwtIssuer {
    algorithm: JwtAlgorithm,
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
    ttl: Duration,
}

impl JwtIssuer {
    fn with_key(algorithm: JwtAlgorithm, key: EncodingKey) -> Self {
        Self {
            algorithm,
            key,
            issuer: None,
            audience: None,
            ttl: DEFAULT_TTL,
        }
    }

    /// Signs once at construction, so that a wrong key (a public key, a key of another
    /// type) is a startup error rather than a failed login.
    fn checked(algorithm: JwtAlgorithm, key: EncodingKey, what: &str) -> Result<Self, AuthError> {
        jsonwebtoken::crypto::sign(b"flame-auth key check", &key, algorithm.to_jsonwebtoken())
            .map_err(|err| key_error(what, err))?;
        Ok(Self::with_key(algorithm, key))
    }

    /// An issuer of HS256 tokens signed with `secret`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] for a secret shorter than [`MIN_HS256_SECRET_LEN`].
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// assert!(JwtIssuer::hs256(&[7; 32]).is_ok());
    /// assert!(JwtIssuer::hs256(b"short").is_err());
    /// ```
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        check_secret(secret)?;
        Ok(Self::with_key(
            JwtAlgorithm::Hs256,
            EncodingKey::from_secret(secret),
        ))
    }

    /// An issuer of RS256 tokens, with an RSA private key in PEM (PKCS#1 or PKCS#8).
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an RSA private key (the key is tried
    /// once here).
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// let pem = std::fs::read("tests/keys/rsa_private.pem").unwrap();
    /// assert!(JwtIssuer::rs256_pem(&pem).is_ok());
    /// ```
    pub fn rs256_pem(private_key_pem: &[u8]) -> Result<Self, AuthError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem)
            .map_err(|err| key_error("RSA private key", err))?;
        Self::checked(JwtAlgorithm::Rs256, key, "RSA private key")
    }

    /// An issuer of ES256 tokens, with a P-256 private key in PKCS#8 PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not a P-256 private key (the key is tried
    /// once here).
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// assert!(JwtIssuer::es256_pem(b"nope").is_err());
    /// ```
    pub fn es256_pem(private_key_pem: &[u8]) -> Result<Self, AuthError> {
        let key = EncodingKey::from_ec_pem(private_key_pem)
            .map_err(|err| key_error("EC private key", err))?;
        Self::checked(JwtAlgorithm::Es256, key, "EC private key")
    }

    /// Sets the `iss` claim.
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// let issuer = JwtIssuer::hs256(&[7; 32]).unwrap().issuer("https://id.example");
    /// # let _ = issuer;
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the `aud` claim.
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// let issuer = JwtIssuer::hs256(&[7; 32]).unwrap().audience("api");
    /// # let _ = issuer;
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long issued tokens live ([`DEFAULT_TTL`] unless set).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::jwt::JwtIssuer;
    ///
    /// let issuer = JwtIssuer::hs256(&[7; 32]).unwrap().ttl(Duration::from_secs(300));
    /// # let _ = issuer;
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// A token for `user`, valid from now for the configured ttl.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when signing fails.
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    /// use flame_auth::User;
    ///
    /// let token = JwtIssuer::hs256(&[7; 32]).unwrap().issue(&User::new("u1", "ada")).unwrap();
    /// assert_eq!(token.split('.').count(), 3);
    /// ```
    pub fn issue(&self, user: &User) -> Result<String, AuthError> {
        self.issue_at(user, SystemTime::now())
    }

    /// A token for `user` as if issued at `issued_at` (tests, clock control).
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when signing fails or `issued_at` is before 1970.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::jwt::{JwtIssuer, JwtVerifier};
    /// use flame_auth::User;
    ///
    /// let issuer = JwtIssuer::hs256(&[7; 32]).unwrap().ttl(Duration::from_secs(60));
    /// let stale = issuer.issue_at(&User::new("u1", "ada"), SystemTime::now() - Duration::from_secs(3600)).unwrap();
    /// let err = JwtVerifier::hs256(&[7; 32]).unwrap().verify_sync(&stale).unwrap_err();
    /// assert_eq!(err.code(), "token_expired");
    /// ```
    pub fn issue_at(&self, user: &User, issued_at: SystemTime) -> Result<String, AuthError> {
        let iat = issued_at
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AuthError::Internal("the issue time is before 1970".into()))?
            .as_secs();
        let exp = iat.saturating_add(self.ttl.as_secs());
        let mut claims = user.claims.clone();
        for name in REGISTERED_CLAIMS {
            claims.remove(name);
        }
        claims.insert("sub".into(), user.id.clone().into());
        claims.insert("username".into(), user.username.clone().into());
        claims.insert(
            "permissions".into(),
            user.permissions.iter().cloned().collect::<Vec<_>>().into(),
        );
        claims.insert("iat".into(), iat.into());
        claims.insert("nbf".into(), iat.into());
        claims.insert("exp".into(), exp.into());
        if let Some(issuer) = &self.issuer {
            claims.insert("iss".into(), issuer.clone().into());
        }
        if let Some(audience) = &self.audience {
            claims.insert("aud".into(), audience.clone().into());
        }
        jsonwebtoken::encode(
            &Header::new(self.algorithm.to_jsonwebtoken()),
            &claims,
            &self.key,
        )
        .map_err(|err| AuthError::Internal(format!("cannot sign the token: {err}")))
    }

    /// The algorithm tokens are signed with.
    ///
    /// ```
    /// use flame_auth::jwt::{JwtAlgorithm, JwtIssuer};
    ///
    /// assert_eq!(JwtIssuer::hs256(&[7; 32]).unwrap().algorithm(), JwtAlgorithm::Hs256);
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }
}

impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
