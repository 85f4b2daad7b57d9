//! Cross-origin resource sharing (flamego/cors) on tower-http's `CorsLayer`, with Flamego's
//! options and defaults.
//!
//! ```
//! use flame_core::Flame;
//! use flame_extra::cors::{self, Options};
//!
//! let mut f = Flame::new();
//! f.layer(cors::new(Options {
//!     allow_domain: vec!["app.example.com".into()],
//!     scheme: "https".into(),
//!     allow_credentials: true,
//!     ..Options::default()
//! }));
//! f.get("/api/items", || "[]");
//! ```
//!
//! The layer answers preflights (`OPTIONS` with `Access-Control-Request-Method`) by itself
//! with `200 OK`, an empty body and the allow headers, before routing: no `OPTIONS` route is
//! needed. Other requests from an allowed origin get
//! `Access-Control-Allow-Origin` (and `-Credentials` when allowed) on their answer; a
//! request from an origin that is not allowed is still handled, only without those headers,
//! so the browser keeps the answer from the page.

use std::time::Duration;

use http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The origins, methods and the rest that [`new`] allows; the defaults are Flamego's.
///
/// ```
/// use flame_extra::cors::Options;
///
/// let options = Options::default();
/// assert_eq!(options.allow_domain, ["*"]);
/// assert_eq!(options.max_age.as_secs(), 600);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// The scheme allowed origins use; default `http`. `*` allows any.
    pub scheme: String,
    /// The allowed domains (`host` or `host:port`); default `["*"]`, any origin.
    pub allow_domain: Vec<String>,
    /// Whether subdomains of [`allow_domain`](Self::allow_domain) are allowed too; default
    /// `false`.
    pub allow_subdomain: bool,
    /// The methods allowed; default `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`,
    /// `OPTIONS`.
    pub methods: Vec<Method>,
    /// How long a browser may cache a preflight's answer; default 10 minutes.
    pub max_age: Duration,
    /// Whether cookies and credentials may be sent (`Access-Control-Allow-Credentials`);
    /// default `false`. With `*` as the domain, the request's origin is echoed back, since
    /// browsers refuse `*` with credentials.
    pub allow_credentials: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scheme: "http".to_owned(),
            allow_domain: vec!["*".to_owned()],
            allow_subdomain: false,
            methods: vec![
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ],
            max_age: Duration::from_secs(600),
            allow_credentials: false,
        }
    }
}

/// A CORS layer for `options`. The request headers a preflight asks for are allowed (as
/// Flamego does).
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::cors::{self, Options};
///
/// let mut f = Flame::new();
/// f.layer(cors::new(Options { allow_domain: vec!["localhost:3000".into()], ..Options::default() }));
/// ```
pub fn new(options: Options) -> CorsLayer {
    let any_domain = options.allow_domain.iter().any(|d| d == "*");
    let allow_origin = match (any_domain, options.allow_credentials) {
        (true, false) => AllowOrigin::any(),
        (true, true) => AllowOrigin::mirror_request(),
        (false, _) => {
            let Options {
                scheme,
                allow_domain,
                allow_subdomain,
                ..
            } = options.clone();
            AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                origin_allowed(origin, &scheme, &allow_domain, allow_subdomain)
            })
        }
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(options.methods)
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(options.allow_credentials)
        .max_age(options.max_age)
}

/// Any origin, Flamego's defaults: `new(Options::default())`.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.layer(flame_extra::cors::permissive());
/// ```
pub fn permissive() -> CorsLayer {
    new(Options::default())
}

fn origin_allowed(
    origin: &HeaderValue,
    scheme: &str,
    domains: &[String],
    subdomains: bool,
) -> bool {
    let Some((origin_scheme, host)) = origin.to_str().ok().and_then(|o| o.split_once("://")) else {
        return false;
    };
    if scheme != "*" && !origin_scheme.eq_ignore_ascii_case(scheme) {
        return false;
    }
    domains.iter().any(|domain| {
        host.eq_ignore_ascii_case(domain)
            || (subdomains
                && host.len() > domain.len() + 1
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(origin: &'static str, subdomains: bool) -> bool {
        origin_allowed(
            &HeaderValue::from_static(origin),
            "https",
            &["example.com".to_owned()],
            subdomains,
        )
    }

    #[test]
    fn an_origin_must_match_the_scheme_and_a_domain() {
        assert!(allowed("https://example.com", false));
        assert!(allowed("https://EXAMPLE.com", false));
        assert!(!allowed("http://example.com", false));
        assert!(!allowed("https://evil.com", false));
        assert!(!allowed("https://example.com.evil.com", false));
        assert!(!allowed("example.com", false));
    }

    #[test]
    fn subdomains_only_when_asked_and_only_real_ones() {
        assert!(!allowed("https://app.example.com", false));
        assert!(allowed("https://app.example.com", true));
        assert!(allowed("https://a.b.example.com", true));
        assert!(!allowed("https://evilexample.com", true));
        assert!(!allowed("https://.example.com", false));
    }
}
