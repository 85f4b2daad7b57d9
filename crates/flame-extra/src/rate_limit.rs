//! Per-key rate limiting as middleware: a GCRA (a token bucket kept as one timestamp per
//! key), keyed by the client's IP or by anything a closure reads from the request.
//!
//! ```
//! use flame_core::Flame;
//! use flame_extra::rate_limit::{rate_limiter, RateLimit};
//!
//! let mut f = Flame::new();
//! // 10 requests a second per client IP, in bursts of up to 20.
//! f.use_(rate_limiter(RateLimit::per_second(10).burst(20)));
//! f.get("/", || "hello");
//! assert!(f.check().is_ok());
//! ```
//!
//! A request over the limit gets `429 Too Many Requests` through flame's error reply, with a
//! `Retry-After` header: the whole seconds (rounded up) until one more request would pass.
//! The chain stops there. A request within the limit goes on to the next handler.
//!
//! # Keys
//!
//! By default the key is the IP of the connection's peer (a request whose peer is unknown,
//! as in an in-process test without a socket, is not limited). Behind a reverse proxy every
//! request comes from the proxy: key on [`Context::remote_addr`] instead (it reads
//! `X-Real-IP` / `X-Forwarded-For`), but only when the proxy sets those headers, since a
//! client can send them itself and would get a fresh allowance with each made-up address.
//! [`RateLimit::key`] takes any closure over the [`Context`], for example a user id mapped by
//! an authentication middleware; a closure returning `None` lets the request through
//! unlimited by this limiter (combine it with an IP limiter for anonymous requests).
//!
//! # Memory
//!
//! The limiter keeps one entry per key it has seen, at most [`DEFAULT_MAX_KEYS`] (100,000,
//! by estimate some 150 bytes a key with IP keys) unless [`RateLimit::max_keys`] says otherwise. When a new key arrives and the
//! table is full, the stalest key (the one whose allowance refilled first) is forgotten; a
//! forgotten key whose allowance was already full loses nothing, and one still in debt gets
//! a fresh allowance, which only happens when more keys than the cap are active at once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flame_core::{BoxedHandler, Context, HttpError, ReturnError as _};
use parking_lot::Mutex;

/// The default cap on the keys a limiter tracks; see [`RateLimit::max_keys`].
pub const DEFAULT_MAX_KEYS: usize = 100_000;

type KeyFn = Arc<dyn Fn(&Context) -> Option<String> + Send + Sync>;

/// How many requests a key may make: a rate, a burst, and a cap on the keys tracked.
///
/// ```
/// use flame_core::Context;
/// use flame_extra::rate_limit::RateLimit;
///
/// // 100 requests a minute per user (mapped as a `String` by a sign-in middleware).
/// let limit = RateLimit::per_minute(100)
///     .burst(10)
///     .max_keys(10_000)
///     .key(|c: &Context| c.get::<String>());
/// ```
#[derive(Clone)]
pub struct RateLimit {
    gcra: Gcra,
    max_keys: usize,
    key: KeyFn,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("gcra", &self.gcra)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// `count` requests every `period` per key, in bursts of up to `count`; a `count` of 0
    /// is taken as 1 and a zero `period` as one nanosecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_extra::rate_limit::RateLimit;
    ///
    /// let limit = RateLimit::new(5, Duration::from_secs(10)); // one every 2 s, bursts of 5
    /// ```
    pub fn new(count: u32, period: Duration) -> Self {
        let count = count.max(1);
        let period = period.max(Duration::from_nanos(1));
        Self {
            gcra: Gcra::new(period / count, count),
            max_keys: DEFAULT_MAX_KEYS,
            key: Arc::new(|c: &Context| c.peer_addr().map(|addr| addr.ip().to_string())),
        }
    }

    /// `count` requests a second per key; see [`new`](Self::new).
    ///
    /// ```
    /// # use flame_extra::rate_limit::RateLimit;
    /// let limit = RateLimit::per_second(10);
    /// ```
    pub fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests a minute per key; see [`new`](Self::new).
    ///
    /// ```
    /// # use flame_extra::rate_limit::RateLimit;
    /// let limit = RateLimit::per_minute(60);
    /// ```
    pub fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests an hour per key; see [`new`](Self::new).
    ///
    /// ```
    /// # use flame_extra::rate_limit::RateLimit;
    /// let limit = RateLimit::per_hour(1000);
    /// ```
    pub fn per_hour(count: u32) -> Self {
        Self::new(count, Duration::from_secs(3600))
    }

