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
    /// EdDSA on Ed25519.
    EdDsa,
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
            Self::EdDsa => "EdDSA",
        }
    }

    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The algorithm named `name` in a JWT header or a JWK's `alg`, if flame accepts it.
    ///
    /// ```
    /// use flame_auth::jwt::JwtAlgorithm;
    ///
    /// assert_eq!(JwtAlgorithm::from_name("EdDSA"), Some(JwtAlgorithm::EdDsa));
    /// assert_eq!(JwtAlgorithm::from_name("none"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Hs256, Self::Rs256, Self::Es256, Self::EdDsa]
            .into_iter()
            .find(|alg| alg.name() == name)
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

/// An HS256 secret, from the environment or generated for one run.
///
/// [`from_env`](JwtSecret::from_env) is the rule for apps: in production and test a missing
/// or short secret refuses to start with a message naming the variable; in development a
/// missing one is replaced by a random secret for this run, with a warning (tokens do not
/// survive a restart). A secret in the source code is a secret everyone who read the
/// repository has, so there is no fallback constant.
///
/// ```
/// use flame_auth::jwt::JwtSecret;
/// use flame_core::Env;
///
/// let err = JwtSecret::resolve("FLAME_JWT_SECRET", None, Env::Production).unwrap_err();
/// assert!(err.to_string().contains("FLAME_JWT_SECRET is not set"));
/// assert!(JwtSecret::resolve("FLAME_JWT_SECRET", Some("short"), Env::Development).is_err());
///
/// let generated = JwtSecret::resolve("FLAME_JWT_SECRET", None, Env::Development).unwrap();
/// assert!(generated.is_generated());
/// assert_ne!(generated.as_bytes(), JwtSecret::generate().as_bytes());
/// ```
#[derive(Clone)]
pub struct JwtSecret {
    bytes: Vec<u8>,
    generated: bool,
}

impl JwtSecret {
    /// 32 random bytes, for this run only.
    ///
    /// ```
    /// use flame_auth::jwt::JwtSecret;
    ///
    /// assert_eq!(JwtSecret::generate().as_bytes().len(), 32);
    /// ```
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; MIN_HS256_SECRET_LEN];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self {
            bytes,
            generated: true,
        }
    }

    /// The secret of the environment variable `name`, in the current
    /// [`env`](flame_core::env()), by the rule of [`resolve`](JwtSecret::resolve).
    ///
    /// # Errors
    ///
    /// As [`resolve`](JwtSecret::resolve).
    ///
    /// ```no_run
    /// use flame_auth::jwt::JwtSecret;
    ///
    /// let secret = JwtSecret::from_env("FLAME_JWT_SECRET").expect("FLAME_JWT_SECRET");
    /// # let _ = secret;
    /// ```
    pub fn from_env(name: &str) -> Result<Self, AuthError> {
        let value = std::env::var(name).ok();
        Self::resolve(name, value.as_deref(), flame_core::env())
    }

    /// The secret `value` of the setting `name` in `env`: refused when short (anywhere) or
    /// missing (production, test); generated when missing in development.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] naming `name`.
    ///
    /// ```
    /// use flame_auth::jwt::JwtSecret;
    /// use flame_core::Env;
    ///
    /// let secret = JwtSecret::resolve("S", Some("a secret of at least thirty-two bytes"), Env::Test).unwrap();
    /// assert!(!secret.is_generated());
    /// ```
    pub fn resolve(
        name: &str,
        value: Option<&str>,
        env: flame_core::Env,
    ) -> Result<Self, AuthError> {
        match value {
            Some(value) if value.len() >= MIN_HS256_SECRET_LEN => Ok(Self {
                bytes: value.as_bytes().to_vec(),
                generated: false,
            }),
            Some(value) => Err(AuthError::Configuration(format!(
                "{name} is {} bytes long: an HS256 secret needs at least {MIN_HS256_SECRET_LEN} \
                 (e.g. `openssl rand -base64 48`)",
                value.len()
            ))),
            None if env == flame_core::Env::Development => {
                tracing::warn!(
                    "{name} is not set: signing with a random secret generated for this run \
                     (development only; tokens will not survive a restart)"
                );
                Ok(Self::generate())
            }
            None => Err(AuthError::Configuration(format!(
                "{name} is not set: refusing to start in {env} without a signing secret of at \
                 least {MIN_HS256_SECRET_LEN} bytes (e.g. `openssl rand -base64 48`)"
            ))),
        }
    }

    /// The secret's bytes, for [`JwtIssuer::hs256`] and [`JwtVerifier::hs256`].
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtSecret, JwtVerifier};
    ///
    /// let secret = JwtSecret::generate();
    /// assert!(JwtVerifier::hs256(secret.as_bytes(), Expected::unchecked()).is_ok());
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A key id for this secret, for [`JwtIssuer::key_id`] and a
    /// [`JwtKeySet`](crate::jwks::JwtKeySet): `hs-` and 16 hex digits of its SHA-256, stable
    /// across restarts, different for each secret, and telling nothing usable about it.
    ///
    /// ```
    /// use flame_auth::jwt::JwtSecret;
    /// use flame_core::Env;
    ///
    /// let secret = JwtSecret::resolve("S", Some("a secret of at least thirty-two bytes"), Env::Test).unwrap();
    /// assert!(secret.key_id().starts_with("hs-"));
    /// assert_eq!(secret.key_id().len(), 19);
    /// assert_ne!(secret.key_id(), JwtSecret::generate().key_id());
    /// ```
    pub fn key_id(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&self.bytes);
        format!("hs-{}", hex::encode(&digest[..8]))
    }

    /// Whether it was generated for this run rather than configured.
    ///
    /// ```
    /// use flame_auth::jwt::JwtSecret;
    ///
    /// assert!(JwtSecret::generate().is_generated());
    /// ```
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSecret")
            .field("len", &self.bytes.len())
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

