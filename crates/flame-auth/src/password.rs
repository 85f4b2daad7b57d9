//! Password hashing with Argon2id for a login endpoint: [`hash_password`],
//! [`verify_password`].
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) that carry their own
//! parameters, so raising the cost later still verifies old hashes.
//!
//! A login endpoint should answer "wrong user" and "wrong password" alike, in the same time:
//! when no user has the name, still run [`verify_password`] against a hash of a throwaway
//! password, and return [`AuthError::InvalidCredentials`] in both cases.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

use crate::AuthError;

/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Argon2id cost parameters.
///
/// ```
/// use flame_auth::password::PasswordParams;
///
/// let params = PasswordParams::default();
/// assert_eq!((params.memory_kib, params.iterations, params.parallelism), (19 * 1024, 2, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory per hash in KiB (default 19 MiB, the OWASP recommendation).
    pub memory_kib: u32,
    /// Passes over the memory (default 2).
    pub iterations: u32,
    /// Lanes (default 1).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl PasswordParams {
    fn hasher(&self) -> Result<Argon2<'static>, AuthError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|err| AuthError::Configuration(format!("argon2 parameters: {err}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

fn check_len(password: &str) -> Result<(), AuthError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(AuthError::InvalidInput(
            format!("a password may be at most {MAX_PASSWORD_LEN} bytes long").into(),
        ));
    }
    Ok(())
}

/// Hashes `password` with Argon2id, the default parameters and a fresh random salt.
///
/// # Errors
///
/// [`AuthError::InvalidInput`] for a password over [`MAX_PASSWORD_LEN`];
/// [`AuthError::Internal`] if hashing fails.
///
/// ```
/// use flame_auth::password::{hash_password, verify_password};
///
/// let hash = hash_password("correct horse battery staple").unwrap();
/// assert!(hash.starts_with("$argon2id$"));
/// assert!(verify_password("correct horse battery staple", &hash).unwrap());
/// ```
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    hash_password_with(password, PasswordParams::default())
}

/// Hashes `password` with Argon2id and the given parameters.
///
/// # Errors
///
/// As [`hash_password`], and [`AuthError::Configuration`] for invalid parameters.
///
/// ```
/// use flame_auth::password::{hash_password_with, PasswordParams};
///
/// let cheap = PasswordParams { memory_kib: 64, iterations: 1, parallelism: 1 };
/// assert!(hash_password_with("pw", cheap).unwrap().contains("m=64,t=1,p=1"));
/// ```
pub fn hash_password_with(password: &str, params: PasswordParams) -> Result<String, AuthError> {
    check_len(password)?;
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|err| AuthError::Internal(format!("argon2 salt: {err}")))?;
    params
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AuthError::Internal(format!("argon2: {err}")))
}

/// Whether `password` matches `hash` (a PHC string from [`hash_password`]); the check takes
/// the hash's own parameters.
///
/// # Errors
///
/// [`AuthError::Internal`] when `hash` is not a readable PHC string (a corrupt record, not
/// a wrong password). A password over [`MAX_PASSWORD_LEN`] is simply `Ok(false)`.
///
/// ```
/// use flame_auth::password::{hash_password_with, verify_password, PasswordParams};
///
/// let cheap = PasswordParams { memory_kib: 64, iterations: 1, parallelism: 1 };
/// let hash = hash_password_with("right", cheap).unwrap();
/// assert!(verify_password("right", &hash).unwrap());
/// assert!(!verify_password("wrong", &hash).unwrap());
/// assert!(verify_password("right", "not a hash").is_err());
/// ```
pub fn verify_password(password: &str, hash: &str) -> Result<bool, AuthError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|err| AuthError::Internal(format!("stored password hash unreadable: {err}")))?;
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(err) => Err(AuthError::Internal(format!("argon2: {err}"))),
    }
}

