//! Auth over real HTTP (reqwest) and real WebSocket connections (tokio-tungstenite): the
//! middleware, every validator and error path with its status, code and WWW-Authenticate,
//! JWT and session rejections, identity across `.await` and `spawn`, and the request span.

mod common;

use std::time::Duration;

use common::{AUDIENCE, ISSUER, SECRET, hs256_token, hs256_token_with_header, valid_claims, with};
use flame_actor::identity::spawn_with_current_actor;
use flame_actor::websocket::{WebSocketConnection, WebSocketExt};
use flame_actor::{Actor, CurrentActor, WebSocketActor, current_actor};
use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
use flame_auth::session::SessionStore;
use flame_auth::{
    AuthError, AuthenticatedUser, Authenticator, CLOSE_SESSION_ENDED, CurrentUser, User,
    WebSocketUserExt, authenticate, has_permission, identity_ended, is_actor_of_type, is_admin,
    is_authenticated, is_backend, is_not_websocket, is_unauthenticated, is_websocket, of_type,
    require, require_actor_with_claims, require_user,
};
use flame_core::{Context, Flame};
use flame_test_support::TestServer;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn verifier() -> JwtVerifier {
    JwtVerifier::hs256(SECRET, Expected::new(ISSUER, AUDIENCE)).unwrap()
}

fn issuer() -> JwtIssuer {
    JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
}

fn ada() -> User {
    User::new("u1", "ada").with_permission("posts:write")
}

fn root() -> User {
    User::new("u0", "root").with_permission("admin")
}

/// Who the request's actor is, as a plain function with no context: the task-local scope.
fn who_is_acting() -> String {
    let actor = current_actor();
    format!(
        "{}:{}",
        actor.actor_type(),
        actor.actor_id().unwrap_or_default()
    )
}

fn app(sessions: SessionStore) -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.use_(authenticate(
        Authenticator::new(verifier()).cookie_with("flame_session", sessions),
    ));
    f.get("/whoami", |actor: CurrentActor| {
        format!(
            "{}:{}",
            actor.actor_type(),
            actor.actor_id().unwrap_or_default()
        )
    });
    f.get(
        "/me",
        (require_user(()), |user: CurrentUser| user.username.clone()),
    );
    f.get(
        "/admin",
        (require_user(is_admin()), |user: CurrentUser| {
            format!("root {}", user.username)
        }),
    );
    f.get(
        "/write",
        (
            require((is_authenticated(), has_permission("posts:write"))),
            || "writer",
        ),
    );
    f.get("/login", (require(is_unauthenticated()), || "login form"));
    f.get("/backend", (require(is_backend()), || "backend"));
    f.get("/ws-only", (require(is_websocket()), || "ws"));
    f.get("/not-ws", (require(is_not_websocket()), || "not ws"));
    f.get(
        "/type-user",
        (require(is_actor_of_type("user")), || "user type"),
    );
    f.get(
        "/of-type",
        (require(of_type::<AuthenticatedUser>()), || "of type"),
    );
    f.get(
        "/custom",
        (
            require(|actor: &dyn Actor| {
                if actor.actor_id().as_deref() == Some("u1") {
                    Err(AuthError::forbidden("not on weekends"))
                } else {
                    Ok(())
                }
            }),
            || "custom",
        ),
    );
    // `require_actor_with_claims` right in a handler, with `?`.
    f.get("/direct", |c: Context| -> Result<String, AuthError> {
        let user =
            require_actor_with_claims::<AuthenticatedUser>(&c, &[&has_permission("posts:write")])?;
        Ok(format!("direct {}", user.shared_user().username))
    });
    f.get("/internal", || {
        Err::<(), _>(AuthError::Internal("the session store is down".into()))
    });
    // Identity across await points and into spawned work, without the Context.
    f.get("/scope", || async {
        let before = who_is_acting();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let after = who_is_acting();
        let spawned = spawn_with_current_actor(async {
            tokio::task::yield_now().await;
            who_is_acting()
        })
        .await
        .unwrap();
        let plain_spawn = tokio::spawn(async { who_is_acting() }).await.unwrap();
        format!("{before} {after} {spawned} {plain_spawn}")
    });
    f.websocket("/ws", |mut conn: WebSocketConnection| async move {
        let auth = Authenticator::new(verifier());
        while let Some(message) = conn.recv().await {
            let text = message.as_text().unwrap_or_default().to_owned();
            if let Some(token) = text.strip_prefix("auth ")
                && let Err(err) = auth.authenticate_connection(&mut conn, token).await
            {
                let _ = conn.send_json(&err.to_json()).await;
                continue;
            }
            let user = conn
                .actor()
                .user()
                .map(|u| u.username.clone())
                .unwrap_or_else(|| "anonymous".into());
            let acting = current_actor();
            let reply = format!(
                "{user} via {} (user {}) {}",
                acting.actor_type(),
                flame_auth::user_of(&*acting).map_or("-", |u| u.id.as_str()),
                require_actor_with_claims::<WebSocketActor>(
                    &flame_actor::ActorScope,
                    &[&is_authenticated()]
                )
                .is_ok()
            );
            if conn.send_text(reply).await.is_err() {
                break;
            }
        }
    });
    f
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    content_type: Option<String>,
    set_cookie: Option<String>,
    body: String,
}

