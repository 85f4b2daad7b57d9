//! Return values: whatever a handler returns becomes the response.
//!
//! Every handler's output implements [`Return`], which turns it into a [`Reply`]; the request's
//! [`ReturnHandler`] then writes the reply to the [`ResponseWriter`](crate::ResponseWriter).
//! The rules are Flamego's:
//!
//! | returned | response |
//! |---|---|
//! | `()`, `None`, `""`, an empty `Vec<u8>`, `Ok(())` | nothing is written: the chain goes on |
//! | `&'static str`, `String`, `Vec<u8>`, `Bytes` | 200 with that body |
//! | `(StatusCode, body)` or `(u16, body)` | that status with that body (an empty body still writes the status) |
//! | `Err(e)` of `Result<body, E>` | 500 (or `e`'s own status) with the error's message |
//! | `(StatusCode, Err(e))`, `(StatusCode, e)` | that status with the error's message |
//! | [`Json<T>`] | 200, `application/json` |
//! | an `http::Response`, or any axum `IntoResponse` in [`Axum`] | as it is |
//!
//! Your own types join in by implementing [`Return`], and a [`ReturnHandler`] mapped into the
//! app (or one request) replaces how replies are written, as Flamego's `ReturnHandler` does.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::context::Context;
use crate::error_format::{ErrorBody, ErrorFormat, ErrorInfo, FieldError, status_code_name};

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A handler's output, ready to be written: nothing, a status, a body, an error, or a response.
///
/// Build one with its constructors when implementing [`Return`] for your own types:
///
/// ```
/// use flame_core::{Reply, Return, StatusCode};
///
/// struct Created(u64);
///
/// impl Return for Created {
///     fn into_reply(self) -> Reply {
///         Reply::text(format!("created {}", self.0))
///             .with_status(StatusCode::CREATED)
///             .with_header("location", &format!("/items/{}", self.0))
///     }
/// }
///
/// let reply = Created(7).into_reply();
/// assert_eq!(reply.status(), Some(StatusCode::CREATED));
/// assert_eq!(reply.body_bytes().as_deref(), Some(&b"created 7"[..]));
/// ```
#[derive(Debug)]
pub struct Reply {
    kind: ReplyKind,
}

#[derive(Debug)]
enum ReplyKind {
    Empty,
    Status(StatusCode),
    Body {
        status: Option<StatusCode>,
        content_type: HeaderValue,
        headers: Option<Box<HeaderMap>>,
        body: Bytes,
    },
    Error {
        status: StatusCode,
        message: Cow<'static, str>,
        /// `None` for Flamego's plain error: text, no code of its own, no headers. Boxed so
        /// that the common replies stay small.
        extra: Option<Box<ErrorExtra>>,
    },
    Response(Response),
}

#[derive(Debug)]
struct ErrorExtra {
    code: Option<Cow<'static, str>>,
    fields: Vec<FieldError>,
    headers: Option<HeaderMap>,
    format: ErrorFormat,
    /// Written as Go's `http.Error`: the message, a newline, `nosniff` (Flamego's 404).
    go_http_error: bool,
}

impl Default for ErrorExtra {
    fn default() -> Self {
        Self {
            code: None,
            fields: Vec::new(),
            headers: None,
            format: ErrorFormat::Text,
            go_http_error: false,
        }
    }
}

impl Reply {
    /// Nothing: the response is left as it is and the chain goes on.
    pub const fn empty() -> Self {
        Self {
            kind: ReplyKind::Empty,
        }
    }

    /// Only a status, with no body; this still counts as written.
    pub const fn status_only(status: StatusCode) -> Self {
        Self {
            kind: ReplyKind::Status(status),
        }
    }

    /// A `text/plain` body; an empty string is [`Reply::empty`].
    pub fn text(body: impl Into<Bytes>) -> Self {
        Self::body(body.into(), TEXT_PLAIN)
    }

    /// An `application/octet-stream` body; an empty one is [`Reply::empty`].
    pub fn bytes(body: impl Into<Bytes>) -> Self {
        Self::body(body.into(), OCTET_STREAM)
    }

    /// A body with an explicit content type; an empty body is [`Reply::empty`].
    pub fn with_content_type(body: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        Self::body(body.into(), content_type)
    }

    fn body(body: Bytes, content_type: HeaderValue) -> Self {
        if body.is_empty() {
            return Self::empty();
        }
        Self {
            kind: ReplyKind::Body {
                status: None,
                content_type,
                headers: None,
                body,
            },
        }
    }

