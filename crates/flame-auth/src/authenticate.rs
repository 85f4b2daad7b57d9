//! [`Authenticator`]: where a request's token is found (`Authorization: Bearer`, a cookie)
//! and how it becomes the acting user. The flame-core middleware and the WebSocket upgrade
//! are thin wrappers around it.

use std::fmt;
use std::sync::Arc;

use flame_actor::WebSocketActor;
use http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, UPGRADE};
use http::{HeaderMap, Method};

use crate::{
    AuthError, AuthenticatedUser, SessionCookie, TokenRejection, TokenVerifier, WebSocketUserExt,
};

/// Finds tokens in requests and verifies them with one [`TokenVerifier`].
///
/// Looks at `Authorization: Bearer <token>` first, then (if configured) a cookie. No token
/// at all is not an error: the caller is anonymous, and a validator such as
/// [`is_authenticated`](crate::is_authenticated) decides whether that is fine. A token that
/// is present but invalid is an error: the client believes it is signed in and should learn
/// it is not.
///
/// ```
/// use flame_auth::{Authenticator, User, UserActor};
/// use flame_auth::session::SessionStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sessions = SessionStore::in_memory();
/// let issued = sessions.create(User::new("u1", "ada")).await.unwrap();
/// let auth = Authenticator::new(sessions).cookie("flame_session");
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("cookie", format!("theme=dark; flame_session={}", issued.token()).parse().unwrap());
/// let user = auth.authenticate_headers(&headers).await.unwrap().unwrap();
/// assert_eq!(user.user().id, "u1");
///
/// assert!(auth.authenticate_headers(&http::HeaderMap::new()).await.unwrap().is_none());
/// # }
/// ```
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<dyn TokenVerifier>,
    cookie: Option<SessionCookie>,
    cookie_verifier: Option<Arc<dyn TokenVerifier>>,
    allowed_origins: Vec<String>,
}

/// What the middleware makes of a request's credentials.
pub(crate) enum Credentials {
    /// No token.
    None,
    /// A valid token.
    User(AuthenticatedUser),
    /// A session cookie that is refused: the caller is anonymous and the cookie is cleared,
    /// so a stale cookie cannot lock a browser out of the login page.
    StaleCookie(AuthError),
}

impl Authenticator {
    /// Verifies with `verifier`, reading `Authorization: Bearer` only.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    ///
    /// let auth = Authenticator::new(JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap());
    /// # let _ = auth;
    /// ```
    pub fn new(verifier: impl TokenVerifier + 'static) -> Self {
        Self::shared(Arc::new(verifier))
    }

    /// Verifies with a shared verifier.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flame_auth::{Authenticator, TokenVerifier};
    /// use flame_auth::session::SessionStore;
    ///
    /// let verifier: Arc<dyn TokenVerifier> = Arc::new(SessionStore::in_memory());
    /// let auth = Authenticator::shared(verifier);
    /// # let _ = auth;
    /// ```
    pub fn shared(verifier: Arc<dyn TokenVerifier>) -> Self {
        Self {
            verifier,
            cookie: None,
            cookie_verifier: None,
            allowed_origins: Vec::new(),
        }
    }

    /// Also reads the token from the cookie `name` when there is no `Authorization` header.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory()).cookie("flame_session");
    /// # let _ = auth;
    /// ```
    pub fn cookie(mut self, cookie: impl Into<SessionCookie>) -> Self {
        self.cookie = Some(cookie.into());
        self
    }

    /// Reads the token from the cookie `name` when there is no `Authorization` header, and
    /// verifies cookie tokens with their own `verifier`: e.g. JWTs for API clients in the
    /// header, server-side sessions for browsers in the cookie.
    ///
    /// ```
    /// use flame_auth::{Authenticator, User, UserActor};
    /// use flame_auth::jwt::{Expected, JwtVerifier};
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sessions = SessionStore::in_memory();
    /// let issued = sessions.create(User::new("u1", "ada")).await.unwrap();
    /// let auth = Authenticator::new(JwtVerifier::hs256(&[7; 32], Expected::unchecked()).unwrap())
    ///     .cookie_with("flame_session", sessions);
    ///
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("cookie", format!("flame_session={}", issued.token()).parse().unwrap());
    /// assert_eq!(auth.authenticate_headers(&headers).await.unwrap().unwrap().user().id, "u1");
    /// # }
    /// ```
    pub fn cookie_with(
        mut self,
        cookie: impl Into<SessionCookie>,
        verifier: impl TokenVerifier + 'static,
    ) -> Self {
        self.cookie = Some(cookie.into());
        self.cookie_verifier = Some(Arc::new(verifier));
        self
    }

