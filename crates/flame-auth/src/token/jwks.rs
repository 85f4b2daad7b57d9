//! Several signing keys at once, picked by the token's `kid`: key rotation for the tokens
//! you issue ([`JwtKeySet::key`]) and verification of another issuer's tokens from its
//! JWK Set document (RFC 7517), read from a file or a URL, cached and refreshed
//! ([`JwtKeySet::jwks`]).
//!
//! Each key verifies with the one algorithm it was published for (RS256, ES256 or EdDSA;
//! symmetric keys in a JWK Set are ignored, a public document cannot hold a shared secret),
//! so a token cannot choose its algorithm by naming another key's `kid`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use parking_lot::RwLock;

use crate::jwt::{Expected, JwtAlgorithm, JwtVerifier};
use crate::token::{BoxFuture, DEFAULT_MAX_TOKEN_LEN, TokenVerifier, check_token_chars};
use crate::{AuthError, AuthenticatedUser, TokenRejection};

/// How often a fetched JWK Set is fetched again by default: 10 minutes.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(10 * 60);

/// The shortest time between two fetches by default, even for tokens naming an unknown
/// `kid` (30 seconds): a stream of made-up key ids cannot make the server hammer the
/// issuer.
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// The largest JWK Set document accepted: 1 MiB.
const MAX_JWKS_LEN: usize = 1024 * 1024;

/// Where a JWK Set document comes from.
///
/// A URL is fetched with reqwest: `http://` works as built, `https://` needs a TLS feature
/// of reqwest enabled by the application (`reqwest = { version = "0.12", features =
/// ["rustls-tls"] }`; Cargo unifies the features). Fetch keys over plain HTTP only from a
/// trusted network: whoever can change the document can sign tokens.
///
/// ```
/// use flame_auth::jwks::JwksSource;
///
/// let file = JwksSource::file("tests/keys/jwks.json");
/// let url = JwksSource::url("https://id.example/.well-known/jwks.json");
/// # let _ = (file, url);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksSource {
    /// A file on disk.
    File(PathBuf),
    /// A URL, fetched with GET.
    Url(String),
}

impl JwksSource {
    /// A file on disk.
    ///
    /// ```
    /// use flame_auth::jwks::JwksSource;
    ///
    /// assert_eq!(JwksSource::file("keys.json"), JwksSource::File("keys.json".into()));
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// A URL.
    ///
    /// ```
    /// use flame_auth::jwks::JwksSource;
    ///
    /// assert_eq!(JwksSource::url("http://127.0.0.1/jwks"), JwksSource::Url("http://127.0.0.1/jwks".into()));
    /// ```
    pub fn url(url: impl Into<String>) -> Self {
        Self::Url(url.into())
    }

