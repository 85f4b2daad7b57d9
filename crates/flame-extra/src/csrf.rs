//! CSRF protection for cookie-session apps (flamego/csrf): a per-session token, checked on
//! every unsafe request from a header or a form field, after a check of where the request
//! comes from (`Sec-Fetch-Site`, then `Origin`).
//!
//! ```
//! use flame_core::Flame;
//! use flame_extra::csrf::{csrf, Csrf, CsrfConfig};
//! use flame_extra::session::{sessioner, MemoryStore, SessionConfig};
//!
//! let mut f = Flame::new();
//! f.use_(sessioner(SessionConfig::default(), MemoryStore::new()));
//! f.use_(csrf(CsrfConfig::default())); // after the sessioner: the token lives in the session
//! f.get("/form", |x: Csrf| format!(r#"<input type="hidden" name="_csrf" value="{}">"#, x.token()));
//! f.post("/transfer", || "done");
//! assert!(f.check().is_ok());
//! ```
//!
//! # The checks, on `POST`, `PUT`, `PATCH`, `DELETE` and any other unsafe method
//!
//! 1. Where from: a `Sec-Fetch-Site` header (every current browser sends one) must be
//!    `same-origin` or `none` (typed in, a bookmark); without it, an `Origin` header, when
//!    present, must name the request's `Host` or a trusted origin. Requests without either
//!    (not from a browser) go on to the token check.
//! 2. The token: the `X-CSRF-Token` header, or the `_csrf` field of an
//!    `application/x-www-form-urlencoded` body (read within the app's body limit and given
//!    back to the handlers), must equal the session's token (compared in constant time).
//!    Multipart forms must send the header.
//!
//! A refusal is a `403 Forbidden` error reply (flame's error format) whose message says which
//! check failed; the chain stops there. `GET`, `HEAD`, `OPTIONS` and `TRACE` are never
//! checked: keep them free of side effects.

use flame_core::{BoxedHandler, Context, HttpError, Method, StatusCode};
use rand::RngCore as _;

use crate::session::Session;

/// The default header the token is read from.
pub const DEFAULT_HEADER: &str = "X-CSRF-Token";
/// The default form field the token is read from.
pub const DEFAULT_FORM_FIELD: &str = "_csrf";
/// The session key the token is kept under.
pub const SESSION_KEY: &str = "_csrf";

/// How [`csrf`] checks requests.
///
/// ```
/// use flame_extra::csrf::CsrfConfig;
///
/// let config = CsrfConfig::default()
///     .header("X-XSRF-Token")
///     .form_field("authenticity_token")
///     .trusted_origin("https://admin.example.com");
/// ```
#[derive(Clone, Debug)]
pub struct CsrfConfig {
    header: String,
    form_field: String,
    trusted_origins: Vec<String>,
}

impl Default for CsrfConfig {
    /// [`DEFAULT_HEADER`], [`DEFAULT_FORM_FIELD`], no trusted origin besides the request's own.
    fn default() -> Self {
        Self {
            header: DEFAULT_HEADER.to_owned(),
            form_field: DEFAULT_FORM_FIELD.to_owned(),
            trusted_origins: Vec::new(),
        }
    }
}

impl CsrfConfig {
    /// The header the token is read from.
    ///
    /// ```
    /// # use flame_extra::csrf::CsrfConfig;
    /// let config = CsrfConfig::default().header("X-XSRF-Token");
    /// ```
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// The form field the token is read from.
    ///
    /// ```
    /// # use flame_extra::csrf::CsrfConfig;
    /// let config = CsrfConfig::default().form_field("token");
    /// ```
    pub fn form_field(mut self, name: impl Into<String>) -> Self {
        self.form_field = name.into();
        self
    }

    /// An origin (`scheme://host[:port]`) allowed to send unsafe requests besides the
    /// request's own host; a request from it still needs the token.
    ///
    /// ```
    /// # use flame_extra::csrf::CsrfConfig;
    /// let config = CsrfConfig::default().trusted_origin("https://app.example.com");
    /// ```
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }
}

