//! [`TestRequest`]: a request being built; awaiting it sends it.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use serde::Serialize;

use crate::response::TestResponse;

/// A request to a [`TestServer`](crate::TestServer), built step by step; `.await` sends
/// it and reads the whole answer.
///
/// ```
/// use flame_core::{Context, Flame};
/// use flame_test::TestServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut f = Flame::new();
/// f.put("/who", |c: Context| c.headers().get("x-name").map(|v| v.to_str().unwrap_or("?").to_owned()));
/// let server = TestServer::start(f).await;
/// let answer = server.put("/who").header("x-name", "ada").await;
/// assert_eq!(answer.text(), "ada");
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct TestRequest {
    builder: reqwest::RequestBuilder,
}

impl TestRequest {
    pub(crate) fn new(builder: reqwest::RequestBuilder) -> Self {
        Self { builder }
    }

    fn map(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        Self {
            builder: f(self.builder),
        }
    }

    /// Adds a header.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.map(|b| b.header(name, value))
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    /// A JSON body (`application/json`).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        self.map(|b| b.json(value))
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<T: Serialize + ?Sized>(self, value: &T) -> Self {
        self.map(|b| b.form(value))
    }

    /// Query parameters, added to the path's.
    pub fn query<T: Serialize + ?Sized>(self, value: &T) -> Self {
        self.map(|b| b.query(value))
    }

    /// A raw body, with no content type unless a header sets one.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    /// Sends it and reads the whole answer.
    ///
    /// # Panics
    ///
    /// When the request cannot be sent or the answer cannot be read (the server is gone).
    pub async fn send(self) -> TestResponse {
        let response = match self.builder.send().await {
            Ok(response) => response,
            Err(e) => panic!("the request failed: {e}"),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => TestResponse::new(status, headers, body),
            Err(e) => panic!("reading the answer failed (status {status}): {e}"),
        }
    }
}

impl IntoFuture for TestRequest {
    type Output = TestResponse;
    type IntoFuture = Pin<Box<dyn Future<Output = TestResponse> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