impl Answer {
    fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .map(|v| v["error"]["code"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }
}

async fn get(server: &TestServer, path: &str, headers: &[(&str, &[u8])]) -> Answer {
    let mut request = reqwest::Client::new().get(server.url(path));
    for (name, value) in headers {
        request = request.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, content_type, set_cookie) = (
        response.status().as_u16(),
        header("www-authenticate"),
        header("content-type"),
        header("set-cookie"),
    );
    Answer {
        status,
        challenge,
        content_type,
        set_cookie,
        body: response.text().await.unwrap(),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn the_middleware_maps_the_user_or_leaves_the_request_anonymous() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let token = issuer().issue(&ada()).unwrap();
    let auth = bearer(&token);
    let answer = get(&server, "/whoami", &[("authorization", auth.as_bytes())]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "user:u1"));
    let answer = get(&server, "/whoami", &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "anonymous:"));
    // Another scheme is not ours: anonymous, not an error.
    let answer = get(
        &server,
        "/whoami",
        &[("authorization", b"Basic dXNlcjpwdw==")],
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "anonymous:"));
    let answer = get(&server, "/me", &[("authorization", auth.as_bytes())]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ada"));
    let answer = get(&server, "/direct", &[("authorization", auth.as_bytes())]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "direct ada"));
    server.stop().await;
}