/// The request's CSRF token, mapped by [`csrf`]: put [`token`](Self::token) in forms (a
/// hidden `_csrf` field) or in the `X-CSRF-Token` header of scripted requests.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::csrf::Csrf;
///
/// let mut f = Flame::new();
/// f.get("/token", |x: Csrf| x.token());
/// ```
#[derive(Clone, Debug)]
pub struct Csrf {
    session: Session,
}

impl Csrf {
    /// The session's token, created on first use (32 random bytes, base64url). It stays the
    /// same for the session's life; a [`regenerate`](Session::regenerate) keeps it and a
    /// [`destroy`](Session::destroy) ends it.
    ///
    /// ```
    /// # use flame_core::Flame;
    /// # use flame_extra::csrf::Csrf;
    /// # let mut f = Flame::new();
    /// f.get("/token-length", |x: Csrf| x.token().len().to_string()); // "43"
    /// ```
    pub fn token(&self) -> String {
        if let Some(token) = self.session.get::<String>(SESSION_KEY) {
            return token;
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
        if let Err(err) = self.session.set(SESSION_KEY, &token) {
            tracing::warn!(error = %err, "the CSRF token does not fit in the session");
        }
        token
    }
}

/// The CSRF middleware; it must come after [`sessioner`](crate::session::sessioner). It maps
/// [`Csrf`] into every request and refuses unsafe requests that fail the checks described in
/// the [module docs](self) with a 403.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::csrf::{csrf, CsrfConfig};
///
/// let mut f = Flame::new();
/// f.use_(csrf(CsrfConfig::default()));
/// ```
pub fn csrf(config: CsrfConfig) -> BoxedHandler {
    let config = std::sync::Arc::new(config);
    BoxedHandler::new(move |c: Context, session: Session| {
        let config = config.clone();
        async move {
            let x = Csrf { session };
            c.map(x.clone());
            if is_safe(c.method()) {
                return Ok(());
            }
            check_source(&c, &config)?;
            check_token(&c, &config, &x).await
        }
    })
    .provides::<Csrf>()
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn forbidden(message: String) -> HttpError {
    tracing::debug!(%message, "CSRF check refused a request");
    HttpError::new(StatusCode::FORBIDDEN, message)
}

fn check_source(c: &Context, config: &CsrfConfig) -> Result<(), HttpError> {
    let headers = c.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(forbidden(format!(
                "cross-origin request refused: Sec-Fetch-Site is {}",
                String::from_utf8_lossy(site.as_bytes())
            ))),
        };
    }
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    if config
        .trusted_origins
        .iter()
        .any(|trusted| trusted == origin)
    {
        return Ok(());
    }
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| c.uri().authority().map(|a| a.as_str()));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(forbidden(format!(
            "cross-origin request refused: Origin {origin} is not this site"
        ))),
    }
}

async fn check_token(c: &Context, config: &CsrfConfig, x: &Csrf) -> Result<(), HttpError> {
    let sent = match c.headers().get(config.header.as_str()) {
        Some(value) => Some(value.to_str().unwrap_or_default().to_owned()),
        None if is_form(c) => {
            let request = c.request();
            let body = request.body_bytes().await?;
            let field = form_urlencoded::parse(&body)
                .find(|(name, _)| *name == config.form_field.as_str())
                .map(|(_, value)| value.into_owned());
            request.restore_body(body);
            field
        }
        None => None,
    };
    let Some(sent) = sent.filter(|sent| !sent.is_empty()) else {
        return Err(forbidden(format!(
            "CSRF token missing: send it in the {} header or the {} form field",
            config.header, config.form_field
        )));
    };
    match x.session.get::<String>(SESSION_KEY) {
        Some(expected) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(forbidden("CSRF token invalid".to_owned())),
    }
}

fn is_form(c: &Context) -> bool {
    c.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Equality whose time does not depend on where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