fn key_error(what: &str, err: jsonwebtoken::errors::Error) -> AuthError {
    AuthError::Configuration(format!("cannot read the {what}: {err}"))
}

/// Verifies JWTs signed with one pinned algorithm.
///
/// ```
/// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
/// use flame_auth::{User, UserActor};
///
/// let secret = b"an example secret that is 32+ bytes long";
/// let issuer = JwtIssuer::hs256(secret).unwrap().issuer("https://id.example").audience("api");
/// let verifier = JwtVerifier::hs256(secret, Expected::new("https://id.example", "api")).unwrap();
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
    max_lifetime: Duration,
}

/// The longest lifetime accepted by default (`exp` - `iat`, or `exp` - now without `iat`):
/// 24 hours. A token minted to live for a year is a leaked key's best friend.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Which issuer and audience a [`JwtVerifier`] requires: part of its construction, so that
/// leaving them unchecked is a visible choice ([`Expected::unchecked`]) and not an omission.
///
/// ```
/// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
/// use flame_auth::User;
///
/// let secret = [7; 32];
/// let verifier = JwtVerifier::hs256(&secret, Expected::new("https://id.example", "api")).unwrap();
/// let elsewhere = JwtIssuer::hs256(&secret).unwrap().issuer("https://evil.example").audience("api");
/// let err = verifier.verify_sync(&elsewhere.issue(&User::new("u1", "ada")).unwrap()).unwrap_err();
/// assert_eq!(err.code(), "invalid_token");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    issuer: Option<String>,
    audience: Option<String>,
}

impl Expected {
    /// Requires `iss` to be `issuer` and `aud` to name `audience`.
    ///
    /// ```
    /// use flame_auth::jwt::Expected;
    ///
    /// let expected = Expected::new("https://id.example", "api");
    /// # let _ = expected;
    /// ```
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: Some(issuer.into()),
            audience: Some(audience.into()),
        }
    }

    /// Requires `iss` to be `issuer`; a token with an `aud` claim is refused (RFC 7519,
    /// 4.1.3: a recipient that does not identify itself with the audience must refuse).
    ///
    /// ```
    /// use flame_auth::jwt::Expected;
    ///
    /// let expected = Expected::issuer_only("https://id.example");
    /// # let _ = expected;
    /// ```
    pub fn issuer_only(issuer: impl Into<String>) -> Self {
        Self {
            issuer: Some(issuer.into()),
            audience: None,
        }
    }

    /// Opts out: any issuer, and tokens without an `aud` claim (one with `aud` is still
    /// refused). Only for a verifier whose key signs for nobody else.
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn unchecked() -> Self {
        Self {
            issuer: None,
            audience: None,
        }
    }
}

