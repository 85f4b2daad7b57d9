//! [`Request`]: the incoming request, and reading its body with a size limit.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};
use http_body_util::{BodyExt, Limited};

use crate::HttpError;
use crate::context::Context;

/// The incoming request, as a cheap handle; inject it as an argument.
///
/// ```
/// use flame_core::{Flame, Request};
///
/// let mut f = Flame::new();
/// f.post("/echo", |r: Request| async move {
///     r.body_bytes().await.map(|body| format!("{} sent {} bytes", r.method(), body.len()))
/// });
/// ```
#[derive(Clone)]
pub struct Request(pub(crate) Context);

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", self.method())
            .field("uri", self.uri())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.0.inner().parts.method
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.0.inner().parts.uri
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.0.inner().parts.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.inner().parts.headers
    }

    /// The extensions set by tower layers.
    pub fn extensions(&self) -> &http::Extensions {
        &self.0.inner().parts.extensions
    }

    /// Takes the raw body stream; `None` if it was already taken or read.
    pub fn take_body(&self) -> Option<Body> {
        self.0.inner().body.lock().take()
    }

    /// Puts `body` back as the request's body, for middleware that had to read it (a CSRF
    /// check looking for a form field): the handlers after it read `body` as if untouched.
    ///
    /// ```
    /// use flame_core::{Context, Flame, Request};
    ///
    /// let mut f = Flame::new();
    /// f.use_(|r: Request, c: Context| async move {
    ///     let body = r.body_bytes().await?;
    ///     r.restore_body(body); // inspected, and given back
    ///     c.next().await;
    ///     Ok::<(), flame_core::HttpError>(())
    /// });
    /// f.post("/echo", |r: Request| async move { r.body_string().await });
    /// ```
    pub fn restore_body(&self, body: impl Into<Body>) {
        *self.0.inner().body.lock() = Some(body.into());
    }

    /// Reads the whole body, up to the app's body limit (`Flame::body_limit`, 2 MiB by default).
    ///
    /// The limit applies while the body streams in, never after buffering it: a body whose
    /// `Content-Length` is over the limit is refused before any of it is read, and a longer
    /// streamed one as soon as it passes the limit; the rest is never read.
    ///
    /// # Errors
    ///
    /// 413 Payload Too Large over the limit; 408 Request Timeout when the client stopped
    /// sending the body for the server's
    /// [`body_read_timeout`](crate::server::ServerConfig::body_read_timeout); 400 when the
    /// body was already read or the connection failed while reading.
    pub async fn body_bytes(&self) -> Result<Bytes, HttpError> {
        self.body_bytes_limited(self.0.app().body_limit).await
    }

    /// Reads the whole body, up to `limit` bytes instead of the app's body limit: for a
    /// route that takes less (or more) than the rest of the app. The limit is enforced as
    /// [`Request::body_bytes`] enforces the app's.
    ///
    /// ```
    /// use flame_core::{Flame, Request};
    ///
    /// let mut f = Flame::new();
    /// f.post("/small", |r: Request| async move {
    ///     r.body_bytes_limited(1024).await.map(|body| body.len().to_string())
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Request::body_bytes`], with `limit`.
    pub async fn body_bytes_limited(&self, limit: usize) -> Result<Bytes, HttpError> {
        let too_large = || {
            HttpError::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than {limit} bytes"),
            )
        };
        let declared = self
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let body = self
            .take_body()
            .ok_or_else(|| HttpError::bad_request("request body already read"))?;
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err)
                if err
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(too_large())
            }
            Err(err) => match crate::server::BodyReadTimeout::find(&*err) {
                Some(timeout) => Err(HttpError::new(
                    http::StatusCode::REQUEST_TIMEOUT,
                    timeout.to_string(),
                )),
                None => Err(HttpError::bad_request(format!(
                    "cannot read request body: {err}"
                ))),
            },
        }
    }

    /// Reads the whole body as UTF-8 text, up to the body limit.
    ///
    /// # Errors
    ///
    /// As [`Request::body_bytes`], and 400 when the body is not UTF-8.
    pub async fn body_string(&self) -> Result<String, HttpError> {
        let bytes = self.body_bytes().await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| HttpError::bad_request("request body is not valid UTF-8"))
    }
}
