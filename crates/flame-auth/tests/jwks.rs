//! Key rotation and JWK Sets: tokens verified by the key their `kid` names, RS256, ES256
//! and EdDSA keys read from a JWK Set file and from a URL served on 127.0.0.1 (cached,
//! fetched again for an unknown key), all through the auth middleware over real HTTP.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{AUDIENCE, ISSUER, SECRET, key};
use flame_auth::jwks::{JwksSource, JwtKeySet};
use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
use flame_auth::{Authenticator, CurrentUser, TokenVerifier, User, authenticate, require_user};
use flame_core::Flame;
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

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET /me with a bearer token: the status and the body.
    async fn me(&self, token: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(self.url("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn api(verifier: impl TokenVerifier + 'static) -> Flame {
    let mut f = Flame::new();
    f.use_(authenticate(Authenticator::new(verifier)));
    f.get(
        "/me",
        (require_user(()), |user: CurrentUser| user.username.clone()),
    );
    f
}

fn ada() -> User {
    User::new("u1", "ada")
}

/// The three issuers whose public keys are in tests/keys/jwks.json.
fn issuers() -> Vec<(&'static str, JwtIssuer)> {
    vec![
        (
            "rsa-2026",
            JwtIssuer::rs256_pem(&key("rsa_private.pem")).unwrap(),
        ),
        (
            "ec-2026",
            JwtIssuer::es256_pem(&key("ec_private.pem")).unwrap(),
        ),
        (
            "ed-2026",
            JwtIssuer::eddsa_pem(&key("ed25519_private.pem")).unwrap(),
        ),
    ]
    .into_iter()
    .map(|(kid, issuer)| (kid, issuer.key_id(kid).issuer(ISSUER).audience(AUDIENCE)))
    .collect()
}

#[tokio::test]
async fn rs256_es256_and_eddsa_keys_from_a_jwks_file() {
    let path = format!("{}/tests/keys/jwks.json", env!("CARGO_MANIFEST_DIR"));
    let keys = JwtKeySet::jwks(JwksSource::file(path), Expected::new(ISSUER, AUDIENCE))
        .await
        .unwrap();
    let server = Server::start(api(keys)).await;
    for (kid, issuer) in issuers() {
        let token = issuer.issue(&ada()).unwrap();
        assert_eq!(server.me(&token).await, (200, "ada".into()), "{kid}");
    }
    let refused = |token: String| {
        let server = &server;
        async move { server.me(&token).await.0 }
    };
    let (_, rsa) = &issuers()[0];
    let (_, ec) = &issuers()[1];
    // No kid, an unknown kid, or the kid of another key than the one that signed.
    assert_eq!(
        refused(
            JwtIssuer::rs256_pem(&key("rsa_private.pem"))
                .unwrap()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .issue(&ada())
                .unwrap()
        )
        .await,
        401
    );
    assert_eq!(
        refused(rsa.clone().key_id("rsa-2027").issue(&ada()).unwrap()).await,
        401
    );
    assert_eq!(
        refused(ec.clone().key_id("rsa-2026").issue(&ada()).unwrap()).await,
        401
    );
    // HS256 "signed" with the RSA key's published bytes under its kid: the key is pinned
    // to RS256.
    let confused = JwtIssuer::hs256(&key("rsa_public.pem"))
        .unwrap()
        .key_id("rsa-2026")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .issue(&ada())
        .unwrap();
    assert_eq!(refused(confused).await, 401);
    // The key set still checks the issuer.
    let elsewhere = rsa
        .clone()
        .issuer("https://evil.example")
        .issue(&ada())
        .unwrap();
    assert_eq!(refused(elsewhere).await, 401);
}

#[tokio::test]
async fn a_jwks_url_is_cached_and_fetched_again_for_a_new_key() {
    let full: serde_json::Value = serde_json::from_slice(&key("jwks.json")).unwrap();
    let only_rsa = serde_json::json!({ "keys": [full["keys"][0].clone()] });
    let document = Arc::new(Mutex::new(only_rsa.to_string()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let mut jwks = Flame::new();
    {
        let (document, fetches) = (document.clone(), fetches.clone());
        jwks.get("/.well-known/jwks.json", move || {
            fetches.fetch_add(1, Ordering::SeqCst);
            document.lock().unwrap().clone()
        });
    }
    let issuer_server = Server::start(jwks).await;

    let keys = JwtKeySet::jwks(
        JwksSource::url(issuer_server.url("/.well-known/jwks.json")),
        Expected::new(ISSUER, AUDIENCE),
    )
    .await
    .unwrap()
    .refresh(Duration::from_secs(3600), Duration::ZERO);
    assert_eq!(keys.key_ids(), ["rsa-2026"]);
    let api_server = Server::start(api(keys.clone())).await;

    let issuers = issuers();
    let rsa_token = issuers[0].1.issue(&ada()).unwrap();
    for _ in 0..5 {
        assert_eq!(api_server.me(&rsa_token).await.0, 200);
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "known keys come from the cache"
    );

    // The issuer rotates: a token signed with its new key makes the set fetch again.
    let ec_token = issuers[1].1.issue(&ada()).unwrap();
    assert_eq!(api_server.me(&ec_token).await.0, 401);
    *document.lock().unwrap() = full.to_string();
    assert_eq!(api_server.me(&ec_token).await, (200, "ada".into()));
    assert_eq!(keys.key_ids(), ["ec-2026", "ed-2026", "rsa-2026"]);

    // A document that goes bad keeps the keys we had.
    *document.lock().unwrap() = "not json".into();
    let unknown = issuers[2]
        .1
        .clone()
        .key_id("ed-2027")
        .issue(&ada())
        .unwrap();
    assert_eq!(api_server.me(&unknown).await.0, 401);
    assert_eq!(api_server.me(&ec_token).await.0, 200);
}

#[tokio::test]
async fn rotating_your_own_hs256_key() {
    let new_secret = b"the next flame-auth test secret, 32+ bytes";
    let expected = || Expected::new(ISSUER, AUDIENCE);
    let keys = JwtKeySet::new()
        .key("k1", JwtVerifier::hs256(SECRET, expected()).unwrap())
        .key("k2", JwtVerifier::hs256(new_secret, expected()).unwrap());
    let server = Server::start(api(keys)).await;
    let issue = |secret: &[u8], kid: &str| {
        JwtIssuer::hs256(secret)
            .unwrap()
            .key_id(kid)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .issue(&ada())
            .unwrap()
    };
    // The current key signs; the previous one still verifies what it signed.
    assert_eq!(server.me(&issue(new_secret, "k2")).await.0, 200);
    assert_eq!(server.me(&issue(SECRET, "k1")).await.0, 200);
    assert_eq!(server.me(&issue(SECRET, "k2")).await.0, 401);
}
