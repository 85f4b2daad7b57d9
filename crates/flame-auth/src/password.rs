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