    /// A JSON body; a value that fails to serialize becomes a 500 error.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::body(body.into(), APPLICATION_JSON),
            Err(err) => Self::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        }
    }

    /// An error: its status and message, written as Flamego's return handler writes
    /// `err.Error()`: `text/plain; charset=utf-8`, the message exactly, no trailing newline
    /// (unless a [`ReturnHandler`] renders errors differently).
    pub fn error(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind: ReplyKind::Error {
                status,
                message: message.into(),
                extra: None,
            },
        }
    }

    /// A framework error: its status, a stable `code` and a message, written as an
    /// [`ErrorBody`] (`application/json`) unless a [`ReturnHandler`] renders errors
    /// differently. [`HttpError`](crate::HttpError), the body arguments' refusals and
    /// flame-auth's errors are these.
    ///
    /// ```
    /// use flame_core::{FieldError, Reply, StatusCode};
    ///
    /// let reply = Reply::json_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "the input is not valid")
    ///     .with_fields(vec![FieldError::new("name", "length", "too short")]);
    /// assert_eq!(reply.error_code().as_deref(), Some("validation_failed"));
    /// assert_eq!(
    ///     reply.body_bytes().as_deref(),
    ///     Some(&br#"{"error":{"code":"validation_failed","message":"the input is not valid","fields":[{"path":"name","code":"length","message":"too short"}]}}"#[..])
    /// );
    /// ```
    pub fn json_error(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            kind: ReplyKind::Error {
                status,
                message: message.into(),
                extra: Some(Box::new(ErrorExtra {
                    code: Some(code.into()),
                    format: ErrorFormat::Json,
                    ..ErrorExtra::default()
                })),
            },
        }
    }

    /// Go's `http.Error` as Flamego's default 404 writes it: text, a trailing newline,
    /// `X-Content-Type-Options: nosniff`; an error reply like any other for a
    /// [`ReturnHandler`].
    pub(crate) fn go_http_error(
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    ) -> Self {
        Self {
            kind: ReplyKind::Error {
                status,
                message: Cow::Borrowed(message),
                extra: Some(Box::new(ErrorExtra {
                    code: Some(Cow::Borrowed(code)),
                    go_http_error: true,
                    ..ErrorExtra::default()
                })),
            },
        }
    }

    fn error_extra_mut(&mut self) -> Option<&mut ErrorExtra> {
        match &mut self.kind {
            ReplyKind::Error { extra, .. } => Some(extra.get_or_insert_with(Box::default)),
            _ => None,
        }
    }

    /// Sets the fields that failed validation, on an error reply (other replies are left as
    /// they are).
    #[must_use]
    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        if let Some(extra) = self.error_extra_mut() {
            extra.fields = fields;
        }
        self
    }

    /// Sets the code of an error reply (other replies are left as they are).
    ///
    /// ```
    /// use flame_core::{Reply, StatusCode};
    ///
    /// let reply = Reply::error(StatusCode::CONFLICT, "taken").with_error_code("name_taken");
    /// assert_eq!(reply.error_code().as_deref(), Some("name_taken"));
    /// ```
    #[must_use]
    pub fn with_error_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        if let Some(extra) = self.error_extra_mut() {
            extra.code = Some(code.into());
        }
        self
    }

    /// Writes an error reply in `format` (other replies are left as they are): a
    /// [`ReturnHandler`] that calls `reply.with_error_format(ErrorFormat::Json)` answers
    /// every error, handlers' own included, with an [`ErrorBody`].
    #[must_use]
    pub fn with_error_format(mut self, format: ErrorFormat) -> Self {
        if let Some(extra) = self.error_extra_mut() {
            extra.format = format;
            if format != ErrorFormat::Text {
                extra.go_http_error = false;
            }
        }
        self
    }

    /// The code of an error reply: its own, or the status's name ([`status_code_name`]).
    pub fn error_code(&self) -> Option<Cow<'static, str>> {
        match &self.kind {
            ReplyKind::Error { status, extra, .. } => Some(
                extra
                    .as_ref()
                    .and_then(|extra| extra.code.clone())
                    .unwrap_or_else(|| status_code_name(*status)),
            ),
            _ => None,
        }
    }

    /// The fields that failed validation, for error replies that carry them.
    pub fn error_fields(&self) -> &[FieldError] {
        match &self.kind {
            ReplyKind::Error {
                extra: Some(extra), ..
            } => &extra.fields,
            _ => &[],
        }
    }

    /// How an error reply will be written; `None` for other replies.
    pub fn error_format(&self) -> Option<ErrorFormat> {
        match &self.kind {
            ReplyKind::Error { extra, .. } => Some(
                extra
                    .as_ref()
                    .map_or(ErrorFormat::Text, |extra| extra.format),
            ),
            _ => None,
        }
    }

    /// An error reply as an [`ErrorBody`], whatever its format.
    ///
    /// ```
    /// use flame_core::{Reply, StatusCode};
    ///
    /// let body = Reply::error(StatusCode::NOT_FOUND, "no todo 3").error_body().unwrap();
    /// assert_eq!((body.error.code.as_ref(), body.error.message.as_ref()), ("not_found", "no todo 3"));
    /// ```
    pub fn error_body(&self) -> Option<ErrorBody> {
        match &self.kind {
            ReplyKind::Error { message, extra, .. } => Some(ErrorBody {
                error: ErrorInfo {
                    code: self.error_code().unwrap_or_default(),
                    message: message.clone(),
                    fields: extra
                        .as_ref()
                        .map(|extra| extra.fields.clone())
                        .unwrap_or_default(),
                },
            }),
            _ => None,
        }
    }

    /// A complete response, written as it is.
    pub fn response(response: Response) -> Self {
        Self {
            kind: ReplyKind::Response(response),
        }
    }

    /// Replaces the status. An empty reply becomes a status-only reply.
    #[must_use]
    pub fn with_status(mut self, new_status: StatusCode) -> Self {
        self.kind = match self.kind {
            ReplyKind::Empty | ReplyKind::Status(_) => ReplyKind::Status(new_status),
            ReplyKind::Body {
                content_type,
                headers,
                body,
                ..
            } => ReplyKind::Body {
                status: Some(new_status),
                content_type,
                headers,
                body,
            },
            ReplyKind::Error { message, extra, .. } => ReplyKind::Error {
                status: new_status,
                message,
                extra,
            },
            ReplyKind::Response(mut response) => {
                *response.status_mut() = new_status;
                ReplyKind::Response(response)
            }
        };
        self
    }

    /// Adds a header; an invalid name or value turns the reply into a 500 error saying so.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let (name, value) = match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => (name, value),
            _ => {
                return Self::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid header {name:?}"),
                );
            }
        };
        match &mut self.kind {
            ReplyKind::Body { headers, .. } => {
                headers.get_or_insert_with(Box::default).insert(name, value);
            }
            ReplyKind::Response(response) => {
                response.headers_mut().insert(name, value);
            }
            ReplyKind::Error { extra, .. } => {
                extra
                    .get_or_insert_with(Box::default)
                    .headers
                    .get_or_insert_with(HeaderMap::new)
                    .insert(name, value);
            }
            ReplyKind::Empty | ReplyKind::Status(_) => {
                let status = self.status().unwrap_or(StatusCode::OK);
                let mut response = Response::new(Body::empty());
                *response.status_mut() = status;
                response.headers_mut().insert(name, value);
                self.kind = ReplyKind::Response(response);
            }
        }
        self
    }

    /// Whether this reply writes nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self.kind, ReplyKind::Empty)
    }

    /// Whether this reply is an error.
    pub fn is_error(&self) -> bool {
        matches!(self.kind, ReplyKind::Error { .. })
    }

    /// The status this reply sets, if it sets one (`None` for empty replies and for bodies that
    /// keep the writer's status, 200 unless set).
    pub fn status(&self) -> Option<StatusCode> {
        match &self.kind {
            ReplyKind::Empty => None,
            ReplyKind::Status(status) | ReplyKind::Error { status, .. } => Some(*status),
            ReplyKind::Body { status, .. } => *status,
            ReplyKind::Response(response) => Some(response.status()),
        }
    }

    /// The error message, for error replies.
    pub fn error_message(&self) -> Option<&str> {
        match &self.kind {
            ReplyKind::Error { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The body, for replies whose body is already in memory.
    pub fn body_bytes(&self) -> Option<Bytes> {
        match &self.kind {
            ReplyKind::Body { body, .. } => Some(body.clone()),
            ReplyKind::Error { .. } => self.error_parts().map(|(_, _, body)| body),
            _ => None,
        }
    }

    /// An error reply's content type, extra headers and body, as [`Reply::write_to`] writes
    /// them.
    fn error_parts(&self) -> Option<(HeaderValue, Option<Box<HeaderMap>>, Bytes)> {
        let ReplyKind::Error { message, extra, .. } = &self.kind else {
            return None;
        };
        let Some(extra) = extra else {
            return Some((TEXT_PLAIN, None, cow_bytes(message.clone())));
        };
        let mut headers = extra.headers.clone().map(Box::new);
        let (content_type, body) = match extra.format {
            ErrorFormat::Json => match serde_json::to_vec(&self.error_body()) {
                Ok(body) => (APPLICATION_JSON, Bytes::from(body)),
                // An ErrorBody is strings all the way down; this cannot fail, and if it did
                // the message is still worth sending.
                Err(_) => (TEXT_PLAIN, cow_bytes(message.clone())),
            },
            ErrorFormat::Text if extra.go_http_error => {
                headers.get_or_insert_with(Box::default).insert(
                    http::header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                (TEXT_PLAIN, Bytes::from(format!("{message}\n")))
            }
            ErrorFormat::Text => (TEXT_PLAIN, cow_bytes(message.clone())),
        };
        Some((content_type, headers, body))
    }

    /// Writes this reply the default way: Flamego's rules; an error in its
    /// [`ErrorFormat`] (a handler's own error as its message alone, a framework error as an
    /// [`ErrorBody`]).
    pub fn write_to(self, ctx: &Context) {
        let writer = ctx.response_writer();
        match self.kind {
            ReplyKind::Empty => {}
            ReplyKind::Status(status) => writer.write_header(status),
            ReplyKind::Body {
                status,
                content_type,
                headers,
                body,
            } => writer.write_full(status, content_type, headers, body),
            ReplyKind::Error { status, .. } => {
                if let Some((content_type, headers, body)) = self.error_parts() {
                    writer.write_full(Some(status), content_type, headers, body);
                }
            }
            ReplyKind::Response(response) => writer.write_response(response),
        }
    }
}

fn cow_bytes(message: Cow<'static, str>) -> Bytes {
    match message {
        Cow::Borrowed(message) => Bytes::from_static(message.as_bytes()),
        Cow::Owned(message) => Bytes::from(message),
    }
}

/// Turns a handler's output into a [`Reply`]: whatever a handler returns becomes the response.
///
/// The request's [`ReturnHandler`] then writes the reply to the
/// [`ResponseWriter`](crate::ResponseWriter). The rules are Flamego's:
///
/// | returned | response |
/// |---|---|
/// | `()`, `None`, `""`, an empty `Vec<u8>`, `Ok(())` | nothing is written: the chain goes on |
/// | `&'static str`, `String`, `Vec<u8>`, `Bytes` | 200 with that body |
/// | `(StatusCode, body)` or `(u16, body)` | that status with that body (an empty body still writes the status) |
/// | `Err(e)` of `Result<body, E>` | 500 (or `e`'s own status) with the error's message |
/// | `(StatusCode, Err(e))`, `(StatusCode, e)` | that status with the error's message |
/// | [`Json<T>`] | 200, `application/json` |
/// | an `http::Response`, or any axum `IntoResponse` in [`Axum`] | as it is |
///
/// Implement it for your own types to return them from handlers; a [`ReturnHandler`] mapped
/// into the app (or one request) replaces how replies are written.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a flame handler",
    label = "not a handler return value",
    note = "return (), a string, bytes, (StatusCode, body), Result<body, E>, Json<T>, or wrap an axum `IntoResponse` in `flame_core::Axum`",
    note = "or implement `flame_core::Return` for your type"
)]
pub trait Return {
    /// Converts into a reply.
    fn into_reply(self) -> Reply;
}

impl Return for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl Return for () {
    fn into_reply(self) -> Reply {
        Reply::empty()
    }
}

impl Return for &'static str {
    fn into_reply(self) -> Reply {
        Reply::text(self)
    }
}

