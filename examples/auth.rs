//! Authentication and authorization: a login that checks an Argon2 password and hands out a
//! JWT (for API clients) and a session cookie (for browsers), routes guarded by claim
//! validators, and a WebSocket echo that knows its user.
//!
//! ```text
//! cargo run --example auth
//! curl -i http://localhost:2830/login -H 'Content-Type: application/json' \
//!      -d '{"username":"ada","password":"ada-password"}'             # {"token":"...",...} + cookie
//! curl -H "Authorization: Bearer $TOKEN" http://localhost:2830/me        # ada
//! curl -H "Authorization: Bearer $TOKEN" http://localhost:2830/drafts    # drafts of ada
//! curl -H "Authorization: Bearer $TOKEN" http://localhost:2830/admin/stats  # 403 no_permission
//! curl http://localhost:2830/me                                           # 401 no_user_actor
//! ```
//!
//! Users: `ada` / `ada-password` (posts:write), `root` / `root-password` (admin),
//! `bob` / `bob-password` (no permissions).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use flame_actor::websocket::{WebSocketConnection, WebSocketError, WebSocketExt};
use flame_actor::{ActorScope, current_actor};
use flame_auth::jwks::JwtKeySet;
use flame_auth::jwt::{Expected, JwtIssuer, JwtSecret, JwtVerifier};
use flame_auth::password::{PasswordHashing, PasswordPolicy, hash_password};
use flame_auth::refresh::RefreshTokens;
use flame_auth::session::{RedbSessionBackend, SessionStore, SessionToken};
use flame_auth::{
    AuthError, AuthenticatedUser, Authenticator, CLOSE_SESSION_ENDED, CurrentUser, LoginLimiter,
    LoginLimits, SessionCookie, User, authenticate, has_permission, identity_ended, is_admin,
    is_authenticated, is_unauthenticated, require, require_actor_with_claims, require_user,
    user_of,
};
use flame_core::{Context, Flame, Json, bind};
use http::HeaderValue;
use http::header::CACHE_CONTROL;
use serde::{Deserialize, Serialize};

/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "flame_session";

/// How long an access token (JWT) lives; the refresh token buys the next one.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// The issuer of the app's JWTs.
pub const ISSUER: &str = "https://flame.example";

/// The audience of the app's JWTs.
pub const AUDIENCE: &str = "flame-example-api";

// ANCHOR: users
/// The user directory: user names, their Argon2id password hashes and their permissions.
#[derive(Clone)]
pub struct Users {
    by_name: Arc<RwLock<HashMap<String, (User, String)>>>,
    /// Checked when the user name is unknown, so both cases take as long.
    decoy_hash: Arc<str>,
    /// At most one Argon2 hash per core at once: memory stays bounded under a login storm.
    hashing: PasswordHashing,
    /// What a new password must satisfy.
    policy: PasswordPolicy,
}

impl Users {
    fn demo() -> Result<Self, AuthError> {
        let mut by_name = HashMap::new();
        for (user, password) in [
            (
                User::new("u1", "ada").with_permission("posts:write"),
                "ada-password",
            ),
            (
                User::new("u0", "root").with_permission("admin"),
                "root-password",
            ),
            (User::new("u2", "bob"), "bob-password"),
        ] {
            by_name.insert(user.username.clone(), (user, hash_password(password)?));
        }
        Ok(Self {
            by_name: Arc::new(RwLock::new(by_name)),
            decoy_hash: hash_password("decoy")?.into(),
            hashing: PasswordHashing::default(),
            // A real app loads a list of the most common leaked passwords here.
            policy: PasswordPolicy::default().common_passwords([
                "password1234",
                "123456789012",
                "qwertyuiopas",
            ]),
        })
    }