/// Runs Argon2 work off the async workers with a bound on how much runs at once.
///
/// Each Argon2id hash or verification takes about 19 MiB and a core for tens of
/// milliseconds: 24 logins at once took a server from 425 to 806 MiB. The pool lets
/// `max_concurrent` of them run (one per core by default) and queues the rest, so memory
/// and CPU stay bounded whatever the number of logins in flight.
///
/// ```
/// use flame_auth::password::{hash_password, PasswordHashing};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hashing = PasswordHashing::new(2);
/// let hash = hashing.hash("correct horse battery staple").await.unwrap();
/// assert!(hashing.verify("correct horse battery staple", &hash).await.unwrap());
/// assert!(hashing.peak() <= 2);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PasswordHashing {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    max: usize,
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for PasswordHashing {
    /// One hash at a time per available core.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
    }
}

impl PasswordHashing {
    /// A pool that runs at most `max_concurrent` hashes at once (at least 1).
    ///
    /// ```
    /// use flame_auth::password::PasswordHashing;
    ///
    /// assert_eq!(PasswordHashing::new(0).max_concurrent(), 1);
    /// ```
    pub fn new(max_concurrent: usize) -> Self {
        let max = max_concurrent.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(max)),
            max,
            in_flight: std::sync::Arc::default(),
            peak: std::sync::Arc::default(),
        }
    }

    /// The bound.
    ///
    /// ```
    /// use flame_auth::password::PasswordHashing;
    ///
    /// assert_eq!(PasswordHashing::new(3).max_concurrent(), 3);
    /// ```
    pub fn max_concurrent(&self) -> usize {
        self.max
    }

    /// The most hashes that ever ran at once in this pool (for tests and metrics).
    ///
    /// ```
    /// use flame_auth::password::PasswordHashing;
    ///
    /// assert_eq!(PasswordHashing::new(3).peak(), 0);
    /// ```
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `work` (Argon2, or anything that calls it) on the blocking pool once a permit is
    /// free.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when the work panicked.
    ///
    /// ```
    /// use flame_auth::password::{verify_password, PasswordHashing};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let hashing = PasswordHashing::new(1);
    /// let hash = hashing.hash("pw").await.unwrap();
    /// let ok = hashing.run(move || verify_password("pw", &hash)).await.unwrap().unwrap();
    /// assert!(ok);
    /// # }
    /// ```
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        use std::sync::atomic::Ordering;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|err| AuthError::Internal(format!("password hashing pool: {err}")))?;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(work).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result.map_err(|err| AuthError::Internal(format!("password hashing: {err}")))
    }

    /// [`hash_password`] in the pool.
    ///
    /// # Errors
    ///
    /// As [`hash_password`].
    ///
    /// ```
    /// use flame_auth::password::PasswordHashing;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert!(PasswordHashing::new(1).hash("pw").await.unwrap().starts_with("$argon2id$"));
    /// # }
    /// ```
    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await?
    }

    /// [`verify_password`] in the pool.
    ///
    /// # Errors
    ///
    /// As [`verify_password`].
    ///
    /// ```
    /// use flame_auth::password::PasswordHashing;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let hashing = PasswordHashing::new(1);
    /// let hash = hashing.hash("pw").await.unwrap();
    /// assert!(!hashing.verify("nope", &hash).await.unwrap());
    /// # }
    /// ```
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, AuthError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || verify_password(&password, &hash)).await?
    }
}

/// The shortest password a [`PasswordPolicy`] accepts by default: 12 characters.
pub const DEFAULT_MIN_PASSWORD_CHARS: usize = 12;