    /// Also accepts cookie-authenticated requests from `origin` (`scheme://host[:port]`, as
    /// browsers send it in `Origin`), besides the app's own origin.
    ///
    /// Requests that carry the session cookie and could act for the user from another site
    /// (WebSocket upgrades, and methods other than GET, HEAD, OPTIONS and TRACE) are refused
    /// with 403 when the browser says they come from elsewhere: an `Origin` that is neither
    /// the request's own `Host` nor an allowed origin, or `Sec-Fetch-Site: cross-site` /
    /// `same-site` from an origin not allowed. This is on by default and is the CSRF defence
    /// of cookie sessions (logout included). Requests without `Origin` nor `Sec-Fetch-Site`
    /// (not a browser) and bearer tokens (never sent by a browser on its own) are not
    /// concerned.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory())
    ///     .cookie("flame_session")
    ///     .allowed_origin("https://app.example");
    /// # let _ = auth;
    /// ```
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins
            .push(origin.into().trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// The session cookie, if tokens are read from one.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory()).cookie("flame_session");
    /// assert_eq!(auth.session_cookie().unwrap().name(), "flame_session");
    /// ```
    pub fn session_cookie(&self) -> Option<&SessionCookie> {
        self.cookie.as_ref()
    }

    /// Refuses a cookie-authenticated request that a browser says comes from another
    /// origin; see [`allowed_origin`](Authenticator::allowed_origin).
    ///
    /// # Errors
    ///
    /// [`AuthError::Forbidden`].
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    /// use http::{HeaderMap, Method};
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory()).cookie("s");
    /// let mut headers = HeaderMap::new();
    /// headers.insert("host", "app.example".parse().unwrap());
    /// headers.insert("origin", "https://evil.example".parse().unwrap());
    /// assert!(auth.check_origin(&Method::POST, &headers).is_err());
    /// assert!(auth.check_origin(&Method::GET, &headers).is_ok());
    /// headers.insert("origin", "https://app.example".parse().unwrap());
    /// assert!(auth.check_origin(&Method::POST, &headers).is_ok());
    /// ```
    pub fn check_origin(&self, method: &Method, headers: &HeaderMap) -> Result<(), AuthError> {
        let upgrade = headers
            .get(UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let safe = matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        if safe && !upgrade {
            return Ok(());
        }
        let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let allowed = match origin {
            Some(origin) => self.origin_allowed(origin, headers),
            None => !matches!(fetch_site, Some("cross-site" | "same-site")),
        };
        if allowed {
            return Ok(());
        }
        tracing::debug!(
            origin = origin.unwrap_or_default(),
            sec_fetch_site = fetch_site.unwrap_or_default(),
            upgrade,
            "cross-origin request with the session cookie refused"
        );
        Err(AuthError::forbidden(
            "a request from another origin cannot use the session cookie",
        ))
    }

    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        // The app's own origin: scheme aside (TLS may end at a proxy), the Origin's
        // host[:port] is the Host the browser connected to.
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let authority = origin
            .split_once("://")
            .map(|(_, authority)| authority.to_owned());
        matches!((host, authority), (Some(host), Some(authority)) if host == authority)
    }

    /// The middleware's view of a request: refuses cross-origin cookie use, and turns a
    /// refused cookie into [`Credentials::StaleCookie`] instead of an error.
    pub(crate) async fn credentials(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Credentials, AuthError> {
        if let Some(token) = bearer_token(headers)? {
            return self.verifier.verify(token).await.map(Credentials::User);
        }
        let Some(token) = self
            .cookie
            .as_ref()
            .and_then(|cookie| cookie_value(headers, &cookie.name()))
        else {
            return Ok(Credentials::None);
        };
        self.check_origin(method, headers)?;
        let verifier = self.cookie_verifier.as_ref().unwrap_or(&self.verifier);
        match verifier.verify(token).await {
            Ok(user) => Ok(Credentials::User(user)),
            Err(AuthError::InvalidToken(rejection)) => {
                Ok(Credentials::StaleCookie(rejection.into()))
            }
            Err(err) => Err(err),
        }
    }

    /// The verifier.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory());
    /// assert!(format!("{:?}", auth.verifier()).contains("SessionStore"));
    /// ```
    pub fn verifier(&self) -> &Arc<dyn TokenVerifier> {
        &self.verifier
    }

    /// The token a request presents, if any.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (malformed) for an `Authorization` header that is not
    /// visible ASCII, or a `Bearer` scheme without a token. Other schemes (`Basic`) are not
    /// ours and count as no token.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory());
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Bearer abc.def.ghi".parse().unwrap());
    /// assert_eq!(auth.token_from_headers(&headers).unwrap(), Some("abc.def.ghi"));
    /// ```
    pub fn token_from_headers<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Option<&'h str>, AuthError> {
        if let Some(token) = bearer_token(headers)? {
            return Ok(Some(token));
        }
        Ok(self
            .cookie
            .as_ref()
            .and_then(|cookie| cookie_value(headers, &cookie.name())))
    }