impl Return for String {
    fn into_reply(self) -> Reply {
        Reply::text(self)
    }
}

impl Return for Cow<'static, str> {
    fn into_reply(self) -> Reply {
        match self {
            Cow::Borrowed(s) => Reply::text(s),
            Cow::Owned(s) => Reply::text(s),
        }
    }
}

impl Return for Vec<u8> {
    fn into_reply(self) -> Reply {
        Reply::bytes(self)
    }
}

impl Return for &'static [u8] {
    fn into_reply(self) -> Reply {
        Reply::bytes(self)
    }
}

impl Return for Bytes {
    fn into_reply(self) -> Reply {
        Reply::bytes(self)
    }
}

impl Return for StatusCode {
    fn into_reply(self) -> Reply {
        Reply::status_only(self)
    }
}

impl Return for Response {
    fn into_reply(self) -> Reply {
        Reply::response(self)
    }
}

impl<R: Return> Return for Option<R> {
    fn into_reply(self) -> Reply {
        self.map_or_else(Reply::empty, Return::into_reply)
    }
}

impl<R: Return> Return for (StatusCode, R) {
    fn into_reply(self) -> Reply {
        self.1.into_reply().with_status(self.0)
    }
}

impl<R: Return> Return for (u16, R) {
    fn into_reply(self) -> Reply {
        match StatusCode::from_u16(self.0) {
            Ok(status) => self.1.into_reply().with_status(status),
            Err(_) => Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("invalid status code {}", self.0),
            ),
        }
    }
}

