//! Authenticator: finding a request's token and turning it into the acting user.

use std::sync::Arc;

use flame_actor::{Actor, WebSocketActor};
use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
use flame_auth::session::SessionStore;
use flame_auth::{
    AuthError, Authenticator, TokenRejection, User, UserActor, WebSocketUserExt, bearer_token,
    has_permission, is_websocket, require_user_actor_with_claims,
};
use http::HeaderMap;

const SECRET: &[u8] = b"authenticator test secret, long enough";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    map
}

#[test]
fn bearer_parsing() {
    assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
    assert_eq!(
        bearer_token(&headers(&[("authorization", "Bearer abc")])).unwrap(),
        Some("abc")
    );
    assert_eq!(
        bearer_token(&headers(&[("authorization", "BEARER  abc ")])).unwrap(),
        Some("abc")
    );
    assert_eq!(
        bearer_token(&headers(&[("authorization", "Basic dTpw")])).unwrap(),
        None
    );
    assert_eq!(
        bearer_token(&headers(&[("authorization", "Bearer")])).unwrap_err(),
        AuthError::InvalidToken(TokenRejection::Malformed)
    );
    let mut non_ascii = HeaderMap::new();
    non_ascii.insert(
        "authorization",
        http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    );
    assert!(bearer_token(&non_ascii).is_err());
}

#[tokio::test]
async fn jwt_from_the_authorization_header() {
    let token = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issue(&User::new("u1", "ada"))
        .unwrap();
    let auth = Authenticator::new(JwtVerifier::hs256(SECRET, Expected::unchecked()).unwrap());
    let bearer = format!("Bearer {token}");
    let user = auth
        .authenticate_headers(&headers(&[("authorization", &bearer)]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user().username, "ada");

    // No token: anonymous, not an error.
    assert!(
        auth.authenticate_headers(&headers(&[]))
            .await
            .unwrap()
            .is_none()
    );
    // A bad token: an error, so the client learns it is signed out.
    let err = auth
        .authenticate_headers(&headers(&[("authorization", "Bearer x.y.z")]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_token");
    // Cookies are ignored unless configured.
    let cookie = format!("session={token}");
    assert!(
        auth.authenticate_headers(&headers(&[("cookie", &cookie)]))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn session_from_a_cookie_and_header_precedence() {
    let sessions = SessionStore::in_memory();
    let ada = sessions
        .create(User::new("u1", "ada"))
        .await
        .unwrap()
        .into_token();
    let grace = sessions
        .create(User::new("u2", "grace"))
        .await
        .unwrap()
        .into_token();
    let auth = Authenticator::new(sessions).cookie("flame_session");

    let cookie = format!("theme=dark; flame_session={ada}; other=1");
    let user = auth
        .authenticate_headers(&headers(&[("cookie", &cookie)]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user().id, "u1");

    // Several Cookie headers.
    let second = format!("flame_session={ada}");
    let user = auth
        .authenticate_headers(&headers(&[("cookie", "a=b"), ("cookie", &second)]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user().id, "u1");

    // The Authorization header wins over the cookie.
    let bearer = format!("Bearer {grace}");
    let user = auth
        .authenticate_headers(&headers(&[("cookie", &cookie), ("authorization", &bearer)]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user().id, "u2");

    // An empty or differently named cookie is no token.
    assert!(
        auth.authenticate_headers(&headers(&[("cookie", "flame_session=")]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        auth.authenticate_headers(&headers(&[("cookie", "xflame_session=abc")]))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn websocket_connections_authenticate_in_band() {
    let sessions = SessionStore::in_memory();
    let token = sessions
        .create(User::new("u1", "ada").with_permission("chat:send"))
        .await
        .unwrap()
        .into_token();
    let auth = Authenticator::new(sessions);

    let conn = WebSocketActor::builder("c1").build();
    assert!(auth.authenticate_websocket(&conn, "bogus").await.is_err());

    let conn: Arc<dyn Actor> = Arc::new(auth.authenticate_websocket(&conn, &token).await.unwrap());
    let current =
        require_user_actor_with_claims(&conn, &[&is_websocket(), &has_permission("chat:send")])
            .unwrap();
    assert_eq!(current.user().id, "u1");
    assert_eq!(current.actor().actor_id().as_deref(), Some("c1"));
    let ws = conn.downcast_ref::<WebSocketActor>().unwrap();
    assert!(ws.user_actor().unwrap().expires_at().is_some());
}