#[tokio::test]
async fn every_validator_over_http() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let ada = bearer(&issuer().issue(&ada()).unwrap());
    let root = bearer(&issuer().issue(&root()).unwrap());
    let anonymous = String::new();
    // (path, who, status, code, WWW-Authenticate)
    let cases: &[(&str, &String, u16, &str, Option<&str>)] = &[
        ("/me", &anonymous, 401, "no_user_actor", Some("Bearer")),
        (
            "/admin",
            &anonymous,
            401,
            "not_authenticated",
            Some("Bearer"),
        ),
        ("/admin", &ada, 403, "no_permission", None),
        ("/admin", &root, 200, "", None),
        (
            "/write",
            &anonymous,
            401,
            "not_authenticated",
            Some("Bearer"),
        ),
        ("/write", &ada, 200, "", None),
        ("/write", &root, 403, "no_permission", None),
        ("/login", &anonymous, 200, "", None),
        ("/login", &ada, 403, "already_authenticated", None),
        // An anonymous HTTP caller is not the backend.
        ("/backend", &anonymous, 403, "invalid_actor_type", None),
        ("/backend", &ada, 403, "invalid_actor_type", None),
        ("/ws-only", &ada, 403, "invalid_actor_type", None),
        ("/not-ws", &ada, 200, "", None),
        ("/type-user", &ada, 200, "", None),
        ("/type-user", &anonymous, 403, "invalid_actor_type", None),
        ("/of-type", &root, 200, "", None),
        ("/custom", &ada, 403, "forbidden", None),
        ("/custom", &root, 200, "", None),
        (
            "/direct",
            &anonymous,
            401,
            "not_authenticated",
            Some("Bearer"),
        ),
        ("/direct", &root, 403, "no_permission", None),
        ("/internal", &anonymous, 500, "internal_error", None),
    ];
    for (path, who, status, code, challenge) in cases {
        let headers: Vec<(&str, &[u8])> = if who.is_empty() {
            vec![]
        } else {
            vec![("authorization", who.as_bytes())]
        };
        let answer = get(&server, path, &headers).await;
        assert_eq!(answer.status, *status, "{path} as {who:?}: {}", answer.body);
        if !code.is_empty() {
            assert_eq!(answer.code(), *code, "{path}");
            assert_eq!(
                answer.content_type.as_deref(),
                Some("application/json"),
                "{path}"
            );
        }
        assert_eq!(answer.challenge.as_deref(), *challenge, "{path}");
    }
    // The client never sees internals.
    let answer = get(&server, "/internal", &[]).await;
    assert!(!answer.body.contains("session store"), "{}", answer.body);
    let answer = get(&server, "/custom", &[("authorization", ada.as_bytes())]).await;
    assert_eq!(
        answer.body,
        r#"{"error":{"code":"forbidden","message":"not on weekends"}}"#
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let good = issuer().issue(&ada()).unwrap();
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // Same claims, payload changed to grant admin, original signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = common::b64(
        with(valid_claims(), "permissions", serde_json::json!(["admin"]))
            .to_string()
            .as_bytes(),
    );
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let now = common::now();
    let expired = hs256_token(&with(
        with(valid_claims(), "exp", (now - 3600).into()),
        "iat",
        (now - 7200).into(),
    ));
    let wrong_issuer = hs256_token(&with(valid_claims(), "iss", "https://evil.test".into()));
    let wrong_audience = hs256_token(&with(valid_claims(), "aud", "another-api".into()));
    let alg_none = format!(
        "{}.",
        common::signing_input(r#"{"alg":"none","typ":"JWT"}"#, &valid_claims().to_string())
    );
    let hs_with_other_key = hs256_token_with_header(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &valid_claims(),
        b"some other secret of enough length!!",
    );
    let oversized = "a".repeat(9 * 1024);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "tampered signature",
            bearer(&tampered).into_bytes(),
            "invalid_token",
        ),
        (
            "forged payload",
            bearer(&forged).into_bytes(),
            "invalid_token",
        ),
        ("expired", bearer(&expired).into_bytes(), "token_expired"),
        (
            "wrong issuer",
            bearer(&wrong_issuer).into_bytes(),
            "invalid_token",
        ),
        (
            "wrong audience",
            bearer(&wrong_audience).into_bytes(),
            "invalid_token",
        ),
        ("alg none", bearer(&alg_none).into_bytes(), "invalid_token"),
        (
            "another key",
            bearer(&hs_with_other_key).into_bytes(),
            "invalid_token",
        ),
        (
            "oversized",
            bearer(&oversized).into_bytes(),
            "invalid_token",
        ),
        (
            "garbage",
            b"Bearer !!!not-a-token!!!".to_vec(),
            "invalid_token",
        ),
        ("empty bearer", b"Bearer".to_vec(), "invalid_token"),
        ("bearer and spaces", b"Bearer    ".to_vec(), "invalid_token"),
        (
            "invalid UTF-8",
            b"Bearer \xff\xfe\xfd".to_vec(),
            "invalid_token",
        ),
        ("two dots only", b"Bearer ..".to_vec(), "invalid_token"),
    ];
    for (what, header, code) in cases {
        // Even a public route refuses a bad token: the client should learn it is signed out.
        for path in ["/whoami", "/me"] {
            let answer = get(&server, path, &[("authorization", &header)]).await;
            assert_eq!(answer.status, 401, "{what} on {path}: {}", answer.body);
            assert_eq!(answer.code(), code, "{what}");
            assert_eq!(
                answer.challenge.as_deref(),
                Some(r#"Bearer error="invalid_token""#),
                "{what}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn sessions_in_a_cookie_and_revocation() {
    let sessions = SessionStore::in_memory();
    let server = TestServer::start(app(sessions.clone())).await;
    let issued = sessions.create(ada()).await.unwrap();
    let cookie = format!("theme=dark; flame_session={}", issued.token());
    let answer = get(&server, "/me", &[("cookie", cookie.as_bytes())]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ada"));

    assert!(sessions.revoke(issued.token()).await.unwrap());
    // A revoked cookie: anonymous, and told to go away.
    let answer = get(&server, "/me", &[("cookie", cookie.as_bytes())]).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "no_user_actor")
    );
    let cleared = answer.set_cookie.unwrap_or_default();
    assert!(
        cleared.starts_with("flame_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // Garbage in the cookie: never authenticated; a public route runs anonymously and
    // clears the cookie, so a stale cookie cannot lock the browser out of the login page.
    for garbage in [
        "flame_session=garbage".as_bytes(),
        b"flame_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        b"flame_session=\"%00%ff\"",
        b"flame_session=a.b.c",
    ] {
        let what = String::from_utf8_lossy(garbage);
        let answer = get(&server, "/whoami", &[("cookie", garbage)]).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "anonymous:"),
            "{what}"
        );
        assert!(
            answer.set_cookie.unwrap_or_default().contains("Max-Age=0"),
            "{what}"
        );
        let answer = get(&server, "/login", &[("cookie", garbage)]).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "login form"),
            "{what}"
        );
    }
    // A cookie header that is not UTF-8 carries no readable token: anonymous, so a
    // protected route answers 401 and a public one runs anonymously.
    let answer = get(&server, "/me", &[("cookie", b"flame_session=\xff\xfe")]).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "no_user_actor")
    );
    let answer = get(&server, "/whoami", &[("cookie", b"flame_session=\xff\xfe")]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "anonymous:"));
    // A JWT in the session cookie is not a session.
    let jwt = format!("flame_session={}", issuer().issue(&ada()).unwrap());
    let answer = get(&server, "/me", &[("cookie", jwt.as_bytes())]).await;
    assert_eq!(answer.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn identity_survives_await_and_spawn_as() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let auth = bearer(&issuer().issue(&ada()).unwrap());
    let answer = get(&server, "/scope", &[("authorization", auth.as_bytes())]).await;
    // A plain tokio::spawn does not inherit the identity: it is the backend.
    assert_eq!(answer.body, "user:u1 user:u1 user:u1 backend:system");
    let answer = get(&server, "/scope", &[]).await;
    assert_eq!(
        answer.body,
        "anonymous: anonymous: anonymous: backend:system"
    );
    server.stop().await;
}