    async fn fetch(&self) -> Result<Vec<u8>, AuthError> {
        let fail = |what: String| AuthError::Internal(format!("fetching the JWK Set: {what}"));
        let bytes = match self {
            Self::File(path) => tokio::fs::read(path)
                .await
                .map_err(|err| fail(format!("{}: {err}", path.display())))?,
            Self::Url(url) => {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|err| fail(err.to_string()))?;
                let response = client
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|err| fail(format!("{url}: {err}")))?;
                response
                    .bytes()
                    .await
                    .map_err(|err| fail(format!("{url}: {err}")))?
                    .to_vec()
            }
        };
        if bytes.len() > MAX_JWKS_LEN {
            return Err(fail(format!(
                "{} bytes, more than {MAX_JWKS_LEN}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

type Configure = dyn Fn(JwtVerifier) -> JwtVerifier + Send + Sync;

/// Verifies JWTs with the key their header's `kid` names.
///
/// Rotation of your own keys: sign with the current key ([`JwtIssuer::key_id`]), keep the
/// previous key in the set until the last token it signed has expired, then drop it.
///
/// ```
/// use flame_auth::jwks::JwtKeySet;
/// use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
/// use flame_auth::User;
///
/// let (old, new) = ([1; 32], [2; 32]);
/// let expected = || Expected::new("https://id.example", "api");
/// let keys = JwtKeySet::new()
///     .key("2026-11", JwtVerifier::hs256(&old, expected()).unwrap())
///     .key("2026-12", JwtVerifier::hs256(&new, expected()).unwrap());
/// let issue = |secret: &[u8], kid: &str| {
///     JwtIssuer::hs256(secret).unwrap().key_id(kid).issuer("https://id.example").audience("api")
///         .issue(&User::new("u1", "ada")).unwrap()
/// };
/// assert!(keys.verify_sync(&issue(&new, "2026-12")).is_ok());
/// assert!(keys.verify_sync(&issue(&old, "2026-11")).is_ok());
/// assert!(keys.verify_sync(&issue(&old, "2026-12")).is_err()); // the kid picks the key
/// ```
///
/// [`JwtIssuer::key_id`]: crate::jwt::JwtIssuer::key_id
#[derive(Clone)]
pub struct JwtKeySet {
    fixed: Arc<HashMap<String, JwtVerifier>>,
    fetched: Arc<RwLock<Arc<HashMap<String, JwtVerifier>>>>,
    remote: Option<Arc<Remote>>,
}

struct Remote {
    source: JwksSource,
    expected: Expected,
    configure: Arc<Configure>,
    refresh_every: Duration,
    min_refresh: Duration,
    last_fetch: RwLock<Instant>,
    /// One fetch at a time; the others go on with the cached keys.
    fetching: tokio::sync::Mutex<()>,
}

impl Default for JwtKeySet {
    fn default() -> Self {
        Self::new()
    }
}

impl JwtKeySet {
    /// An empty set; add keys with [`key`](JwtKeySet::key).
    ///
    /// ```
    /// use flame_auth::jwks::JwtKeySet;
    ///
    /// assert!(JwtKeySet::new().key_ids().is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            fixed: Arc::default(),
            fetched: Arc::default(),
            remote: None,
        }
    }

    /// Adds the verifier of key `kid` (it keeps its own algorithm, issuer and audience).
    ///
    /// ```
    /// use flame_auth::jwks::JwtKeySet;
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let keys = JwtKeySet::new().key("k1", JwtVerifier::hs256(&[1; 32], Expected::unchecked()).unwrap());
    /// assert_eq!(keys.key_ids(), ["k1"]);
    /// ```
    pub fn key(mut self, kid: impl Into<String>, verifier: JwtVerifier) -> Self {
        Arc::make_mut(&mut self.fixed).insert(kid.into(), verifier);
        self
    }

    /// The keys of a JWK Set document, fetched now (so that a wrong URL fails at startup)
    /// and again every [`DEFAULT_JWKS_REFRESH`], or sooner for a token naming an unknown
    /// `kid` (at most once per [`DEFAULT_JWKS_MIN_REFRESH`]). A failed refresh keeps the
    /// keys it had.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the document cannot be fetched,
    /// [`AuthError::Configuration`] when it is not a JWK Set or holds no usable key.
    ///
    /// ```
    /// use flame_auth::jwks::{JwksSource, JwtKeySet};
    /// use flame_auth::jwt::Expected;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let keys = JwtKeySet::jwks(JwksSource::file("tests/keys/jwks.json"), Expected::unchecked()).await.unwrap();
    /// assert_eq!(keys.key_ids(), ["ec-2026", "ed-2026", "rsa-2026"]);
    /// # }
    /// ```
    pub async fn jwks(source: JwksSource, expected: Expected) -> Result<Self, AuthError> {
        Self::jwks_with(source, expected, |verifier| verifier).await
    }

    /// As [`jwks`](JwtKeySet::jwks), with `configure` applied to each key's verifier (a
    /// leeway, a maximum lifetime).
    ///
    /// # Errors
    ///
    /// As [`jwks`](JwtKeySet::jwks).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::jwks::{JwksSource, JwtKeySet};
    /// use flame_auth::jwt::Expected;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let source = JwksSource::file("tests/keys/jwks.json");
    /// let keys = JwtKeySet::jwks_with(source, Expected::unchecked(), |v| v.leeway(Duration::from_secs(5))).await.unwrap();
    /// # let _ = keys;
    /// # }
    /// ```
    pub async fn jwks_with(
        source: JwksSource,
        expected: Expected,
        configure: impl Fn(JwtVerifier) -> JwtVerifier + Send + Sync + 'static,
    ) -> Result<Self, AuthError> {
        let remote = Remote {
            source,
            expected,
            configure: Arc::new(configure),
            refresh_every: DEFAULT_JWKS_REFRESH,
            min_refresh: DEFAULT_JWKS_MIN_REFRESH,
            last_fetch: RwLock::new(Instant::now()),
            fetching: tokio::sync::Mutex::new(()),
        };
        let keys = remote.load().await?;
        Ok(Self {
            fixed: Arc::default(),
            fetched: Arc::new(RwLock::new(Arc::new(keys))),
            remote: Some(Arc::new(remote)),
        })
    }

    /// How often the document is fetched again, and the shortest time between two fetches.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_auth::jwks::{JwksSource, JwtKeySet};
    /// use flame_auth::jwt::Expected;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let keys = JwtKeySet::jwks(JwksSource::file("tests/keys/jwks.json"), Expected::unchecked()).await.unwrap()
    ///     .refresh(Duration::from_secs(3600), Duration::from_secs(60));
    /// # let _ = keys;
    /// # }
    /// ```
    pub fn refresh(mut self, every: Duration, at_least_apart: Duration) -> Self {
        if let Some(remote) = self.remote.take() {
            let remote = Remote {
                source: remote.source.clone(),
                expected: remote.expected.clone(),
                configure: remote.configure.clone(),
                refresh_every: every,
                min_refresh: at_least_apart,
                last_fetch: RwLock::new(*remote.last_fetch.read()),
                fetching: tokio::sync::Mutex::new(()),
            };
            self.remote = Some(Arc::new(remote));
        }
        self
    }

    /// The key ids known now, sorted.
    ///
    /// ```
    /// use flame_auth::jwks::JwtKeySet;
    ///
    /// assert!(JwtKeySet::default().key_ids().is_empty());
    /// ```
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .fixed
            .keys()
            .chain(self.fetched.read().keys())
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Verifies `token` with the keys known now, without fetching.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`]: no `kid`, an unknown `kid`, or the key's verifier's
    /// refusal.
    ///
    /// ```
    /// use flame_auth::jwks::JwtKeySet;
    ///
    /// assert_eq!(JwtKeySet::new().verify_sync("a.b.c").unwrap_err().code(), "invalid_token");
    /// ```
    pub fn verify_sync(&self, token: &str) -> Result<AuthenticatedUser, AuthError> {
        let kid = key_id(token)?;
        self.verifier(&kid)
            .ok_or_else(|| TokenRejection::UnknownKey(kid).into())
            .and_then(|verifier| verifier.verify_sync(token))
    }

    fn verifier(&self, kid: &str) -> Option<JwtVerifier> {
        if let Some(verifier) = self.fixed.get(kid) {
            return Some(verifier.clone());
        }
        self.fetched.read().get(kid).cloned()
    }

    async fn verify_token(&self, token: &str) -> Result<AuthenticatedUser, AuthError> {
        let kid = key_id(token)?;
        if let Some(remote) = &self.remote {
            let stale = remote.last_fetch.read().elapsed() >= remote.refresh_every;
            let unknown = self.verifier(&kid).is_none();
            if stale || unknown {
                self.refetch(remote).await;
            }
        }
        match self.verifier(&kid) {
            Some(verifier) => verifier.verify_sync(token),
            None => Err(TokenRejection::UnknownKey(kid).into()),
        }
    }

    async fn refetch(&self, remote: &Remote) {
        let Ok(_fetching) = remote.fetching.try_lock() else {
            return; // someone else is fetching; go on with the keys we have
        };
        if remote.last_fetch.read().elapsed() < remote.min_refresh {
            return;
        }
        *remote.last_fetch.write() = Instant::now();
        match remote.load().await {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), "JWK Set refreshed");
                *self.fetched.write() = Arc::new(keys);
            }
            Err(err) => {
                tracing::warn!(error = %err, "JWK Set refresh failed; keeping the keys we had")
            }
        }
    }
}