    /// The user, if the password is right.
    async fn check(&self, username: &str, password: &str) -> Result<User, AuthError> {
        let stored = self.read().get(username).cloned();
        let hash = stored
            .as_ref()
            .map_or_else(|| self.decoy_hash.to_string(), |(_, hash)| hash.clone());
        let matches = self.hashing.verify(password, &hash).await?;
        match stored {
            Some((user, _)) if matches => Ok(user),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Replaces a user's password, if the policy accepts the new one.
    async fn set_password(&self, username: &str, password: &str) -> Result<(), AuthError> {
        self.policy.check(password, username)?;
        let hash = self.hashing.hash(password).await?;
        match self
            .by_name
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(username)
        {
            Some(entry) => entry.1 = hash,
            None => return Err(AuthError::InvalidCredentials),
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, (User, String)>> {
        self.by_name.read().unwrap_or_else(PoisonError::into_inner)
    }
}
// ANCHOR_END: users

/// What the app shares: how tokens are issued, where sessions live, and their cookie.
#[derive(Clone)]
pub struct Tokens {
    issuer: Arc<JwtIssuer>,
    sessions: SessionStore,
    refresh: RefreshTokens,
    cookie: SessionCookie,
    limiter: LoginLimiter,
}

#[derive(Clone, Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoggedIn {
    token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

// ANCHOR: login
/// `POST /login`: checks the password, answers with a short-lived JWT and a refresh token,
/// and sets a session cookie. Failed attempts are counted per account and per client
/// address; past the limit the answer is 429 with `Retry-After`, before any hashing.
async fn login(
    c: Context,
    users: Users,
    tokens: Tokens,
    Json(body): Json<Login>,
) -> Result<Json<LoggedIn>, AuthError> {
    // The peer address, not X-Forwarded-For: a client must not choose its own bucket.
    // Behind a proxy, use the address the proxy vouches for.
    let address = c
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    tokens.limiter.check(&address, &body.username)?;
    let user = match users.check(&body.username, &body.password).await {
        Ok(user) => user,
        Err(AuthError::InvalidCredentials) => {
            tokens.limiter.failed(&address, &body.username);
            return Err(AuthError::InvalidCredentials);
        }
        Err(err) => return Err(err),
    };
    tokens.limiter.succeeded(&body.username);
    let session = tokens.sessions.create(user.clone()).await?;
    // Max-Age matches the server-side expiry; Secure outside development.
    c.set_cookie(tokens.cookie.issue(session.token(), session.expires_at()));
    let refresh = tokens.refresh.issue(user.clone()).await?;
    token_response(&c, &tokens, &user, refresh)
}

/// A new access token for `user` beside its refresh token, not to be cached by anyone.
fn token_response(
    c: &Context,
    tokens: &Tokens,
    user: &User,
    refresh: SessionToken,
) -> Result<Json<LoggedIn>, AuthError> {
    c.response_writer()
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Json(LoggedIn {
        token: tokens.issuer.issue(user)?,
        token_type: "Bearer",
        expires_in: ACCESS_TTL.as_secs(),
        refresh_token: refresh.into_token(),
    }))
}

/// `POST /logout`: revokes the session of the cookie (which closes the WebSocket
/// connections opened with it) and tells the browser to drop the cookie. Cross-origin
/// attempts never get here: the `authenticate` middleware refuses them (CSRF).
async fn logout(c: Context, tokens: Tokens) -> Result<&'static str, AuthError> {
    let token = c.cookie(&tokens.cookie.name());
    if !token.is_empty() {
        tokens.sessions.revoke(&token).await?;
    }
    c.set_cookie(tokens.cookie.clear());
    Ok("signed out")
}
// ANCHOR_END: login

// ANCHOR: refresh
#[derive(Clone, Deserialize)]
struct Refresh {
    refresh_token: String,
}

/// `POST /token`: spends a refresh token for a new access token and a new refresh token.
/// A refresh token used twice revokes all of the user's refresh tokens.
async fn refresh_tokens(
    c: Context,
    tokens: Tokens,
    Json(body): Json<Refresh>,
) -> Result<Json<LoggedIn>, AuthError> {
    let (user, next) = tokens.refresh.rotate(&body.refresh_token).await?;
    token_response(&c, &tokens, &user, next)
}

/// `POST /logout/everywhere`: revokes every session and refresh token of the user, which
/// closes their WebSocket connections; access tokens already issued end within
/// [`ACCESS_TTL`].
async fn logout_everywhere(
    c: Context,
    user: CurrentUser,
    tokens: Tokens,
) -> Result<Json<serde_json::Value>, AuthError> {
    let sessions = tokens.sessions.revoke_user(&user.id).await?;
    let refresh_tokens = tokens.refresh.revoke_user(&user.id).await?;
    c.set_cookie(tokens.cookie.clear());
    Ok(Json(
        serde_json::json!({ "sessions": sessions, "refresh_tokens": refresh_tokens }),
    ))
}
// ANCHOR_END: refresh

// ANCHOR: password
#[derive(Clone, Deserialize)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// `POST /password`: checks the current password (rate-limited like a login), applies the
/// password policy, and signs the user out everywhere else: every other session and
/// refresh token is revoked, and this browser gets a fresh session.
async fn change_password(
    c: Context,
    user: CurrentUser,
    users: Users,
    tokens: Tokens,
    Json(body): Json<ChangePassword>,
) -> Result<&'static str, AuthError> {
    let address = c
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    tokens.limiter.check(&address, &user.username)?;
    if let Err(err) = users.check(&user.username, &body.current_password).await {
        tokens.limiter.failed(&address, &user.username);
        return Err(err);
    }
    users
        .set_password(&user.username, &body.new_password)
        .await?;
    tokens.sessions.revoke_user(&user.id).await?;
    tokens.refresh.revoke_user(&user.id).await?;
    let session = tokens.sessions.create(user.user().clone()).await?;
    c.set_cookie(tokens.cookie.issue(session.token(), session.expires_at()));
    Ok("password changed")
}
// ANCHOR_END: password

// ANCHOR: protected
/// `GET /drafts`: the claims are checked right in the handler; `?` answers 401 or 403.
fn drafts(c: Context) -> Result<String, AuthError> {
    let user = require_actor_with_claims::<AuthenticatedUser>(
        &c,
        &[&is_authenticated(), &has_permission("posts:write")],
    )?;
    Ok(format!("drafts of {}", user.shared_user().username))
}
// ANCHOR_END: protected

// ANCHOR: websocket
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    /// Signs the connection in with a token (browsers cannot set headers on a WebSocket).
    Auth {
        token: String,
    },
    Echo {
        text: String,
    },
}