    /// How many requests a key may make at once after a quiet time (by default the rate's
    /// count); 0 is taken as 1. The rate at which the allowance refills stays the same.
    ///
    /// ```
    /// # use flame_extra::rate_limit::RateLimit;
    /// let limit = RateLimit::per_second(1).burst(5);
    /// ```
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.gcra = Gcra::new(self.gcra.interval, burst.max(1));
        self
    }

    /// The most keys tracked at once (default [`DEFAULT_MAX_KEYS`]); 0 is taken as 1. When a
    /// new key would go over it, the stalest key is forgotten.
    ///
    /// ```
    /// # use flame_extra::rate_limit::RateLimit;
    /// let limit = RateLimit::per_second(10).max_keys(1_000);
    /// ```
    #[must_use]
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// What requests are counted by: the closure's key, or, when it returns `None`, nothing
    /// (the request is not limited). The default is the peer's IP.
    ///
    /// ```
    /// use flame_core::Context;
    /// use flame_extra::rate_limit::RateLimit;
    ///
    /// // Behind a proxy that sets X-Real-IP / X-Forwarded-For.
    /// let limit = RateLimit::per_second(10).key(|c: &Context| Some(c.remote_addr()));
    /// ```
    #[must_use]
    pub fn key<F>(mut self, key: F) -> Self
    where
        F: Fn(&Context) -> Option<String> + Send + Sync + 'static,
    {
        self.key = Arc::new(key);
        self
    }
}

/// The rate-limiting middleware: each request's key is charged one request; a key over its
/// limit is answered `429 Too Many Requests` with `Retry-After`. Use it app-wide, on a group
/// or on one route; each call makes a limiter of its own.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::rate_limit::{rate_limiter, RateLimit};
///
/// let mut f = Flame::new();
/// f.post("/login", (rate_limiter(RateLimit::per_minute(5)), || "signed in"));
/// assert!(f.check().is_ok());
/// ```
pub fn rate_limiter(limit: RateLimit) -> BoxedHandler {
    let key = limit.key.clone();
    let table = Arc::new(Mutex::new(KeyTable::new(limit.gcra, limit.max_keys)));
    BoxedHandler::new(move |c: Context| {
        let key = key(&c)?;
        let retry_after = table.lock().check(&key, Instant::now()).err()?;
        let seconds = whole_seconds_up(retry_after);
        tracing::debug!(%key, retry_after = seconds, "rate limit refused a request");
        Some(
            HttpError::too_many_requests(format!("rate limit exceeded: retry in {seconds} s"))
                .into_error_reply()
                .with_header("retry-after", &seconds.to_string()),
        )
    })
}

/// A wait rounded up to whole seconds, as `Retry-After` wants it.
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The generic cell rate algorithm: a key's state is its theoretical arrival time (TAT), the
/// time at which its allowance will be full again plus one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gcra {
    /// The time one request costs.
    interval: Duration,
    /// How far ahead of now a TAT may be and still let a request through: `burst - 1`
    /// intervals.
    tolerance: Duration,
}

impl Gcra {
    fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            tolerance: interval.saturating_mul(burst - 1),
        }
    }

    /// Charges one request at `now` to a key whose TAT is `tat` (`None` for a new key): the
    /// new TAT, or how long until the request would pass.
    fn check(&self, tat: Option<Instant>, now: Instant) -> Result<Instant, Duration> {
        let tat = tat.map_or(now, |tat| tat.max(now));
        let ahead = tat - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        Ok(tat + self.interval)
    }
}

/// Each key's TAT, with an index by TAT so that the stalest key is found in `O(log n)`.
#[derive(Debug)]
struct KeyTable {
    gcra: Gcra,
    max_keys: usize,
    tats: HashMap<String, Instant>,
    by_tat: BTreeSet<(Instant, String)>,
}

