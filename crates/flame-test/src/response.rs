//! [`TestResponse`]: an answer read whole.

use bytes::Bytes;
use flame_core::ErrorBody;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// An answer, read whole: status, headers and body.
///
/// ```
/// use flame_core::{Flame, HttpError};
/// use flame_test::TestServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut f = Flame::new();
/// f.get("/gone", || Err::<(), _>(HttpError::not_found("no such page")));
/// let server = TestServer::start(f).await;
/// let answer = server.get("/gone").await;
/// assert_eq!(answer.status(), 404);
/// assert_eq!(answer.header("content-type"), Some("application/json"));
/// assert_eq!(answer.error().error.code, "not_found");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text; `None` when absent (or not text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text.
    ///
    /// # Panics
    ///
    /// When the body is not UTF-8.
    #[track_caller]
    pub fn text(&self) -> &str {
        match std::str::from_utf8(&self.body) {
            Ok(text) => text,
            Err(e) => panic!("the body is not UTF-8 ({e}): {:?}", self.body),
        }
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Panics
    ///
    /// When it does not parse, with the body in the message.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "the body is not the JSON expected ({e}); status {}, body: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            ),
        }
    }

    /// The body as the framework's JSON error ([`ErrorBody`]).
    ///
    /// # Panics
    ///
    /// When it is not one, with the body in the message.
    #[track_caller]
    pub fn error(&self) -> ErrorBody {
        self.json()
    }
}