/// What a new password must satisfy: a minimum length (in characters), not in a list of
/// common passwords, and any checks of the application's own (NIST SP 800-63B: length and
/// a blocklist, no composition rules).
///
/// ```
/// use flame_auth::password::PasswordPolicy;
///
/// let policy = PasswordPolicy::default()
///     .common_passwords(["password1234", "qwertyuiop123"])
///     .check_with(|password, username| {
///         if password.to_lowercase().contains(&username.to_lowercase()) {
///             Err("a password must not contain the user name".into())
///         } else {
///             Ok(())
///         }
///     });
/// assert_eq!(policy.check("short", "ada").unwrap_err().code(), "weak_password");
/// assert!(policy.check("Password1234", "ada").is_err());
/// assert!(policy.check("ada-is-my-password", "ada").is_err());
/// assert!(policy.check("correct horse battery staple", "ada").is_ok());
/// ```
#[derive(Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    common: std::sync::Arc<std::collections::HashSet<String>>,
    checks: Vec<std::sync::Arc<PasswordCheck>>,
}

/// An application's own password check: `(password, username)` to a reason for refusal.
type PasswordCheck = dyn Fn(&str, &str) -> Result<(), std::borrow::Cow<'static, str>> + Send + Sync;

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: DEFAULT_MIN_PASSWORD_CHARS,
            common: std::sync::Arc::default(),
            checks: Vec::new(),
        }
    }
}

impl PasswordPolicy {
    /// The minimum length in characters ([`DEFAULT_MIN_PASSWORD_CHARS`] unless set).
    ///
    /// ```
    /// use flame_auth::password::PasswordPolicy;
    ///
    /// assert!(PasswordPolicy::default().min_chars(4).check("abcd", "ada").is_ok());
    /// ```
    pub fn min_chars(mut self, min: usize) -> Self {
        self.min_chars = min;
        self
    }

    /// Refuses these passwords (compared case-insensitively), e.g. a list of the most
    /// common leaked passwords loaded at startup.
    ///
    /// ```
    /// use flame_auth::password::PasswordPolicy;
    ///
    /// let policy = PasswordPolicy::default().common_passwords(["iloveyou1234"]);
    /// assert!(policy.check("ILoveYou1234", "ada").is_err());
    /// ```
    pub fn common_passwords<I, S>(mut self, passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut common = (*self.common).clone();
        common.extend(passwords.into_iter().map(|p| p.as_ref().to_lowercase()));
        self.common = std::sync::Arc::new(common);
        self
    }

    /// Adds a check of the application's own; its message reaches the user.
    ///
    /// ```
    /// use flame_auth::password::PasswordPolicy;
    ///
    /// let policy = PasswordPolicy::default().check_with(|pw, _| {
    ///     if pw.chars().all(|c| c.is_ascii_digit()) { Err("not only digits".into()) } else { Ok(()) }
    /// });
    /// assert!(policy.check("123456789012", "ada").is_err());
    /// ```
    pub fn check_with(
        mut self,
        check: impl Fn(&str, &str) -> Result<(), std::borrow::Cow<'static, str>> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(std::sync::Arc::new(check));
        self
    }

    /// Checks a new `password` for `username`.
    ///
    /// # Errors
    ///
    /// [`AuthError::WeakPassword`] with the reason, or [`AuthError::InvalidInput`] for a
    /// password over [`MAX_PASSWORD_LEN`] bytes.
    ///
    /// ```
    /// use flame_auth::password::PasswordPolicy;
    ///
    /// assert!(PasswordPolicy::default().check("eleven char", "ada").is_err());
    /// ```
    pub fn check(&self, password: &str, username: &str) -> Result<(), AuthError> {
        check_len(password)?;
        if password.chars().count() < self.min_chars {
            return Err(AuthError::WeakPassword(
                format!("a password needs at least {} characters", self.min_chars).into(),
            ));
        }
        if self.common.contains(&password.to_lowercase()) {
            return Err(AuthError::WeakPassword(
                "this password is among the most common ones".into(),
            ));
        }
        for check in &self.checks {
            check(password, username).map_err(AuthError::WeakPassword)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("common_passwords", &self.common.len())
            .field("checks", &self.checks.len())
            .finish()
    }
}