    /// The user a request's token stands for; `None` when it presents no token.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] for a token that is present and refused, or the
    /// verifier's backend error.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let auth = Authenticator::new(SessionStore::in_memory());
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Bearer not-a-session".parse().unwrap());
    /// assert_eq!(auth.authenticate_headers(&headers).await.unwrap_err().code(), "invalid_token");
    /// # }
    /// ```
    pub async fn authenticate_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<AuthenticatedUser>, AuthError> {
        if let Some(token) = bearer_token(headers)? {
            return self.verifier.verify(token).await.map(Some);
        }
        let Some(token) = self
            .cookie
            .as_ref()
            .and_then(|cookie| cookie_value(headers, &cookie.name()))
        else {
            return Ok(None);
        };
        let verifier = self.cookie_verifier.as_ref().unwrap_or(&self.verifier);
        verifier.verify(token).await.map(Some)
    }

    /// Authenticates a WebSocket connection with a token it sent (at the upgrade or in its
    /// first message): the new snapshot of the connection to act as from now on.
    ///
    /// # Errors
    ///
    /// The verifier's refusal.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    /// use flame_auth::{Authenticator, User, WebSocketUserExt};
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sessions = SessionStore::in_memory();
    /// let token = sessions.create(User::new("u1", "ada")).await.unwrap().into_token();
    /// let auth = Authenticator::new(sessions);
    ///
    /// let conn = WebSocketActor::builder("c1").build();
    /// let conn = auth.authenticate_websocket(&conn, &token).await.unwrap();
    /// assert_eq!(conn.user().map(|u| u.id.as_str()), Some("u1"));
    /// # }
    /// ```
    pub async fn authenticate_websocket(
        &self,
        connection: &WebSocketActor,
        token: &str,
    ) -> Result<WebSocketActor, AuthError> {
        let user = self.verifier.verify(token).await?;
        tracing::debug!(
            connection.id = connection.connection_id(),
            user.id = %user.shared_user().id,
            "WebSocket connection authenticated"
        );
        Ok(connection.authenticated(user))
    }

    /// Signs a live WebSocket connection in with a token it sent in a message: verifies the
    /// token and swaps the connection's actor for one carrying the user, so the messages
    /// that follow act as that user (and [`current_actor`](flame_actor::current_actor) in
    /// the handler is the authenticated connection).
    ///
    /// # Errors
    ///
    /// The verifier's refusal; the connection keeps its actor.
    ///
    /// ```
    /// use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
    /// use flame_auth::{Authenticator, WebSocketUserExt};
    /// use flame_auth::session::SessionStore;
    /// use flame_core::Flame;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct SignIn { token: String }
    ///
    /// let auth = Authenticator::new(SessionStore::in_memory());
    /// let mut f = Flame::new();
    /// f.websocket("/ws", move |mut conn: WebSocketConnection| {
    ///     let auth = auth.clone();
    ///     async move {
    ///         let Some(Ok(SignIn { token })) = conn.recv_json::<SignIn>().await else { return };
    ///         match auth.authenticate_connection(&mut conn, &token).await {
    ///             Ok(()) => { let _ = conn.send_text(format!("hello, {}", conn.actor().user().map(|u| u.username.as_str()).unwrap_or_default())).await; }
    ///             Err(err) => conn.close(4401, err.code()).await,
    ///         }
    ///     }
    /// });
    /// ```
    pub async fn authenticate_connection(
        &self,
        connection: &mut flame_actor::websocket::WebSocketConnection,
        token: &str,
    ) -> Result<(), AuthError> {
        let actor = connection.actor();
        let authenticated = self.authenticate_websocket(&actor, token).await?;
        connection.set_actor(authenticated).await;
        Ok(())
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("verifier", &self.verifier)
            .field("cookie", &self.cookie)
            .field("cookie_verifier", &self.cookie_verifier)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
///
/// # Errors
///
/// [`AuthError::InvalidToken`] (malformed) for a header that is not visible ASCII or a
/// `Bearer` scheme without a token; ([`AmbiguousCredentials`](TokenRejection::AmbiguousCredentials))
/// for more than one `Authorization` header, whatever their schemes.
///
/// ```
/// use flame_auth::bearer_token;
///
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(bearer_token(&headers).unwrap(), None);
/// headers.insert("authorization", "bearer t0k3n".parse().unwrap());
/// assert_eq!(bearer_token(&headers).unwrap(), Some("t0k3n"));
/// headers.insert("authorization", "Basic dXNlcjpwdw==".parse().unwrap());
/// assert_eq!(bearer_token(&headers).unwrap(), None);
/// headers.append("authorization", "Bearer t0k3n".parse().unwrap());
/// assert!(bearer_token(&headers).is_err());
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenRejection::AmbiguousCredentials.into());
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidToken(TokenRejection::Malformed))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(TokenRejection::Malformed.into());
    }
    Ok(Some(token))
}

/// The value of cookie `name`, from any `Cookie` header.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}
