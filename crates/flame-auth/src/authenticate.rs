//! [`Authenticator`]: where a request's token is found (`Authorization: Bearer`, a cookie)
//! and how it becomes the acting user. The flame-core middleware and the WebSocket upgrade
//! are thin wrappers around it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use flame_actor::WebSocketActor;
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use crate::{AuthError, AuthenticatedUser, TokenRejection, TokenVerifier, WebSocketUserExt};

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
    cookie: Option<Cow<'static, str>>,
    cookie_verifier: Option<Arc<dyn TokenVerifier>>,
}

impl Authenticator {
    /// Verifies with `verifier`, reading `Authorization: Bearer` only.
    ///
    /// ```
    /// use flame_auth::Authenticator;
    /// use flame_auth::jwt::JwtVerifier;
    ///
    /// let auth = Authenticator::new(JwtVerifier::hs256(&[7; 32]).unwrap());
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
    pub fn cookie(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Reads the token from the cookie `name` when there is no `Authorization` header, and
    /// verifies cookie tokens with their own `verifier`: e.g. JWTs for API clients in the
    /// header, server-side sessions for browsers in the cookie.
    ///
    /// ```
    /// use flame_auth::{Authenticator, User, UserActor};
    /// use flame_auth::jwt::JwtVerifier;
    /// use flame_auth::session::SessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sessions = SessionStore::in_memory();
    /// let issued = sessions.create(User::new("u1", "ada")).await.unwrap();
    /// let auth = Authenticator::new(JwtVerifier::hs256(&[7; 32]).unwrap())
    ///     .cookie_with("flame_session", sessions);
    ///
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("cookie", format!("flame_session={}", issued.token()).parse().unwrap());
    /// assert_eq!(auth.authenticate_headers(&headers).await.unwrap().unwrap().user().id, "u1");
    /// # }
    /// ```
    pub fn cookie_with(
        mut self,
        name: impl Into<Cow<'static, str>>,
        verifier: impl TokenVerifier + 'static,
    ) -> Self {
        self.cookie = Some(name.into());
        self.cookie_verifier = Some(Arc::new(verifier));
        self
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
            .as_deref()
            .and_then(|name| cookie_value(headers, name)))
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
            .as_deref()
            .and_then(|name| cookie_value(headers, name))
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
            .finish()
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
///
/// # Errors
///
/// [`AuthError::InvalidToken`] (malformed) for a header that is not visible ASCII or a
/// `Bearer` scheme without a token.
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
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
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