impl KeyTable {
    fn new(gcra: Gcra, max_keys: usize) -> Self {
        Self {
            gcra,
            max_keys,
            tats: HashMap::new(),
            by_tat: BTreeSet::new(),
        }
    }

    fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let old = self.tats.get(key).copied();
        let new = self.gcra.check(old, now)?;
        match old {
            Some(old) => {
                self.by_tat.remove(&(old, key.to_owned()));
            }
            None => {
                if self.tats.len() >= self.max_keys {
                    self.evict_stalest();
                }
            }
        }
        self.tats.insert(key.to_owned(), new);
        self.by_tat.insert((new, key.to_owned()));
        Ok(())
    }

    fn evict_stalest(&mut self) {
        if let Some((_, key)) = self.by_tat.pop_first() {
            self.tats.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_burst_passes_then_the_next_request_waits_one_interval() {
        let gcra = Gcra::new(SECOND, 3);
        let now = Instant::now();
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(gcra.check(tat, now).unwrap());
        }
        assert_eq!(gcra.check(tat, now), Err(SECOND));
        assert_eq!(gcra.check(tat, now + SECOND / 4), Err(SECOND * 3 / 4));
        assert!(gcra.check(tat, now + SECOND).is_ok());
    }

    #[test]
    fn the_allowance_refills_at_the_rate_and_no_further_than_the_burst() {
        let gcra = Gcra::new(SECOND, 2);
        let start = Instant::now();
        let tat = gcra.check(None, start).unwrap();
        let tat = gcra.check(Some(tat), start).unwrap();
        // An hour later: the allowance is full again, 2 requests, not 3600.
        let later = start + Duration::from_secs(3600);
        let tat = gcra.check(Some(tat), later).unwrap();
        let tat = gcra.check(Some(tat), later).unwrap();
        assert_eq!(gcra.check(Some(tat), later), Err(SECOND));
    }

    #[test]
    fn a_burst_of_one_spaces_requests_by_the_interval() {
        let gcra = Gcra::new(SECOND * 2, 1);
        let now = Instant::now();
        let tat = gcra.check(None, now).unwrap();
        assert_eq!(gcra.check(Some(tat), now + SECOND), Err(SECOND));
        assert!(gcra.check(Some(tat), now + SECOND * 2).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds_up(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds_up(SECOND), 1);
        assert_eq!(whole_seconds_up(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds_up(Duration::from_secs(3600)), 3600);
    }

    #[test]
    fn keys_are_limited_apart() {
        let mut table = KeyTable::new(Gcra::new(SECOND, 1), 10);
        let now = Instant::now();
        assert!(table.check("a", now).is_ok());
        assert!(table.check("a", now).is_err());
        assert!(table.check("b", now).is_ok());
    }

    #[test]
    fn a_full_table_forgets_its_stalest_key_and_stays_at_its_cap() {
        let mut table = KeyTable::new(Gcra::new(SECOND, 1), 3);
        let now = Instant::now();
        // "a" is the stalest: its allowance refills first.
        table.check("a", now).unwrap();
        table.check("b", now + SECOND).unwrap();
        table.check("c", now + SECOND * 2).unwrap();
        assert!(table.check("c", now + SECOND * 2).is_err());
        for (i, key) in ["d", "e", "f", "g"].into_iter().enumerate() {
            table.check(key, now + SECOND * 2).unwrap();
            assert_eq!(table.tats.len(), 3, "after {key}, {i}");
        }
        // "c" was forgotten among the stalest; "g" is remembered and still limited.
        assert!(table.check("g", now + SECOND * 2).is_err());
        assert_eq!(table.tats.len(), table.by_tat.len());
    }

    #[test]
    fn the_stalest_key_goes_first() {
        let mut table = KeyTable::new(Gcra::new(SECOND, 1), 2);
        let now = Instant::now();
        table.check("old", now).unwrap();
        table.check("recent", now + SECOND * 5).unwrap();
        table.check("new", now + SECOND * 5).unwrap();
        assert!(!table.tats.contains_key("old"));
        // "recent" is still remembered, so it is still limited.
        assert!(table.check("recent", now + SECOND * 5).is_err());
    }
}
