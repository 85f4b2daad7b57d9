//! The `auth` example on a real socket: login with an Argon2 password, a JWT and a session
//! cookie, routes guarded by validators, and the WebSocket echo that knows its user.

mod common;

use std::time::Duration;

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[allow(dead_code)]
#[path = "../auth.rs"]
mod auth;

struct Login {
    token: String,
    cookie: String,
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
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .unwrap_or_default();
    let body: serde_json::Value = response.json().await.unwrap();
    if status != 200 {
        return Err((status, body));
    }
    Ok(Login {
        token: body["token"].as_str().unwrap().to_owned(),
        cookie,
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
    let server = TestServer::start(auth::app()).await;

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
    let (status, body) = get(&server, "/me", Some(("cookie", ada.cookie.as_str()))).await;
    assert_eq!((status, code(&body).as_str()), (401, "invalid_token"));
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
    let server = TestServer::start(auth::app()).await;
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
