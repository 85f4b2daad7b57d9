//! SessionStore: opaque tokens, stored hashed, with expiry and revocation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flame_auth::session::{
    MemorySessionBackend, SESSION_TOKEN_LEN, SessionBackend, SessionRecord, SessionStore, TokenHash,
};
use flame_auth::{AuthError, TokenRejection, TokenVerifier, User, UserActor};

fn store() -> (SessionStore, Arc<MemorySessionBackend>) {
    let backend = Arc::new(MemorySessionBackend::default());
    (SessionStore::with_backend(backend.clone()), backend)
}

async fn rejection(store: &SessionStore, token: &str) -> TokenRejection {
    match store.verify(token).await {
        Err(AuthError::InvalidToken(rejection)) => rejection,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fresh_session_verifies() {
    let (sessions, backend) = store();
    let issued = sessions
        .clone()
        .ttl(Duration::from_secs(60))
        .create(User::new("u1", "ada").with_permission("posts:write"))
        .await
        .unwrap();
    assert_eq!(issued.token().len(), SESSION_TOKEN_LEN);
    assert_eq!(URL_SAFE_NO_PAD.decode(issued.token()).unwrap().len(), 32);
    let actor = sessions.verify(issued.token()).await.unwrap();
    assert_eq!(actor.user().id, "u1");
    assert!(actor.user().has_permission("posts:write"));
    assert_eq!(actor.expires_at(), Some(issued.expires_at()));
    assert_eq!(backend.len(), 1);

    // A token from another store is unknown there.
    let other = SessionStore::in_memory();
    assert_eq!(
        rejection(&other, issued.token()).await,
        TokenRejection::Unknown
    );
}

#[tokio::test]
async fn only_the_hash_is_stored() {
    let (sessions, backend) = store();
    let issued = sessions.create(User::new("u1", "ada")).await.unwrap();
    let hash = TokenHash::of_token(issued.token()).unwrap();
    let record = backend.get(&hash).await.unwrap().unwrap();
    assert_eq!(record.user.id, "u1");
    let dump = format!("{backend:?}");
    assert!(
        !dump.contains(issued.token()),
        "the backend holds the token itself: {dump}"
    );
    let raw = URL_SAFE_NO_PAD.decode(issued.token()).unwrap();
    assert!(!dump.contains(&hex::encode(&raw)));
    // The key is SHA-256 of the raw bytes.
    use sha2::Digest as _;
    assert_eq!(
        hash.as_bytes(),
        &<[u8; 32]>::from(sha2::Sha256::digest(&raw))
    );
}

#[tokio::test]
async fn revoked_sessions_are_refused() {
    let (sessions, _) = store();
    let a = sessions.create(User::new("u1", "ada")).await.unwrap();
    let b = sessions.create(User::new("u1", "ada")).await.unwrap();
    let c = sessions.create(User::new("u2", "grace")).await.unwrap();

    assert!(sessions.revoke(a.token()).await.unwrap());
    assert_eq!(
        rejection(&sessions, a.token()).await,
        TokenRejection::Revoked
    );
    assert!(sessions.verify(b.token()).await.is_ok());

    // Sign out everywhere: b goes, a was already revoked, c (another user) stays.
    assert_eq!(sessions.revoke_user("u1").await.unwrap(), 1);
    assert_eq!(
        rejection(&sessions, b.token()).await,
        TokenRejection::Revoked
    );
    assert!(sessions.verify(c.token()).await.is_ok());

    // Revoking an unknown but well-formed token says so; a malformed one is an error.
    assert!(!sessions.revoke(&"A".repeat(43)).await.unwrap());
    assert!(sessions.revoke("short").await.is_err());
}

#[tokio::test]
async fn expired_sessions_are_refused_and_purged() {
    let (sessions, backend) = store();
    let short = sessions.clone().ttl(Duration::ZERO);
    let expired = short.create(User::new("u1", "ada")).await.unwrap();
    let err = sessions.verify(expired.token()).await.unwrap_err();
    assert_eq!(err, AuthError::InvalidToken(TokenRejection::Expired));
    assert_eq!(err.code(), "token_expired");

    // A record that ended an hour ago, put in by hand.
    let raw = [9_u8; 32];
    let token = URL_SAFE_NO_PAD.encode(raw);
    let now = SystemTime::now();
    backend
        .insert(
            TokenHash::of_token(&token).unwrap(),
            SessionRecord::new(
                User::new("u3", "old"),
                now - Duration::from_secs(7200),
                now - Duration::from_secs(3600),
            ),
        )
        .await
        .unwrap();
    assert_eq!(rejection(&sessions, &token).await, TokenRejection::Expired);

    let live = sessions.create(User::new("u1", "ada")).await.unwrap();
    assert_eq!(backend.len(), 3);
    assert_eq!(sessions.purge_expired().await.unwrap(), 2);
    assert_eq!(backend.len(), 1);
    assert!(sessions.verify(live.token()).await.is_ok());
    assert_eq!(rejection(&sessions, &token).await, TokenRejection::Unknown);
}

#[tokio::test]
async fn malformed_tokens_never_reach_the_backend() {
    let (sessions, _) = store();
    let too_long = "A".repeat(9000);
    let non_canonical = format!("{}B", "A".repeat(42)); // trailing bits set
    for token in [
        "",
        "abc",
        too_long.as_str(),
        &"*".repeat(43),
        &"A".repeat(44),
        &"A".repeat(42),
        "héllo wörld, this is forty-three bytes!!",
        non_canonical.as_str(),
    ] {
        assert_eq!(
            rejection(&sessions, token).await,
            TokenRejection::Malformed,
            "{token:?}"
        );
    }
}

#[tokio::test]
async fn tokens_are_random() {
    let (sessions, _) = store();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let token = sessions
            .create(User::new("u1", "ada"))
            .await
            .unwrap()
            .into_token();
        assert!(seen.insert(token));
    }
}

/// A backend that fails: its error surfaces as a 500, not as "invalid token".
#[derive(Debug)]
struct Broken;

impl SessionBackend for Broken {
    fn insert(
        &self,
        _: TokenHash,
        _: SessionRecord,
    ) -> flame_auth::BoxFuture<'_, Result<(), AuthError>> {
        Box::pin(async { Err(AuthError::Internal("disk full".into())) })
    }
    fn get<'a>(
        &'a self,
        _: &'a TokenHash,
    ) -> flame_auth::BoxFuture<'a, Result<Option<SessionRecord>, AuthError>> {
        Box::pin(async { Err(AuthError::Internal("connection reset".into())) })
    }
    fn revoke<'a>(
        &'a self,
        _: &'a TokenHash,
    ) -> flame_auth::BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async { Err(AuthError::Internal("connection reset".into())) })
    }
    fn revoke_user<'a>(
        &'a self,
        _: &'a str,
    ) -> flame_auth::BoxFuture<'a, Result<usize, AuthError>> {
        Box::pin(async { Err(AuthError::Internal("connection reset".into())) })
    }
    fn purge_expired(&self, _: SystemTime) -> flame_auth::BoxFuture<'_, Result<usize, AuthError>> {
        Box::pin(async { Err(AuthError::Internal("connection reset".into())) })
    }
}

#[tokio::test]
async fn backend_failures_are_server_errors() {
    let sessions = SessionStore::new(Broken);
    assert!(
        sessions
            .create(User::new("u1", "ada"))
            .await
            .unwrap_err()
            .is_server_error()
    );
    let err = sessions.verify(&"A".repeat(43)).await.unwrap_err();
    assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(err.public_message(), "internal error");
}