impl Remote {
    async fn load(&self) -> Result<HashMap<String, JwtVerifier>, AuthError> {
        let bytes = self.source.fetch().await?;
        let set: JwkSet = serde_json::from_slice(&bytes)
            .map_err(|err| AuthError::Configuration(format!("not a JWK Set: {err}")))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            match self.verifier(jwk) {
                Ok((kid, verifier)) => {
                    keys.insert(kid, verifier);
                }
                Err(why) => tracing::debug!(kid = ?jwk.common.key_id, why, "JWK skipped"),
            }
        }
        if keys.is_empty() {
            return Err(AuthError::Configuration(
                "the JWK Set holds no usable signing key (RS256, ES256 or EdDSA, with a kid)"
                    .into(),
            ));
        }
        Ok(keys)
    }

    fn verifier(&self, jwk: &Jwk) -> Result<(String, JwtVerifier), &'static str> {
        let kid = jwk.common.key_id.clone().ok_or("no kid")?;
        if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
            return Err("not a signing key");
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => JwtAlgorithm::Rs256,
            AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
                JwtAlgorithm::Es256
            }
            AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
                JwtAlgorithm::EdDsa
            }
            AlgorithmParameters::OctetKey(_) => return Err("a symmetric key in a public document"),
            _ => return Err("an unsupported curve"),
        };
        // A declared `alg` must agree with the key type: an RSA key declared HS256 is refused.
        if let Some(alg) = jwk.common.key_algorithm {
            // KeyAlgorithm's Debug is its JOSE name (RS256, ES256, EdDSA, ...).
            let declared =
                JwtAlgorithm::from_name(&format!("{alg:?}")).ok_or("an unsupported algorithm")?;
            if declared != implied {
                return Err("an alg that does not match the key type");
            }
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| "an unreadable key")?;
        let verifier = JwtVerifier::from_decoding_key(implied, key, self.expected.clone());
        Ok((kid, (self.configure)(verifier)))
    }
}

/// The `kid` of a token's header.
fn key_id(token: &str) -> Result<String, AuthError> {
    check_token_chars(token, DEFAULT_MAX_TOKEN_LEN)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
    header
        .kid
        .ok_or_else(|| TokenRejection::MissingClaim("kid".into()).into())
}

impl TokenVerifier for JwtKeySet {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthenticatedUser, AuthError>> {
        Box::pin(async move {
            let result = self.verify_token(token).await;
            if let Err(err) = &result {
                tracing::debug!(error = %err, "JWT refused by the key set");
            }
            result
        })
    }
}

impl fmt::Debug for JwtKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeySet")
            .field("key_ids", &self.key_ids())
            .field("source", &self.remote.as_ref().map(|r| &r.source))
            .finish()
    }
}
