//! Sign-in defences over real HTTP: failed attempts counted per account and per address
//! (429 with Retry-After), Argon2 work bounded by a pool however many logins arrive at once,
//! and refresh tokens that rotate and detect reuse.

use std::sync::Arc;

use flame_auth::password::{PasswordHashing, hash_password};
use flame_auth::refresh::RefreshTokens;
use flame_auth::{AuthError, LoginLimiter, LoginLimits, TokenRejection, User};
use flame_core::{Context, Flame, Json};
use tokio::sync::oneshot;

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    async fn start(f: Flame) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(f.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    async fn login(&self, username: &str, password: &str) -> (u16, String, String) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/login", self.addr))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, retry_after, response.text().await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone, serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// A login endpoint as the docs show it: limiter first, Argon2 in the pool.
fn app(limiter: LoginLimiter, hashing: PasswordHashing, hash: Arc<str>) -> Flame {
    let mut f = Flame::new();
    let login = move |c: Context, Json(body): Json<Login>| {
        let (limiter, hashing, hash) = (limiter.clone(), hashing.clone(), hash.clone());
        async move {
            let address = c
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            limiter.check(&address, &body.username)?;
            if body.username == "ada" && hashing.verify(&body.password, &hash).await? {
                limiter.succeeded(&body.username);
                Ok::<_, AuthError>("welcome")
            } else {
                limiter.failed(&address, &body.username);
                Err(AuthError::InvalidCredentials)
            }
        }
    };
    f.post("/login", (flame_core::bind::json::<Login>(), login));
    f
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_locked_out() {
    let limits = LoginLimits {
        per_account: 3,
        per_ip: 5,
        ..LoginLimits::default()
    };
    let hash: Arc<str> = hash_password("ada-password").unwrap().into();
    let server = Server::start(app(
        LoginLimiter::new(limits),
        PasswordHashing::new(2),
        hash,
    ))
    .await;

    // Three wrong passwords for ada lock ada...
    for _ in 0..3 {
        assert_eq!(server.login("ada", "wrong").await.0, 401);
    }
    let (status, retry_after, body) = server.login("ada", "ada-password").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too_many_attempts"), "{body}");
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");
    // ...and two guesses at other accounts use up the address's five.
    for name in ["bob", "carol"] {
        assert_eq!(server.login(name, "guess").await.0, 401);
    }
    let (status, _, body) = server.login("dave", "guess").await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn concurrent_logins_never_run_more_hashes_than_the_pool_allows() {
    let hash: Arc<str> = hash_password("ada-password").unwrap().into();
    let hashing = PasswordHashing::new(2);
    let limiter = LoginLimiter::new(LoginLimits::default());
    let server = Server::start(app(limiter, hashing.clone(), hash)).await;
    let logins: Vec<_> = (0..12)
        .map(|_| server.login("ada", "ada-password"))
        .collect();
    for (status, _, body) in futures_util::future::join_all(logins).await {
        assert_eq!((status, body.as_str()), (200, "welcome"));
    }
    // All twelve ran, never more than two at once (without the pool, Tokio's blocking pool
    // would have run them all side by side).
    assert!((1..=2).contains(&hashing.peak()), "{}", hashing.peak());
}

#[tokio::test]
async fn a_refresh_token_is_spent_once_even_when_raced() {
    let refresh = RefreshTokens::in_memory();
    let token = refresh.issue(User::new("u1", "ada")).await.unwrap();
    let (a, b) = tokio::join!(refresh.rotate(token.token()), refresh.rotate(token.token()));
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let loser = if outcomes[0] { b } else { a };
    assert_eq!(
        loser.unwrap_err(),
        AuthError::InvalidToken(TokenRejection::Reused)
    );
}
