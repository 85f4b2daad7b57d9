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
use std::sync::Arc;
use std::time::Duration;

use flame_actor::websocket::{WebSocketConnection, WebSocketError, WebSocketExt};
use flame_actor::{ActorScope, current_actor};
use flame_auth::jwt::{Expected, JwtIssuer, JwtSecret, JwtVerifier};
use flame_auth::password::{hash_password, verify_password};
use flame_auth::session::SessionStore;
use flame_auth::{
    AuthError, AuthenticatedUser, Authenticator, CLOSE_SESSION_ENDED, CurrentUser, SessionCookie,
    User, authenticate, has_permission, identity_ended, is_admin, is_authenticated,
    is_unauthenticated, require, require_actor_with_claims, require_user, user_of,
};
use flame_core::{Context, Flame, Json, bind};
use http::HeaderValue;
use http::header::CACHE_CONTROL;
use serde::{Deserialize, Serialize};

/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "flame_session";

/// The issuer of the app's JWTs.
pub const ISSUER: &str = "https://flame.example";

/// The audience of the app's JWTs.
pub const AUDIENCE: &str = "flame-example-api";

// ANCHOR: users
/// The user directory: user names, their Argon2id password hashes and their permissions.
#[derive(Clone)]
pub struct Users {
    by_name: Arc<HashMap<String, (User, String)>>,
    /// Checked when the user name is unknown, so both cases take as long.
    decoy_hash: Arc<str>,
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
            by_name: Arc::new(by_name),
            decoy_hash: hash_password("decoy")?.into(),
        })
    }

    /// The user, if the password is right.
    fn check(&self, username: &str, password: &str) -> Result<User, AuthError> {
        match self.by_name.get(username) {
            Some((user, hash)) if verify_password(password, hash)? => Ok(user.clone()),
            Some(_) => Err(AuthError::InvalidCredentials),
            None => {
                let _ = verify_password(password, &self.decoy_hash);
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}
// ANCHOR_END: users

/// What the app shares: how tokens are issued, where sessions live, and their cookie.
#[derive(Clone)]
pub struct Tokens {
    issuer: Arc<JwtIssuer>,
    sessions: SessionStore,
    cookie: SessionCookie,
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
}

// ANCHOR: login
/// `POST /login`: checks the password, answers with a JWT, and sets a session cookie.
async fn login(
    c: Context,
    users: Users,
    tokens: Tokens,
    Json(body): Json<Login>,
) -> Result<Json<LoggedIn>, AuthError> {
    // Argon2 is slow on purpose: keep it off the async workers.
    let user = tokio::task::spawn_blocking(move || users.check(&body.username, &body.password))
        .await
        .map_err(|err| AuthError::Internal(err.to_string()))??;
    let token = tokens.issuer.issue(&user)?;
    let session = tokens.sessions.create(user).await?;
    // Max-Age matches the server-side expiry; Secure outside development.
    c.set_cookie(tokens.cookie.issue(session.token(), session.expires_at()));
    // A response carrying credentials is not for any cache.
    c.response_writer()
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Json(LoggedIn {
        token,
        token_type: "Bearer",
        expires_in: 15 * 60,
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
    /// `FLAME_JWT_SECRET`.
    pub jwt_secret: Option<String>,
}

impl Settings {
    /// From `FLAME_ENV` and `FLAME_JWT_SECRET`.
    pub fn from_env() -> Self {
        Self {
            env: flame_core::env(),
            jwt_secret: std::env::var("FLAME_JWT_SECRET").ok(),
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
    let issuer = JwtIssuer::hs256(secret.as_bytes())?
        .issuer(ISSUER)
        .audience(AUDIENCE);
    let verifier = JwtVerifier::hs256(secret.as_bytes(), Expected::new(ISSUER, AUDIENCE))?;
    let sessions = SessionStore::in_memory().ttl(Duration::from_secs(24 * 60 * 60));
    let cookie =
        SessionCookie::new(SESSION_COOKIE).secure(settings.env != flame_core::Env::Development);
    // Bearer tokens are JWTs; the cookie holds a server-side session.
    let authenticator = Authenticator::new(verifier).cookie_with(cookie.clone(), sessions.clone());

    let mut f = Flame::classic();
    f.map(Users::demo()?);
    f.map(Tokens {
        issuer: Arc::new(issuer),
        sessions,
        cookie,
    });
    f.use_(authenticate(authenticator.clone()));

    f.post(
        "/login",
        (require(is_unauthenticated()), bind::json::<Login>(), login),
    );
    f.post("/logout", logout);
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