impl<R: Return, E: ReturnError> Return for Result<R, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => value.into_reply(),
            Err(err) => err.into_error_reply(),
        }
    }
}

/// An error that can be returned from a handler (alone, in a `Result`, or with a status).
///
/// By default it answers 500 with its `Display` text; override [`ReturnError::status`] to
/// choose another status, or [`ReturnError::into_error_reply`] to render it yourself.
/// Implemented for the usual error types; for your own, one line does it:
///
/// ```
/// use flame_core::{ReturnError, StatusCode};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("no such order {0}")]
/// struct NoSuchOrder(u64);
///
/// impl ReturnError for NoSuchOrder {
///     fn status(&self) -> StatusCode { StatusCode::NOT_FOUND }
/// }
///
/// let reply = NoSuchOrder(9).into_error_reply();
/// assert_eq!(reply.status(), Some(StatusCode::NOT_FOUND));
/// assert_eq!(reply.error_message(), Some("no such order 9"));
/// ```
pub trait ReturnError: fmt::Display {
    /// The status to answer with; 500 unless overridden.
    fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The reply: the status and the `Display` text, unless overridden.
    fn into_error_reply(self) -> Reply
    where
        Self: Sized,
    {
        let status = self.status();
        Reply::error(status, self.to_string())
    }
}