/// `GET /ws`: an echo that knows its user: from the upgrade request's header or cookie,
/// or from an `auth` message. When that user's session ends (sign-out, revocation, expiry)
/// the connection is closed with [`CLOSE_SESSION_ENDED`], even if it is idle.
async fn echo(
    mut conn: WebSocketConnection,
    authenticator: Authenticator,
) -> Result<(), WebSocketError> {
    loop {
        // Made anew each turn: an `auth` message may have changed who the connection is.
        let ended = identity_ended(&*conn.actor());
        let message = tokio::select! {
            message = conn.recv_json::<ClientMessage>() => message,
            err = ended => {
                conn.close(CLOSE_SESSION_ENDED, err.code()).await;
                return Ok(());
            }
        };
        let Some(message) = message else {
            return Ok(());
        };
        match message {
            Ok(ClientMessage::Auth { token }) => {
                match authenticator
                    .authenticate_connection(&mut conn, &token)
                    .await
                {
                    Ok(()) => {
                        conn.send_json(&serde_json::json!({ "signed_in": user_name() }))
                            .await?
                    }
                    Err(err) => conn.send_json(&err.to_json()).await?,
                }
            }
            Ok(ClientMessage::Echo { text }) => {
                // Anything called from here sees the connection as the acting actor.
                let signed_in = require_actor_with_claims::<flame_actor::WebSocketActor>(
                    &ActorScope,
                    &[&is_authenticated()],
                )
                .is_ok();
                let reply = serde_json::json!({ "from": user_name(), "signed_in": signed_in, "text": text });
                conn.send_json(&reply).await?;
            }
            Err(err) => {
                let reply = serde_json::json!({ "error": { "code": err.code(), "message": err.to_string() } });
                conn.send_json(&reply).await?;
            }
        }
    }
}

/// The user name of whoever is acting, from the task-local scope.
fn user_name() -> Option<String> {
    user_of(&*current_actor()).map(|user| user.username.clone())
}
// ANCHOR_END: websocket

