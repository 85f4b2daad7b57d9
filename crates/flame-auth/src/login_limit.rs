//! [`LoginLimiter`]: failed sign-ins counted per account and per client address, with a
//! lockout answered by 429 and `Retry-After`.
//!
//! Checked before the password is hashed, so a locked-out guesser costs no Argon2 work.
//! The per-account limit stops a guesser spread over many addresses; the per-address limit
//! stops one address trying many accounts (and bounds how easily someone can lock other
//! people out: an account is locked for [`LoginLimits::lockout`], not for good).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::AuthError;

/// The limits of a [`LoginLimiter`], each with its default.
///
/// ```
/// use std::time::Duration;
/// use flame_auth::LoginLimits;
///
/// let limits = LoginLimits { per_account: 3, ..LoginLimits::default() };
/// assert_eq!(limits.per_ip, 20);
/// assert_eq!(limits.window, Duration::from_secs(15 * 60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures allowed for one account within `window` before it is locked: 5.
    pub per_account: u32,
    /// Failures allowed from one client address within `window` before it is locked: 20.
    pub per_ip: u32,
    /// How long failures are remembered: 15 minutes.
    pub window: Duration,
    /// How long a lockout lasts: 15 minutes.
    pub lockout: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(String),
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Counts failed sign-ins and locks accounts and client addresses out for a while.
///
/// In memory, per process: behind several instances each counts on its own (the limits then
/// multiply by the number of instances).
///
/// ```
/// use flame_auth::{LoginLimiter, LoginLimits};
///
/// let limiter = LoginLimiter::new(LoginLimits { per_account: 2, ..LoginLimits::default() });
/// for _ in 0..2 {
///     limiter.check("10.0.0.1", "ada").unwrap();
///     limiter.failed("10.0.0.1", "ada");
/// }
/// let err = limiter.check("10.0.0.2", "ada").unwrap_err();
/// assert_eq!(err.code(), "too_many_attempts");
/// assert!(limiter.check("10.0.0.1", "bob").is_ok());
/// ```
#[derive(Clone)]
pub struct LoginLimiter {
    limits: LoginLimits,
    entries: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    swept_at: usize,
}

impl LoginLimiter {
    /// A limiter with `limits`.
    ///
    /// ```
    /// use flame_auth::{LoginLimiter, LoginLimits};
    ///
    /// let limiter = LoginLimiter::new(LoginLimits::default());
    /// assert!(limiter.check("10.0.0.1", "ada").is_ok());
    /// ```
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            entries: Arc::default(),
        }
    }

    /// Whether `account` may try to sign in from `address` now.
    ///
    /// # Errors
    ///
    /// [`AuthError::TooManyAttempts`] with the time left on the longer of the two lockouts.
    ///
    /// ```
    /// use flame_auth::{LoginLimiter, LoginLimits};
    ///
    /// let limiter = LoginLimiter::new(LoginLimits { per_ip: 1, ..LoginLimits::default() });
    /// limiter.failed("10.0.0.1", "ada");
    /// assert!(limiter.check("10.0.0.1", "bob").is_err());
    /// ```
    pub fn check(&self, address: &str, account: &str) -> Result<(), AuthError> {
        let now = Instant::now();
        let entries = self.entries.lock();
        let left = [
            Key::Account(account.to_owned()),
            Key::Address(address.to_owned()),
        ]
        .iter()
        .filter_map(|key| entries.map.get(key)?.locked_until)
        .filter_map(|until| until.checked_duration_since(now))
        .max();
        match left {
            Some(retry_after) if !retry_after.is_zero() => {
                tracing::debug!(
                    account,
                    address,
                    ?retry_after,
                    "sign-in refused: locked out"
                );
                Err(AuthError::TooManyAttempts { retry_after })
            }
            _ => Ok(()),
        }
    }

    /// Records a failed sign-in of `account` from `address`.
    ///
    /// ```
    /// use flame_auth::{LoginLimiter, LoginLimits};
    ///
    /// let limiter = LoginLimiter::new(LoginLimits { per_account: 1, ..LoginLimits::default() });
    /// limiter.failed("10.0.0.1", "ada");
    /// assert!(limiter.check("10.0.0.1", "ada").is_err());
    /// ```
    pub fn failed(&self, address: &str, account: &str) {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        entries.sweep(now, self.limits);
        for (key, limit) in [
            (Key::Account(account.to_owned()), self.limits.per_account),
            (Key::Address(address.to_owned()), self.limits.per_ip),
        ] {
            let entry = entries.map.entry(key).or_insert(Entry {
                failures: 0,
                since: now,
                locked_until: None,
            });
            if now.duration_since(entry.since) > self.limits.window {
                *entry = Entry {
                    failures: 0,
                    since: now,
                    locked_until: None,
                };
            }
            entry.failures += 1;
            if entry.failures >= limit {
                entry.locked_until = Some(now + self.limits.lockout);
                tracing::info!(
                    account,
                    address,
                    "sign-ins locked out after repeated failures"
                );
            }
        }
    }

    /// Records a successful sign-in: the account's failures are forgotten (the address's are
    /// not, or one good account would launder an address's guesses).
    ///
    /// ```
    /// use flame_auth::{LoginLimiter, LoginLimits};
    ///
    /// let limiter = LoginLimiter::new(LoginLimits { per_account: 2, ..LoginLimits::default() });
    /// limiter.failed("10.0.0.1", "ada");
    /// limiter.succeeded("ada");
    /// limiter.failed("10.0.0.1", "ada");
    /// assert!(limiter.check("10.0.0.1", "ada").is_ok());
    /// ```
    pub fn succeeded(&self, account: &str) {
        self.entries
            .lock()
            .map
            .remove(&Key::Account(account.to_owned()));
    }
}

impl Entries {
    /// Drops entries whose window and lockout are over, once the map has doubled since the
    /// last sweep: memory stays proportional to recent failures, at O(1) per failure on
    /// average.
    fn sweep(&mut self, now: Instant, limits: LoginLimits) {
        if self.map.len() < (2 * self.swept_at).max(1024) {
            return;
        }
        self.map.retain(|_, entry| {
            now.duration_since(entry.since) <= limits.window
                || entry.locked_until.is_some_and(|until| until > now)
        });
        self.swept_at = self.map.len();
    }
}

impl fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("limits", &self.limits)
            .field("tracked", &self.entries.lock().map.len())
            .finish()
    }
}