macro_rules! return_error {
    ($($ty:ty),* $(,)?) => {$(
        impl ReturnError for $ty {}
    )*};
}

return_error!(
    anyhow::Error,
    std::io::Error,
    std::fmt::Error,
    Box<dyn std::error::Error>,
    Box<dyn std::error::Error + Send + Sync>,
    String,
    &'static str,
    serde_json::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
);

impl ReturnError for Infallible {}

impl Return for Infallible {
    fn into_reply(self) -> Reply {
        match self {}
    }
}

/// A JSON body: `application/json`, 200 unless paired with a status.
///
/// As an argument, `Json<T>` is the request body parsed as JSON (see [`bind`](crate::bind)).
///
/// ```
/// use flame_core::{Json, Return};
///
/// let reply = Json(serde_json::json!({"ok": true})).into_reply();
/// assert_eq!(reply.body_bytes().as_deref(), Some(&br#"{"ok":true}"#[..]));
/// ```
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> Return for Json<T> {
    fn into_reply(self) -> Reply {
        Reply::json(&self.0)
    }
}

/// Any axum [`IntoResponse`] value as a handler return value.
///
/// ```
/// use flame_core::{Axum, Return, StatusCode};
///
/// let reply = Axum((StatusCode::CREATED, [("x-id", "7")], "made")).into_reply();
/// assert_eq!(reply.status(), Some(StatusCode::CREATED));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Axum<T>(pub T);

impl<T: IntoResponse> Return for Axum<T> {
    fn into_reply(self) -> Reply {
        Reply::response(self.0.into_response())
    }
}

/// Writes a [`Reply`] to the response: map one into the app (or a request) to replace
/// flame's default, as Flamego lets you replace its `ReturnHandler`.
///
/// ```
/// use flame_core::{Flame, Reply, ReturnHandler, StatusCode};
///
/// let mut f = Flame::new();
/// // Render every error as JSON instead of plain text.
/// f.map(ReturnHandler::new(|c, reply: Reply| {
///     if let (true, Some(status)) = (reply.is_error(), reply.status()) {
///         let message = reply.error_message().unwrap_or_default().to_owned();
///         Reply::json(&serde_json::json!({ "error": message })).with_status(status).write_to(c);
///     } else {
///         reply.write_to(c);
///     }
/// }));
/// f.get("/", || Err::<(), _>("broken"));
/// ```
#[derive(Clone)]
pub struct ReturnHandler(Arc<WriteReply>);

type WriteReply = dyn Fn(&Context, Reply) + Send + Sync;

impl ReturnHandler {
    /// A return handler that writes replies with `write`.
    pub fn new(write: impl Fn(&Context, Reply) + Send + Sync + 'static) -> Self {
        Self(Arc::new(write))
    }

    /// Writes `reply` for `ctx`.
    pub fn handle(&self, ctx: &Context, reply: Reply) {
        (self.0)(ctx, reply);
    }
}

impl fmt::Debug for ReturnHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReturnHandler")
    }
}
