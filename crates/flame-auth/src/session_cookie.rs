//! [`SessionCookie`]: the name and attributes of the cookie that carries a session token,
//! one place for setting it at login and clearing it at sign-out.

use std::borrow::Cow;
use std::time::SystemTime;

use cookie::{Cookie, SameSite};

/// The session cookie: `HttpOnly`, `Path=/`, `SameSite=Lax`, `Secure` outside development
/// (configurable), optionally `__Host-` prefixed, and a `Max-Age` that matches the
/// server-side expiry, so the browser forgets the cookie when the server does.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use flame_auth::SessionCookie;
///
/// let cookie = SessionCookie::new("session").secure(true).host_prefix();
/// assert_eq!(cookie.name(), "__Host-session");
/// let set = cookie.issue("t0k3n", SystemTime::now() + Duration::from_secs(3600)).to_string();
/// assert!(set.starts_with("__Host-session=t0k3n;"), "{set}");
/// assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("Max-Age=3"), "{set}");
/// assert!(cookie.clear().to_string().contains("Max-Age=0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    name: Cow<'static, str>,
    secure: bool,
    host_prefix: bool,
    same_site: SameSite,
}

impl SessionCookie {
    /// The prefix browsers reserve for cookies that are `Secure`, `Path=/` and without a
    /// `Domain`, so a sibling subdomain cannot plant one.
    pub const HOST_PREFIX: &'static str = "__Host-";

    /// A cookie named `name`; `Secure` unless [`env`](flame_core::env()) is development.
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// assert_eq!(SessionCookie::new("flame_session").name(), "flame_session");
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            secure: flame_core::env() != flame_core::Env::Development,
            host_prefix: false,
            same_site: SameSite::Lax,
        }
    }

    /// Sets `Secure` (sent over HTTPS only). A `__Host-` cookie is always secure.
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// assert!(!SessionCookie::new("s").secure(false).is_secure());
    /// assert!(SessionCookie::new("s").secure(false).host_prefix().is_secure());
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Prefixes the name with `__Host-` (and makes the cookie `Secure`).
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// assert_eq!(SessionCookie::new("s").host_prefix().name(), "__Host-s");
    /// ```
    pub fn host_prefix(mut self) -> Self {
        self.host_prefix = true;
        self
    }

    /// The `SameSite` attribute (`Lax` unless set).
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// let set = SessionCookie::new("s").same_site(cookie::SameSite::Strict).clear().to_string();
    /// assert!(set.contains("SameSite=Strict"), "{set}");
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The cookie's full name, prefix included.
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// assert_eq!(SessionCookie::new("s").name(), "s");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        if self.host_prefix {
            Cow::Owned(format!("{}{}", Self::HOST_PREFIX, self.name))
        } else {
            self.name.clone()
        }
    }

    /// Whether the cookie is `Secure`.
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// assert!(SessionCookie::new("s").secure(true).is_secure());
    /// ```
    pub fn is_secure(&self) -> bool {
        self.secure || self.host_prefix
    }

    fn build(&self, value: String, max_age_secs: i64) -> Cookie<'static> {
        Cookie::build((self.name(), value))
            .path("/")
            .http_only(true)
            .secure(self.is_secure())
            .same_site(self.same_site)
            .max_age(cookie::time::Duration::seconds(max_age_secs))
            .build()
    }

    /// The `Set-Cookie` of a session token that the server keeps until `expires_at`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use flame_auth::SessionCookie;
    ///
    /// let set = SessionCookie::new("s").issue("t", SystemTime::now() + Duration::from_secs(60)).to_string();
    /// assert!(set.contains("Max-Age=60"), "{set}");
    /// ```
    pub fn issue(&self, token: &str, expires_at: SystemTime) -> Cookie<'static> {
        let left = expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        // Rounded up: the cookie outlives the session by under a second rather than being
        // dropped a second early.
        let left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        self.build(token.to_owned(), i64::try_from(left).unwrap_or(i64::MAX))
    }

    /// The `Set-Cookie` that makes the browser drop the cookie (empty, `Max-Age=0`, same
    /// name, path and prefix, or the browser would keep the old one).
    ///
    /// ```
    /// use flame_auth::SessionCookie;
    ///
    /// let set = SessionCookie::new("s").clear().to_string();
    /// assert!(set.starts_with("s=;") && set.contains("Max-Age=0"), "{set}");
    /// ```
    pub fn clear(&self) -> Cookie<'static> {
        self.build(String::new(), 0)
    }
}

impl From<&'static str> for SessionCookie {
    fn from(name: &'static str) -> Self {
        Self::new(name)
    }
}

impl From<String> for SessionCookie {
    fn from(name: String) -> Self {
        Self::new(name)
    }
}

impl From<Cow<'static, str>> for SessionCookie {
    fn from(name: Cow<'static, str>) -> Self {
        Self::new(name)
    }
}
