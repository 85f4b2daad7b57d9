//! The `auth` example on a real socket: login with an Argon2 password, a JWT and a session
//! cookie, routes guarded by validators, and the WebSocket echo that knows its user.

mod common;

use std::time::{Duration, SystemTime};

use common::TestServer;
use flame_auth::User;
use flame_auth::jwt::JwtIssuer;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[allow(dead_code)]
#[path = "../auth.rs"]
mod auth;

/// The JWT secret the tests run the app with.
const SECRET: &str = "the auth example's test secret, 32+ bytes";

fn settings() -> auth::Settings {
    auth::Settings {
        env: flame_core::Env::Test,
        jwt_secret: Some(SECRET.to_owned()),
        ..auth::Settings::default()
    }
}

fn app() -> flame_core::Flame {
    auth::app(settings()).unwrap()
}

struct Login {
    token: String,
    refresh_token: String,
    cookie: String,
    /// The whole `Set-Cookie` header, attributes included.
    set_cookie: String,
    cache_control: String,
}

async fn login(
    server: &TestServer,
    username: &str,
    password: &str,
) -> Result<Login, (u16, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(server.url("/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let set_cookie = header("set-cookie");
    let cache_control = header("cache-control");
    let retry_after = header("retry-after");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let mut body: serde_json::Value = response.json().await.unwrap();
    if status != 200 {
        body["retry_after"] = retry_after.into();
        return Err((status, body));
    }
    Ok(Login {
        token: body["token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        cookie,
        set_cookie,
        cache_control,
    })
}

async fn get(server: &TestServer, path: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body).unwrap()["error"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn login_tokens_cookies_and_guards() {
    let server = TestServer::start(app()).await;

    let (status, body) = login(&server, "ada", "wrong").await.err().unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, body) = login(&server, "nobody", "x").await.err().unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    let ada = login(&server, "ada", "ada-password").await.unwrap();
    assert!(ada.cookie.starts_with("flame_session="), "{}", ada.cookie);
    let bearer = format!("Bearer {}", ada.token);
    let as_ada = Some(("authorization", bearer.as_str()));
    let (status, me) = get(&server, "/me", as_ada).await;
    assert_eq!(status, 200);
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["username"], "ada");
    // The session cookie works as well as the JWT.
    let (status, _) = get(&server, "/me", Some(("cookie", ada.cookie.as_str()))).await;
    assert_eq!(status, 200);

    assert_eq!(
        get(&server, "/drafts", as_ada).await,
        (200, "drafts of ada".into())
    );
    let (status, body) = get(&server, "/admin/stats", as_ada).await;
    assert_eq!((status, code(&body).as_str()), (403, "no_permission"));

    let root = login(&server, "root", "root-password").await.unwrap();
    let root_bearer = format!("Bearer {}", root.token);
    let as_root = Some(("authorization", root_bearer.as_str()));
    assert_eq!(
        get(&server, "/admin/stats", as_root).await,
        (200, "stats for root".into())
    );
    let (status, body) = get(&server, "/drafts", as_root).await;
    assert_eq!((status, code(&body).as_str()), (403, "no_permission"));

    let (status, body) = get(&server, "/me", None).await;
    assert_eq!((status, code(&body).as_str()), (401, "no_user_actor"));
    let (status, body) = get(&server, "/drafts", None).await;
    assert_eq!((status, code(&body).as_str()), (401, "not_authenticated"));
    let (status, body) = get(&server, "/me", Some(("authorization", "Bearer garbage"))).await;
    assert_eq!((status, code(&body).as_str()), (401, "invalid_token"));

    // Signed in already: the login route is for anonymous callers.
    let response = reqwest::Client::new()
        .post(server.url("/login"))
        .header("authorization", &bearer)
        .json(&serde_json::json!({ "username": "ada", "password": "ada-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Sign-out revokes the session: the cookie no longer works, the JWT still does.
    let response = reqwest::Client::new()
        .post(server.url("/logout"))
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A revoked cookie makes the caller anonymous.
    let (status, body) = get(&server, "/me", Some(("cookie", ada.cookie.as_str()))).await;
    assert_eq!((status, code(&body).as_str()), (401, "no_user_actor"));
    assert_eq!(get(&server, "/me", as_ada).await.0, 200);
    server.stop().await;
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, header: Option<(&'static str, &str)>) -> Client {
    let mut request = format!("ws://{}/ws", server.addr())
        .into_client_request()
        .unwrap();
    if let Some((name, value)) = header {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn ask(client: &mut Client, message: serde_json::Value) -> serde_json::Value {
    client
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

fn echo(text: &str) -> serde_json::Value {
    serde_json::json!({ "type": "echo", "text": text })
}

#[tokio::test]
async fn the_websocket_echo_knows_its_user() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();

    // By the Authorization header of the upgrade request.
    let bearer = format!("Bearer {}", ada.token);
    let mut client = connect(&server, Some(("authorization", &bearer))).await;
    assert_eq!(
        ask(&mut client, echo("hi")).await,
        serde_json::json!({ "from": "ada", "signed_in": true, "text": "hi" })
    );

    // By the session cookie.
    let mut client = connect(&server, Some(("cookie", &ada.cookie))).await;
    assert_eq!(ask(&mut client, echo("hi")).await["from"], "ada");

    // In band: anonymous first, then an auth message.
    let mut client = connect(&server, None).await;
    assert_eq!(
        ask(&mut client, echo("hi")).await,
        serde_json::json!({ "from": null, "signed_in": false, "text": "hi" })
    );
    let refused = ask(
        &mut client,
        serde_json::json!({ "type": "auth", "token": "nope" }),
    )
    .await;
    assert_eq!(refused["error"]["code"], "invalid_token");
    let signed_in = ask(
        &mut client,
        serde_json::json!({ "type": "auth", "token": ada.token }),
    )
    .await;
    assert_eq!(signed_in, serde_json::json!({ "signed_in": "ada" }));
    assert_eq!(ask(&mut client, echo("again")).await["from"], "ada");

    // Not JSON, or not a known message: an error message, and the connection stays open.
    client.send(Message::text("hello?")).await.unwrap();
    let mut error = None;
    while error.is_none() {
        if let Some(Ok(Message::Text(text))) = client.next().await {
            error = Some(serde_json::from_str::<serde_json::Value>(text.as_str()).unwrap());
        }
    }
    assert_eq!(error.unwrap()["error"]["code"], "malformed_message");
    let unknown = ask(&mut client, serde_json::json!({ "type": "dance" })).await;
    assert_eq!(unknown["error"]["code"], "malformed_message");
    assert_eq!(
        ask(&mut client, echo("still here")).await["text"],
        "still here"
    );
    server.stop().await;
}

fn issuer(secret: &str) -> JwtIssuer {
    let kid = flame_auth::jwt::JwtSecret::resolve("S", Some(secret), flame_core::Env::Test)
        .map(|s| s.key_id())
        .unwrap_or_default();
    JwtIssuer::hs256(secret.as_bytes()).unwrap().key_id(kid)
}

fn root_user() -> User {
    User::new("u0", "root").with_permission("admin")
}

#[tokio::test]
async fn a_token_signed_with_a_secret_from_the_source_is_refused_in_development() {
    // What the example used to sign with when FLAME_JWT_SECRET was unset.
    let public_secret = "flame example secret: change me, 32+ bytes";
    let forged = issuer(public_secret)
        .issuer(auth::ISSUER)
        .audience(auth::AUDIENCE)
        .issue(&root_user())
        .unwrap();
    let forged_without_audience = issuer(public_secret).issue(&root_user()).unwrap();
    let f = auth::app(auth::Settings {
        env: flame_core::Env::Development,
        jwt_secret: None,
        ..auth::Settings::default()
    })
    .unwrap();
    let server = TestServer::start(f).await;
    for forged in [forged, forged_without_audience] {
        let bearer = format!("Bearer {forged}");
        let (status, body) = get(&server, "/admin/stats", Some(("authorization", &bearer))).await;
        assert_eq!((status, code(&body).as_str()), (401, "invalid_token"));
    }
    // The random development secret still works for tokens the app issues itself.
    let root = login(&server, "root", "root-password").await.unwrap();
    let bearer = format!("Bearer {}", root.token);
    assert_eq!(
        get(&server, "/admin/stats", Some(("authorization", &bearer)))
            .await
            .0,
        200
    );
    server.stop().await;
}

#[test]
fn production_and_test_refuse_to_start_without_a_good_secret() {
    for env in [flame_core::Env::Production, flame_core::Env::Test] {
        for secret in [None, Some("short".to_owned())] {
            let Err(err) = auth::app(auth::Settings {
                env,
                jwt_secret: secret.clone(),
                ..auth::Settings::default()
            }) else {
                panic!("{env} started with the secret {secret:?}");
            };
            assert!(err.to_string().contains("FLAME_JWT_SECRET"), "{err}");
        }
    }
}

#[tokio::test]
async fn logout_closes_the_sockets_of_its_session() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    let mut client = connect(&server, Some(("cookie", &ada.cookie))).await;
    assert_eq!(ask(&mut client, echo("hi")).await["from"], "ada");

    let response = reqwest::Client::new()
        .post(server.url("/logout"))
        .header("cookie", &ada.cookie)
        .header("origin", server.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Without sending anything: the server closes the socket with the documented code.
    assert_eq!(
        close_code(&mut client).await,
        Some(flame_auth::CLOSE_SESSION_ENDED)
    );
    server.stop().await;
}

/// The code of the close frame the server sends next, skipping other messages.
async fn close_code(client: &mut Client) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("the server closes the socket")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("{err}"),
            None => return None,
        }
    }
}

#[tokio::test]
async fn a_cross_origin_upgrade_carrying_the_cookie_is_refused() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    for origin in [
        "http://evil.example".to_owned(),
        format!("http://127.0.0.1:{}", server.addr().port() + 1),
        format!("http://sub.localhost:{}", server.addr().port()),
    ] {
        let mut request = format!("ws://{}/ws", server.addr())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", ada.cookie.parse().unwrap());
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{origin}")
            }
            other => panic!("{origin}: {:?}", other.map(|_| ())),
        }
    }
    // The app's own origin is fine.
    let mut request = format!("ws://{}/ws", server.addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", ada.cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", server.url("").parse().unwrap());
    let mut client = tokio_tungstenite::connect_async(request).await.unwrap().0;
    assert_eq!(ask(&mut client, echo("hi")).await["from"], "ada");
    server.stop().await;
}

#[tokio::test]
async fn logout_clears_the_cookie_and_a_stale_cookie_does_not_lock_out_login() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    let response = reqwest::Client::new()
        .post(server.url("/logout"))
        .header("cookie", &ada.cookie)
        .header("origin", server.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cleared.starts_with("flame_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // A browser that kept the stale cookie can still sign in...
    let response = reqwest::Client::new()
        .post(server.url("/login"))
        .header("cookie", &ada.cookie)
        .json(&serde_json::json!({ "username": "ada", "password": "ada-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // ...and is told to drop it where it is anonymous.
    let response = reqwest::Client::new()
        .get(server.url("/me"))
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_with_two_authorization_headers_is_refused() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    let good = format!("Bearer {}", ada.token);
    for pair in [
        [good.as_str(), "Bearer garbage"],
        ["Bearer garbage", good.as_str()],
    ] {
        let response = reqwest::Client::new()
            .get(server.url("/me"))
            .header("authorization", pair[0])
            .header("authorization", pair[1])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            (status, code(&response.text().await.unwrap()).as_str()),
            (401, "invalid_token"),
            "{pair:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_refused() {
    let server = TestServer::start(app()).await;
    let tokens = [
        issuer(SECRET).issue(&root_user()).unwrap(),
        issuer(SECRET)
            .issuer("https://evil.example")
            .audience(auth::AUDIENCE)
            .issue(&root_user())
            .unwrap(),
        issuer(SECRET)
            .issuer(auth::ISSUER)
            .audience("another-api")
            .issue(&root_user())
            .unwrap(),
        issuer(SECRET)
            .issuer(auth::ISSUER)
            .issue(&root_user())
            .unwrap(),
    ];
    for token in tokens {
        let bearer = format!("Bearer {token}");
        let (status, body) = get(&server, "/admin/stats", Some(("authorization", &bearer))).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (401, "invalid_token"),
            "{token}"
        );
    }
    let good = issuer(SECRET)
        .issuer(auth::ISSUER)
        .audience(auth::AUDIENCE)
        .issue(&root_user())
        .unwrap();
    let bearer = format!("Bearer {good}");
    assert_eq!(
        get(&server, "/admin/stats", Some(("authorization", &bearer)))
            .await
            .0,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn every_route_applies_one_expiry_rule_with_one_leeway() {
    let server = TestServer::start(app()).await;
    let ttl = Duration::from_secs(60);
    let minted = |ago: u64| {
        issuer(SECRET)
            .issuer(auth::ISSUER)
            .audience(auth::AUDIENCE)
            .ttl(ttl)
            .issue_at(
                &User::new("u1", "ada").with_permission("posts:write"),
                SystemTime::now() - ttl - Duration::from_secs(ago),
            )
            .unwrap()
    };
    // Expired 10 s ago, within the leeway: accepted by every route alike.
    let bearer = format!("Bearer {}", minted(10));
    let as_ada = Some(("authorization", bearer.as_str()));
    assert_eq!(get(&server, "/me", as_ada).await.0, 200);
    assert_eq!(get(&server, "/drafts", as_ada).await.0, 200);
    // Expired beyond the leeway: refused by every route alike.
    let bearer = format!("Bearer {}", minted(120));
    let as_ada = Some(("authorization", bearer.as_str()));
    let (status, body) = get(&server, "/me", as_ada).await;
    assert_eq!((status, code(&body).as_str()), (401, "token_expired"));
    let (status, body) = get(&server, "/drafts", as_ada).await;
    assert_eq!((status, code(&body).as_str()), (401, "token_expired"));
    server.stop().await;
}

async fn post(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().post(server.url(path)).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body, headers)
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_account_with_429_and_retry_after() {
    let server = TestServer::start(app()).await;
    for _ in 0..flame_auth::LoginLimits::default().per_account {
        let (status, _) = login(&server, "ada", "wrong").await.err().unwrap();
        assert_eq!(status, 401);
    }
    // Locked: even the right password is refused, before any hashing.
    let (status, body) = login(&server, "ada", "ada-password").await.err().unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    let retry_after: u64 = body["retry_after"].as_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // Another account from the same address is not locked by ada's failures.
    assert!(login(&server, "bob", "bob-password").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_posts_with_the_cookie_are_refused_logout_included() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    for headers in [
        vec![
            ("cookie", ada.cookie.as_str()),
            ("origin", "http://evil.example"),
        ],
        vec![
            ("cookie", ada.cookie.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        let (status, body, _) = post(&server, "/logout", &headers, serde_json::json!({})).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{headers:?}"
        );
    }
    // The session survived the forged sign-out.
    assert_eq!(
        get(&server, "/me", Some(("cookie", &ada.cookie))).await.0,
        200
    );
    // Same origin (or no browser headers at all) is fine.
    let own = server.url("");
    let (status, _, _) = post(
        &server,
        "/logout",
        &[
            ("cookie", &ada.cookie),
            ("origin", &own),
            ("sec-fetch-site", "same-origin"),
        ],
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_session_cookie_and_token_responses_carry_the_right_attributes() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    let attributes: Vec<&str> = ada.set_cookie.split("; ").collect();
    for expected in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(
            attributes.contains(&expected),
            "{expected} in {}",
            ada.set_cookie
        );
    }
    // The server keeps a session 24 h: so does the browser (give or take the request).
    let max_age: u64 = attributes
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((24 * 3600 - 60..=24 * 3600).contains(&max_age), "{max_age}");
    assert_eq!(ada.cache_control, "no-store");
    let (status, _, headers) = post(
        &server,
        "/token",
        &[],
        serde_json::json!({ "refresh_token": ada.refresh_token }),
    )
    .await;
    assert_eq!(
        (status, headers["cache-control"].to_str().unwrap()),
        (200, "no-store")
    );

    // In development, plain-HTTP localhost works: no Secure.
    let dev = auth::app(auth::Settings {
        env: flame_core::Env::Development,
        ..settings()
    })
    .unwrap();
    let dev = TestServer::start(dev).await;
    let ada = login(&dev, "ada", "ada-password").await.unwrap();
    assert!(!ada.set_cookie.contains("Secure"), "{}", ada.set_cookie);
    dev.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_them_all() {
    let server = TestServer::start(app()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    let refresh = |token: &str| serde_json::json!({ "refresh_token": token });

    let (status, first, _) = post(&server, "/token", &[], refresh(&ada.refresh_token)).await;
    assert_eq!(status, 200, "{first}");
    let bearer = format!("Bearer {}", first["token"].as_str().unwrap());
    assert_eq!(
        get(&server, "/me", Some(("authorization", &bearer)))
            .await
            .0,
        200
    );
    let next = first["refresh_token"].as_str().unwrap();
    assert_ne!(next, ada.refresh_token);

    // The spent token again: refused, and the one it was rotated into dies with it.
    let (status, body, _) = post(&server, "/token", &[], refresh(&ada.refresh_token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _, _) = post(&server, "/token", &[], refresh(next)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn logging_out_everywhere_revokes_sessions_refresh_tokens_and_sockets() {
    let server = TestServer::start(app()).await;
    let phone = login(&server, "ada", "ada-password").await.unwrap();
    let laptop = login(&server, "ada", "ada-password").await.unwrap();
    let mut socket = connect(&server, Some(("cookie", &phone.cookie))).await;
    assert_eq!(ask(&mut socket, echo("hi")).await["from"], "ada");

    let bearer = format!("Bearer {}", laptop.token);
    let (status, body, _) = post(
        &server,
        "/logout/everywhere",
        &[("authorization", &bearer)],
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({ "sessions": 2, "refresh_tokens": 2 })
    );

    assert_eq!(
        close_code(&mut socket).await,
        Some(flame_auth::CLOSE_SESSION_ENDED)
    );
    for login in [&phone, &laptop] {
        let (status, _) = get(&server, "/me", Some(("cookie", &login.cookie))).await;
        assert_eq!(status, 401);
        let (status, _, _) = post(
            &server,
            "/token",
            &[],
            serde_json::json!({ "refresh_token": login.refresh_token }),
        )
        .await;
        assert_eq!(status, 401);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_password_change_follows_the_policy_and_signs_out_other_sessions() {
    let server = TestServer::start(app()).await;
    let other = login(&server, "bob", "bob-password").await.unwrap();
    let here = login(&server, "bob", "bob-password").await.unwrap();
    let own = server.url("");
    let as_here = [("cookie", here.cookie.as_str()), ("origin", own.as_str())];
    let change = |current: &str, new: &str| serde_json::json!({ "current_password": current, "new_password": new });

    let (status, body, _) = post(
        &server,
        "/password",
        &as_here,
        change("bob-password", "short"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("weak_password"))
    );
    let (status, body, _) = post(
        &server,
        "/password",
        &as_here,
        change("bob-password", "Password1234"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("weak_password"))
    );
    let (status, body, _) = post(
        &server,
        "/password",
        &as_here,
        change("wrong", "a much better passphrase"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    let (status, body, headers) = post(
        &server,
        "/password",
        &as_here,
        change("bob-password", "a much better passphrase"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // This browser gets a fresh session; every other one is signed out.
    let fresh = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(get(&server, "/me", Some(("cookie", &fresh))).await.0, 200);
    for old in [&other.cookie, &here.cookie] {
        assert_eq!(get(&server, "/me", Some(("cookie", old))).await.0, 401);
    }
    assert_eq!(
        login(&server, "bob", "bob-password").await.err().unwrap().0,
        401
    );
    assert!(
        login(&server, "bob", "a much better passphrase")
            .await
            .is_ok()
    );
    server.stop().await;
}

#[tokio::test]
async fn after_a_key_rotation_tokens_of_the_previous_key_still_verify() {
    let previous = "the secret before the rotation, 32+ bytes";
    let f = auth::app(auth::Settings {
        previous_jwt_secret: Some(previous.to_owned()),
        ..settings()
    })
    .unwrap();
    let server = TestServer::start(f).await;
    let mint = |secret: &str| {
        issuer(secret)
            .issuer(auth::ISSUER)
            .audience(auth::AUDIENCE)
            .issue(&root_user())
            .unwrap()
    };
    for secret in [SECRET, previous] {
        let bearer = format!("Bearer {}", mint(secret));
        assert_eq!(
            get(&server, "/admin/stats", Some(("authorization", &bearer)))
                .await
                .0,
            200
        );
    }
    // Tokens issued now are signed with the current key.
    let root = login(&server, "root", "root-password").await.unwrap();
    let current = issuer(SECRET).issue(&root_user()).unwrap();
    assert_eq!(header_kid(&root.token), header_kid(&current));
    assert_ne!(header_kid(&root.token), header_kid(&mint(previous)));
    // Without the previous secret configured, its tokens are refused.
    let server2 = TestServer::start(app()).await;
    let bearer = format!("Bearer {}", mint(previous));
    assert_eq!(
        get(&server2, "/admin/stats", Some(("authorization", &bearer)))
            .await
            .0,
        401
    );
    server2.stop().await;
    server.stop().await;
}

/// The `kid` of a JWT's header, read by hand.
fn header_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn with_a_data_directory_a_restart_signs_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let persisted = || {
        auth::app(auth::Settings {
            data_dir: Some(dir.path().to_owned()),
            ..settings()
        })
        .unwrap()
    };
    let server = TestServer::start(persisted()).await;
    let ada = login(&server, "ada", "ada-password").await.unwrap();
    server.stop().await;

    let server = TestServer::start(persisted()).await;
    assert_eq!(
        get(&server, "/me", Some(("cookie", &ada.cookie))).await.0,
        200
    );
    let (status, _, _) = post(
        &server,
        "/token",
        &[],
        serde_json::json!({ "refresh_token": ada.refresh_token }),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}