/// What the app reads from its environment.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `FLAME_ENV`.
    pub env: flame_core::Env,
    /// `FLAME_JWT_SECRET`: the key that signs.
    pub jwt_secret: Option<String>,
    /// `FLAME_JWT_PREVIOUS_SECRET`: the key that signed before the last rotation, still
    /// accepted until the tokens it signed have expired.
    pub previous_jwt_secret: Option<String>,
    /// Failed sign-ins allowed per account and per address.
    pub login_limits: LoginLimits,
    /// `FLAME_DATA_DIR`: where sessions and refresh tokens are kept (redb files), so that a
    /// restart signs nobody out; in memory when unset.
    pub data_dir: Option<std::path::PathBuf>,
}

impl Settings {
    /// From `FLAME_ENV` and `FLAME_JWT_SECRET`.
    pub fn from_env() -> Self {
        Self {
            env: flame_core::env(),
            jwt_secret: std::env::var("FLAME_JWT_SECRET").ok(),
            previous_jwt_secret: std::env::var("FLAME_JWT_PREVIOUS_SECRET").ok(),
            login_limits: LoginLimits::default(),
            data_dir: std::env::var_os("FLAME_DATA_DIR").map(Into::into),
        }
    }
}

// ANCHOR: app
pub fn app(settings: Settings) -> Result<Flame, AuthError> {
    // Production and test refuse to start without a real secret; development makes one up.
    let secret = JwtSecret::resolve(
        "FLAME_JWT_SECRET",
        settings.jwt_secret.as_deref(),
        settings.env,
    )?;
    // Tokens name their key (kid): rotating the secret keeps the previous one verifying.
    let issuer = JwtIssuer::hs256(secret.as_bytes())?
        .key_id(secret.key_id())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ttl(ACCESS_TTL);
    let expected = || Expected::new(ISSUER, AUDIENCE);
    let mut verifier = JwtKeySet::new().key(
        secret.key_id(),
        JwtVerifier::hs256(secret.as_bytes(), expected())?,
    );
    if let Some(previous) = settings.previous_jwt_secret.as_deref() {
        let previous =
            JwtSecret::resolve("FLAME_JWT_PREVIOUS_SECRET", Some(previous), settings.env)?;
        verifier = verifier.key(
            previous.key_id(),
            JwtVerifier::hs256(previous.as_bytes(), expected())?,
        );
    }
    // Sessions and refresh tokens in redb files when there is a data directory.
    let (sessions, refresh) = match &settings.data_dir {
        Some(dir) => (
            SessionStore::new(RedbSessionBackend::open(dir.join("sessions.redb"))?),
            RefreshTokens::new(RedbSessionBackend::open(dir.join("refresh.redb"))?),
        ),
        None => (SessionStore::in_memory(), RefreshTokens::in_memory()),
    };
    let sessions = sessions.ttl(Duration::from_secs(24 * 60 * 60));
    let cookie =
        SessionCookie::new(SESSION_COOKIE).secure(settings.env != flame_core::Env::Development);
    // Bearer tokens are JWTs; the cookie holds a server-side session.
    let authenticator = Authenticator::new(verifier).cookie_with(cookie.clone(), sessions.clone());

    let mut f = Flame::classic();
    f.map(Users::demo()?);
    f.map(Tokens {
        issuer: Arc::new(issuer),
        sessions,
        refresh,
        cookie,
        limiter: LoginLimiter::new(settings.login_limits),
    });
    f.use_(authenticate(authenticator.clone()));

    f.post(
        "/login",
        (require(is_unauthenticated()), bind::json::<Login>(), login),
    );
    f.post("/logout", logout);
    // a typed body is a plain argument of the handler; the binders above refuse bad input
    // before the guards and handlers after them run
    f.post("/token", refresh_tokens);
    f.post("/logout/everywhere", (require_user(()), logout_everywhere));
    f.post(
        "/password",
        (
            require_user(()),
            bind::json::<ChangePassword>(),
            change_password,
        ),
    );
    f.get("/me", (require_user(()), |user: CurrentUser| {
        Json(serde_json::json!({ "id": user.id, "username": user.username, "permissions": user.permissions }))
    }));
    f.get("/drafts", drafts);
    f.group(
        "/admin",
        |f| {
            f.get("/stats", |user: CurrentUser| {
                format!("stats for {}", user.username)
            });
        },
        require_user(is_admin()),
    );
    f.websocket("/ws", move |conn: WebSocketConnection| {
        echo(conn, authenticator.clone())
    });
    Ok(f)
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app(Settings::from_env())?.run()?;
    Ok(())
}
