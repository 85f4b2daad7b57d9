//! What the example tests share: the public test kit's [`TestServer`] and a headless browser.

#![allow(dead_code)]

pub mod browser;

// The public test kit's server: it runs the app's startup check, so an example whose handlers
// need a type nothing provides fails its tests at start.
pub use flame_test::TestServer;

/// GETs `path` (following redirects), returning the status and the body as text.
pub async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}