impl JwtVerifier {
    fn with_key(algorithm: JwtAlgorithm, key: DecodingKey, expected: Expected) -> Self {
        let mut validation = Validation::new(algorithm.to_jsonwebtoken());
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = DEFAULT_LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(issuer) = expected.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        if let Some(audience) = expected.audience {
            validation.set_audience(&[audience]);
            validation.required_spec_claims.insert("aud".into());
        }
        Self {
            algorithm,
            key,
            validation,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// A verifier for HS256 tokens signed with `secret`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] for a secret shorter than [`MIN_HS256_SECRET_LEN`].
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// assert!(JwtVerifier::hs256(b"too short", Expected::unchecked()).is_err());
    /// assert!(JwtVerifier::hs256(&[7; 32], Expected::unchecked()).is_ok());
    /// ```
    pub fn hs256(secret: &[u8], expected: Expected) -> Result<Self, AuthError> {
        check_secret(secret)?;
        Ok(Self::with_key(
            JwtAlgorithm::Hs256,
            DecodingKey::from_secret(secret),
            expected,
        ))
    }

    /// A verifier for RS256 tokens, with the signer's RSA public key in PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an RSA public key.
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// assert!(JwtVerifier::rs256_pem(b"not a key", Expected::unchecked()).is_err());
    /// ```
    pub fn rs256_pem(public_key_pem: &[u8], expected: Expected) -> Result<Self, AuthError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem)
            .map_err(|err| key_error("RSA public key", err))?;
        Ok(Self::with_key(JwtAlgorithm::Rs256, key, expected))
    }

    /// A verifier for ES256 tokens, with the signer's P-256 public key in PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an EC public key.
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// assert!(JwtVerifier::es256_pem(b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", Expected::unchecked()).is_err());
    /// ```
    pub fn es256_pem(public_key_pem: &[u8], expected: Expected) -> Result<Self, AuthError> {
        let key = DecodingKey::from_ec_pem(public_key_pem)
            .map_err(|err| key_error("EC public key", err))?;
        Ok(Self::with_key(JwtAlgorithm::Es256, key, expected))
    }

    /// A verifier for EdDSA (Ed25519) tokens, with the signer's public key in PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an Ed25519 public key.
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_public.pem").unwrap();
    /// assert!(JwtVerifier::eddsa_pem(&pem, Expected::unchecked()).is_ok());
    /// ```
    pub fn eddsa_pem(public_key_pem: &[u8], expected: Expected) -> Result<Self, AuthError> {
        let key = DecodingKey::from_ed_pem(public_key_pem)
            .map_err(|err| key_error("Ed25519 public key", err))?;
        Ok(Self::with_key(JwtAlgorithm::EdDsa, key, expected))
    }

    /// A verifier for one key of a JWK Set (the key set decides the algorithm).
    pub(crate) fn from_decoding_key(
        algorithm: JwtAlgorithm,
        key: DecodingKey,
        expected: Expected,
    ) -> Self {
        Self::with_key(algorithm, key, expected)
    }

