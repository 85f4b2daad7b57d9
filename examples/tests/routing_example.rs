//! The routing example, checked against the transcripts of Flamego's routing page.

mod common;

use common::TestServer;

#[allow(dead_code)]
#[path = "../routing.rs"]
mod routing;

#[tokio::test]
async fn routes_match_as_in_flamego() {
    let server = TestServer::start(routing::app()).await;
    let cases: &[(&str, u16, &str)] = &[
        // Static: the trailing slash is significant.
        ("/user/", 200, "You got it!"),
        ("/user/info", 404, "This is a cool 404 page"),
        // Placeholders.
        ("/users/joe", 200, "The user is joe"),
        ("/posts/2021-11-26.html", 200, "The post date is 2021-11-26"),
        ("/posts/2021-11-abc.html", 200, "The post date is 2021-11-0"),
        ("/geo/ma/boston", 200, "Welcome to Boston, MA!"),
        // Regular expressions.
        ("/re/users/joe", 200, "The user is joe"),
        ("/re/users/logan-smith", 404, "This is a cool 404 page"),
        (
            "/re/posts/2021-11-26.html",
            200,
            "The post date is 2021-11-26",
        ),
        ("/re/posts/2021-11-abc.html", 404, "This is a cool 404 page"),
        ("/re/geo/MA/boston", 200, "Welcome to Boston, MA!"),
        ("/re/geo/ma/boston", 404, "This is a cool 404 page"),
        // Globs.
        (
            "/articles/2021/11/26.html",
            200,
            "The article is 2021/11/26.html",
        ),
        (
            "/webhooks/flamego/flamego/events",
            200,
            "The event is for flamego/flamego",
        ),
        ("/webhooks/flamego/flamego", 404, "This is a cool 404 page"),
        ("/places/ma/boston", 200, "Welcome to Boston, MA!"),
        ("/places/ma/boston/02125", 404, "This is a cool 404 page"),
        ("/files/a/b/blob/c/d.txt", 200, "prefix=a/b path=c/d.txt"),
        // Optional segments and named routes.
        ("/account", 200, "route /account/?settings for /account"),
        (
            "/account/settings",
            200,
            "route /account/?settings for /account/settings",
        ),
        ("/people", 200, "people: []"),
        ("/people/joe", 200, "people: [joe]"),
        (
            "/links",
            200,
            "/named/account /named/account/settings /named/people/joe",
        ),
        // Groups concatenate.
        ("/profile/info", 200, "profile info"),
        ("/profile/settings", 200, "profile settings"),
        ("/profile/settings/security", 200, "profile security"),
        // Combo.
        ("/cart", 200, "the cart"),
        // Header constraint falls through to the placeholder.
        ("/browser", 200, "Generic page browser"),
        ("/beta/search?beta=on", 200, "Beta search"),
        ("/beta/search", 200, "Beta is off"),
    ];
    for (path, status, body) in cases {
        assert_eq!(
            common::get(&server, path).await,
            (*status, (*body).to_owned()),
            "{path}"
        );
    }

    let client = reqwest::Client::new();
    let chrome = client
        .get(server.url("/browser"))
        .header("user-agent", "Mozilla/5.0 Chrome/120")
        .send()
        .await
        .unwrap();
    assert_eq!(chrome.text().await.unwrap(), "Hello, Chrome!");
    let posted = client.post(server.url("/cart")).send().await.unwrap();
    assert_eq!(posted.text().await.unwrap(), "added to the cart");
    let grouped = client
        .get(server.url("/profile/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(grouped.headers()["x-group"], "profile");
    // HEAD was registered for /health (after auto_head), not for /cart (before it).
    assert_eq!(
        client
            .head(server.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .head(server.url("/cart"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.stop().await;
}