type WsClient =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(server: &TestServer, headers: &[(&'static str, &str)]) -> WsClient {
    ws_connect_to(server, "/ws", headers).await
}

async fn ws_connect_to(
    server: &TestServer,
    path: &str,
    headers: &[(&'static str, &str)],
) -> WsClient {
    let mut request = format!("ws://{}{path}", server.addr())
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn ask(
    client: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    text: &str,
) -> String {
    client.send(Message::text(text)).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn websocket_connections_know_their_user() {
    let sessions = SessionStore::in_memory();
    let server = TestServer::start(app(sessions.clone())).await;
    let token = issuer().issue(&ada()).unwrap();

    // Authenticated at the upgrade by the Authorization header.
    let mut client = ws_connect(&server, &[("authorization", &bearer(&token))]).await;
    assert_eq!(
        ask(&mut client, "hi").await,
        "ada via websocket (user u1) true"
    );

    // ... by the session cookie.
    let session = sessions.create(root()).await.unwrap();
    let cookie = format!("flame_session={}", session.token());
    let mut client = ws_connect(&server, &[("cookie", &cookie)]).await;
    assert_eq!(
        ask(&mut client, "hi").await,
        "root via websocket (user u0) true"
    );

    // ... in-band, by a message carrying the token.
    let mut client = ws_connect(&server, &[]).await;
    assert_eq!(
        ask(&mut client, "hi").await,
        "anonymous via websocket (user -) false"
    );
    assert_eq!(
        ask(&mut client, &format!("auth {token}")).await,
        "ada via websocket (user u1) true"
    );
    assert_eq!(
        ask(&mut client, "again").await,
        "ada via websocket (user u1) true"
    );

    // A bad in-band token is refused and the connection stays anonymous.
    let mut client = ws_connect(&server, &[]).await;
    let refused = ask(&mut client, "auth not.a.token").await;
    assert!(refused.contains("invalid_token"), "{refused}");
    assert_eq!(
        ask(&mut client, "hi").await,
        "anonymous via websocket (user -) false"
    );

    // A bad token at the upgrade: 401 before any WebSocket exists.
    let request = {
        let mut r = format!("ws://{}/ws", server.addr())
            .into_client_request()
            .unwrap();
        r.headers_mut()
            .insert("authorization", "Bearer x.y.z".parse().unwrap());
        r
    };
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected a 401, got {:?}", other.map(|(_, r)| r.status())),
    }
    server.stop().await;
}

/// An echo that closes with `CLOSE_SESSION_ENDED` when its identity ends, as the docs show.
fn live_app(sessions: SessionStore, verifier: JwtVerifier) -> Flame {
    let mut f = Flame::new();
    f.use_(authenticate(
        Authenticator::new(verifier).cookie_with("flame_session", sessions),
    ));
    f.websocket("/live", |mut conn: WebSocketConnection| async move {
        loop {
            let ended = identity_ended(&*conn.actor());
            tokio::select! {
                message = conn.recv() => match message {
                    Some(message) => {
                        let text = message.as_text().unwrap_or_default().to_owned();
                        let _ = conn.send_text(text).await;
                    }
                    None => return,
                },
                err = ended => return conn.close(CLOSE_SESSION_ENDED, err.code()).await,
            }
        }
    });
    f
}

/// The close frame the server sends next: (code, reason).
async fn next_close(client: &mut WsClient) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("the server closes the connection")
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return (0, String::new()),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("{err}"),
        }
    }
}

#[tokio::test]
async fn revocation_and_expiry_close_open_websockets() {
    let sessions = SessionStore::in_memory();
    let verifier = JwtVerifier::hs256(SECRET, Expected::new(ISSUER, AUDIENCE))
        .unwrap()
        .leeway(Duration::ZERO);
    let server = TestServer::start(live_app(sessions.clone(), verifier)).await;

    // Two sockets on two sessions of one user, one on another user's: "log out everywhere"
    // closes the user's, and only theirs.
    let mut sockets = Vec::new();
    for user in [root(), root(), ada()] {
        let session = sessions.create(user).await.unwrap();
        let cookie = format!("flame_session={}", session.token());
        let mut client = ws_connect_to(&server, "/live", &[("cookie", &cookie)]).await;
        assert_eq!(ask(&mut client, "hi").await, "hi");
        sockets.push(client);
    }
    assert_eq!(sessions.revoke_user("u0").await.unwrap(), 2);
    for client in &mut sockets[..2] {
        assert_eq!(
            next_close(client).await,
            (CLOSE_SESSION_ENDED, "invalid_token".to_owned())
        );
    }
    assert_eq!(ask(&mut sockets[2], "still here").await, "still here");

    // A JWT that expires while its socket is open (no leeway here).
    let short = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ttl(Duration::from_secs(2));
    let token = short.issue(&ada()).unwrap();
    let mut client = ws_connect_to(&server, "/live", &[("authorization", &bearer(&token))]).await;
    assert_eq!(ask(&mut client, "hi").await, "hi");
    assert_eq!(
        next_close(&mut client).await,
        (CLOSE_SESSION_ENDED, "token_expired".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn tokens_issued_in_the_future_or_living_too_long_are_refused() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let now = common::now();
    let cases = [
        (
            "iat an hour ahead",
            with(valid_claims(), "iat", (now + 3600).into()),
        ),
        (
            "a year's lifetime",
            with(valid_claims(), "exp", (now + 365 * 24 * 3600).into()),
        ),
        (
            "no iat, a year left",
            common::without(
                with(valid_claims(), "exp", (now + 365 * 24 * 3600).into()),
                "iat",
            ),
        ),
    ];
    for (what, claims) in cases {
        let auth = bearer(&hs256_token(&claims));
        let answer = get(&server, "/me", &[("authorization", auth.as_bytes())]).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (401, "invalid_token"),
            "{what}"
        );
    }
    // Within the leeway, iat a few seconds ahead is a clock skew, not a forgery.
    let skewed = with(valid_claims(), "iat", (now + 5).into());
    let auth = bearer(&hs256_token(&skewed));
    assert_eq!(
        get(&server, "/me", &[("authorization", auth.as_bytes())])
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn auth_errors_go_through_the_apps_return_handler() {
    use flame_core::{Reply, ReturnHandler};
    let mut f = app(SessionStore::in_memory());
    // One override for every error: the framework's code and status, in another shape.
    f.map(ReturnHandler::new(|c: &Context, reply: Reply| {
        match (reply.is_error(), reply.status(), reply.error_code()) {
            (true, Some(status), Some(code)) => {
                Reply::json(&serde_json::json!({ "problem": code, "status": status.as_u16() }))
                    .with_status(status)
                    .write_to(c);
            }
            _ => reply.write_to(c),
        }
    }));
    let server = TestServer::start(f).await;
    let answer = get(&server, "/admin", &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.body,
        r#"{"problem":"not_authenticated","status":401}"#
    );
    let ada = bearer(&issuer().issue(&ada()).unwrap());
    let answer = get(&server, "/admin", &[("authorization", ada.as_bytes())]).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (403, r#"{"problem":"no_permission","status":403}"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn auth_errors_keep_their_json_body_and_challenge_by_default() {
    let server = TestServer::start(app(SessionStore::in_memory())).await;
    let answer = get(&server, "/admin", &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    assert_eq!(
        answer.body,
        r#"{"error":{"code":"not_authenticated","message":"authentication required"}}"#
    );
    server.stop().await;
}