    /// The clock leeway for `exp`, `nbf` and `iat`, whole seconds ([`DEFAULT_LEEWAY`] unless
    /// set). It is the only leeway: the [`AuthenticatedUser`] a token becomes expires at
    /// `exp` + leeway, and every later check (validators, [`require_user`](crate::require_user),
    /// live WebSocket connections) compares that instant with the clock, without a leeway of
    /// its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().leeway(Duration::from_secs(5));
    /// # let _ = verifier;
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// The longest lifetime accepted ([`DEFAULT_MAX_LIFETIME`] unless set): `exp` - `iat`,
    /// or `exp` - now for a token without `iat`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
    /// use flame_auth::User;
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().max_lifetime(Duration::from_secs(3600));
    /// let long = JwtIssuer::hs256(&[7; 32]).unwrap().ttl(Duration::from_secs(7200));
    /// let err = verifier.verify_sync(&long.issue(&User::new("u1", "ada")).unwrap()).unwrap_err();
    /// assert_eq!(err.code(), "invalid_token");
    /// ```
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// The longest token accepted, in bytes ([`DEFAULT_MAX_TOKEN_LEN`] unless set).
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    /// use flame_auth::{AuthError, TokenRejection};
    ///
    /// let verifier = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().max_token_len(16);
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
    /// use flame_auth::jwt::{Expected, JwtAlgorithm, JwtVerifier};
    ///
    /// assert_eq!(JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().algorithm(), JwtAlgorithm::Hs256);
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
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let err = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().verify_sync("garbage").unwrap_err();
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let leeway = self.validation.leeway;
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(TokenRejection::IssuedInFuture.into());
        }
        let lifetime = exp.saturating_sub(claims.iat.unwrap_or(now));
        if lifetime > self.max_lifetime.as_secs() {
            return Err(TokenRejection::LifetimeTooLong {
                lifetime: Duration::from_secs(lifetime),
                max: self.max_lifetime,
            }
            .into());
        }
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
        // The leeway is applied once, here: the identity stops being accepted at exp + leeway,
        // and nothing downstream adds or forgets a leeway of its own.
        let until = UNIX_EPOCH + Duration::from_secs(exp.saturating_add(leeway));
        Ok(AuthenticatedUser::new(user).expiring_at(until))
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
            .field("max_lifetime", &self.max_lifetime)
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
    #[serde(default)]
    iat: Option<u64>,
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
/// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
/// use flame_auth::User;
///
/// let pem = std::fs::read("tests/keys/ec_private.pem").unwrap();
/// let issuer = JwtIssuer::es256_pem(&pem).unwrap();
/// let token = issuer.issue(&User::new("u1", "ada")).unwrap();
/// let public = std::fs::read("tests/keys/ec_public.pem").unwrap();
/// assert!(JwtVerifier::es256_pem(&public, Expected::unchecked()).unwrap().verify_sync(&token).is_ok());
/// ```
#[derive(Clone)]
pub struct JwtIssuer {
    algorithm: JwtAlgorithm,
    key: EncodingKey,
    key_id: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    ttl: Duration,
}

impl JwtIssuer {
    fn with_key(algorithm: JwtAlgorithm, key: EncodingKey) -> Self {
        Self {
            algorithm,
            key,
            key_id: None,
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

    /// An issuer of EdDSA tokens, with an Ed25519 private key in PKCS#8 PEM.
    ///
    /// # Errors
    ///
    /// [`AuthError::Configuration`] when the PEM is not an Ed25519 private key.
    ///
    /// ```
    /// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
    /// use flame_auth::User;
    ///
    /// let issuer = JwtIssuer::eddsa_pem(&std::fs::read("tests/keys/ed25519_private.pem").unwrap()).unwrap();
    /// let public = std::fs::read("tests/keys/ed25519_public.pem").unwrap();
    /// let verifier = JwtVerifier::eddsa_pem(&public, Expected::unchecked()).unwrap();
    /// assert!(verifier.verify_sync(&issuer.issue(&User::new("u1", "ada")).unwrap()).is_ok());
    /// ```
    pub fn eddsa_pem(private_key_pem: &[u8]) -> Result<Self, AuthError> {
        let key = EncodingKey::from_ed_pem(private_key_pem)
            .map_err(|err| key_error("Ed25519 private key", err))?;
        Self::checked(JwtAlgorithm::EdDsa, key, "Ed25519 private key")
    }

    /// Names the signing key in the token's header (`kid`), so that verifiers holding
    /// several keys ([`JwtKeySet`](crate::jwks::JwtKeySet)) pick the right one: the current
    /// key signs, older ones still verify until their tokens have expired.
    ///
    /// ```
    /// use flame_auth::jwt::JwtIssuer;
    /// use flame_auth::User;
    ///
    /// let token = JwtIssuer::hs256(&[7; 32]).unwrap().key_id("2026-12").issue(&User::new("u1", "ada")).unwrap();
    /// assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some("2026-12"));
    /// ```
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
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
    /// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
    /// use flame_auth::User;
    ///
    /// let issuer = JwtIssuer::hs256(&[7; 32]).unwrap().ttl(Duration::from_secs(60));
    /// let stale = issuer.issue_at(&User::new("u1", "ada"), SystemTime::now() - Duration::from_secs(3600)).unwrap();
    /// let err = JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap().verify_sync(&stale).unwrap_err();
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
        let mut header = Header::new(self.algorithm.to_jsonwebtoken());
        header.kid.clone_from(&self.key_id);
        jsonwebtoken::encode(&header, &claims, &self.key)
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
            .field("key_id", &self.key_id)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
