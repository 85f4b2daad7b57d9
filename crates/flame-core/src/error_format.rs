//! The one JSON shape of framework errors, [`ErrorBody`], and how an error reply is written,
//! [`ErrorFormat`].
//!
//! Every error flame itself answers with (a refused body, a failed validation, a route that
//! does not exist, [`HttpError`](crate::HttpError), flame-auth's refusals) is a [`Reply`]
//! error that goes through the app's [`ReturnHandler`](crate::ReturnHandler), so one
//! override renders them all. Without an override, each is written in its default format:
//!
//! | error | default format |
//! |---|---|
//! | an error a handler returns (`Err(e)`, `(StatusCode, e)`) | text: `e`'s message, no newline (Flamego) |
//! | no route matches, or only another method's route (404) | text: `404 page not found\n`, `nosniff` (Flamego) |
//! | `Flame::method_not_allowed(true)`: another method's route matches (405) | JSON, code `method_not_allowed`, with `Allow` |
//! | a body or query argument that cannot be read (400, 413, 415, 422) | JSON |
//! | a failed validation (`Valid<...>`, 422) | JSON, with `fields` |
//! | [`HttpError`](crate::HttpError) | JSON |
//! | flame-auth's `AuthError` | JSON |
//! | a panic caught by `Recovery` (500) | Flamego's page: not a reply, never JSON |
//!
//! The JSON shape:
//!
//! ```json
//! {"error": {"code": "validation_failed", "message": "the input is not valid",
//!            "fields": [{"path": "items[0].name", "code": "length", "message": "..."}]}}
//! ```
//!
//! `code` is stable and machine-readable; `message` is for people; `fields` is there only
//! when a validation failed.

use std::borrow::Cow;

use http::StatusCode;
use serde::{Deserialize, Serialize};

/// How an error [`Reply`](crate::Reply) is written.
///
/// ```
/// use flame_core::{ErrorFormat, Reply, StatusCode};
///
/// let reply = Reply::error(StatusCode::CONFLICT, "taken");
/// assert_eq!(reply.error_format(), Some(ErrorFormat::Text));
/// let reply = reply.with_error_format(ErrorFormat::Json);
/// assert_eq!(
///     reply.body_bytes().as_deref(),
///     Some(&br#"{"error":{"code":"conflict","message":"taken"}}"#[..])
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorFormat {
    /// `text/plain; charset=utf-8`, the message alone: Flamego's way.
    Text,
    /// `application/json`, an [`ErrorBody`].
    Json,
}

/// The JSON body of a framework error: `{"error":{"code":"...","message":"...","fields":[...]}}`.
///
/// It deserializes too, so a client (or a test) can read an answer back:
///
/// ```
/// use flame_core::ErrorBody;
///
/// let body: ErrorBody = serde_json::from_str(
///     r#"{"error":{"code":"validation_failed","message":"the input is not valid",
///         "fields":[{"path":"items[0].name","code":"length","message":"too short"}]}}"#,
/// ).unwrap();
/// assert_eq!(body.error.code, "validation_failed");
/// assert_eq!(body.error.fields[0].path, "items[0].name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInfo,
}

/// The inside of an [`ErrorBody`].
///
/// ```
/// use flame_core::{ErrorBody, ErrorInfo};
///
/// let body = ErrorBody { error: ErrorInfo { code: "not_found".into(), message: "no todo 3".into(), fields: vec![] } };
/// assert_eq!(
///     serde_json::to_string(&body).unwrap(),
///     r#"{"error":{"code":"not_found","message":"no todo 3"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable and machine-readable, `snake_case`: clients branch on it.
    pub code: Cow<'static, str>,
    /// For people.
    pub message: Cow<'static, str>,
    /// The fields that failed validation; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// One field that failed validation: where, which rule, and a message.
///
/// `path` follows the field names as they are in the input, with list indices in brackets:
/// `name`, `address.city`, `items[0].name`.
///
/// ```
/// use flame_core::FieldError;
///
/// let field = FieldError::new("items[0].name", "length", "must be 1 to 40 characters long");
/// assert_eq!(field.path, "items[0].name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Where: `items[0].name`.
    pub path: String,
    /// Which rule failed: `length`, `range`, `email`, or a custom code.
    pub code: Cow<'static, str>,
    /// For people.
    pub message: Cow<'static, str>,
}

impl FieldError {
    /// A field error.
    ///
    /// ```
    /// use flame_core::FieldError;
    ///
    /// assert_eq!(FieldError::new("email", "email", "not an e-mail address").code, "email");
    /// ```
    pub fn new(
        path: impl Into<String>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            path: path.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The code of an error that has none of its own: the status's name in `snake_case`
/// (`not_found`, `payload_too_large`), `internal_error` for 500 (as flame-auth and the actor
/// protocol say), `http_<status>` for a status with no name.
///
/// ```
/// use flame_core::{StatusCode, status_code_name};
///
/// assert_eq!(status_code_name(StatusCode::NOT_FOUND), "not_found");
/// assert_eq!(status_code_name(StatusCode::UNPROCESSABLE_ENTITY), "unprocessable_entity");
/// assert_eq!(status_code_name(StatusCode::INTERNAL_SERVER_ERROR), "internal_error");
/// ```
pub fn status_code_name(status: StatusCode) -> Cow<'static, str> {
    match status {
        StatusCode::BAD_REQUEST => "bad_request".into(),
        StatusCode::UNAUTHORIZED => "unauthorized".into(),
        StatusCode::FORBIDDEN => "forbidden".into(),
        StatusCode::NOT_FOUND => "not_found".into(),
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed".into(),
        StatusCode::CONFLICT => "conflict".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type".into(),
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity".into(),
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests".into(),
        StatusCode::INTERNAL_SERVER_ERROR => "internal_error".into(),
        other => match other.canonical_reason() {
            Some(reason) => reason
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
                .into(),
            None => format!("http_{}", other.as_u16()).into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_without_a_listed_name_use_their_reason() {
        assert_eq!(
            status_code_name(StatusCode::SERVICE_UNAVAILABLE),
            "service_unavailable"
        );
        assert_eq!(
            status_code_name(StatusCode::from_u16(599).unwrap()),
            "http_599"
        );
    }
}
