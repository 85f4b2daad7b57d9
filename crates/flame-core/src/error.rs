//! flame-core's errors: one for handlers to return, one for serving, one for the startup check.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

use crate::error_format::FieldError;
use crate::return_value::{Reply, ReturnError};

/// An error with an HTTP status, for handlers to return.
///
/// It answers with the framework's [`ErrorBody`](crate::ErrorBody):
/// `{"error":{"code":"not_found","message":"no user 3"}}`, the code being the status's name
/// unless [`with_code`](HttpError::with_code) sets one; a [`ReturnHandler`](crate::ReturnHandler)
/// sees it as an error reply and may render it otherwise.
///
/// ```
/// use flame_core::{HttpError, ReturnError, StatusCode};
///
/// fn find(id: u64) -> Result<String, HttpError> {
///     Err(HttpError::not_found(format!("no user {id}")))
/// }
///
/// let err = find(3).unwrap_err();
/// assert_eq!(err.status(), StatusCode::NOT_FOUND);
/// assert_eq!(err.to_string(), "no user 3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HttpError {
    status: StatusCode,
    code: Option<Cow<'static, str>>,
    message: Cow<'static, str>,
    fields: Vec<FieldError>,
}

impl HttpError {
    /// An error answering `status` with `message`.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Adds the fields that failed validation to the answer's `fields`, for checks a
    /// handler makes itself.
    ///
    /// ```
    /// use flame_core::{FieldError, HttpError, Return};
    ///
    /// let err = HttpError::unprocessable("the order is not valid")
    ///     .with_code("validation_failed")
    ///     .with_fields(vec![FieldError::new("items", "length", "must not be empty")]);
    /// assert_eq!(err.fields()[0].path, "items");
    /// assert!(err.into_reply().body_bytes().unwrap().ends_with(br#""fields":[{"path":"items","code":"length","message":"must not be empty"}]}}"#));
    /// ```
    #[must_use]
    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = fields;
        self
    }

    /// The fields that failed validation, if any.
    ///
    /// ```
    /// use flame_core::HttpError;
    ///
    /// assert!(HttpError::not_found("no user 3").fields().is_empty());
    /// ```
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// Sets the machine-readable code of the answer (by default the status's name,
    /// [`status_code_name`](crate::status_code_name)).
    ///
    /// ```
    /// use flame_core::{HttpError, Return};
    ///
    /// let reply = HttpError::conflict("the name is taken").with_code("name_taken").into_reply();
    /// assert_eq!(
    ///     reply.body_bytes().as_deref(),
    ///     Some(&br#"{"error":{"code":"name_taken","message":"the name is taken"}}"#[..])
    /// );
    /// ```
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The machine-readable code: the one set, or the status's name.
    ///
    /// ```
    /// use flame_core::HttpError;
    ///
    /// assert_eq!(HttpError::not_found("no user 3").code(), "not_found");
    /// ```
    pub fn code(&self) -> Cow<'static, str> {
        self.code
            .clone()
            .unwrap_or_else(|| crate::status_code_name(self.status))
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401 Unauthorized: the request is not authenticated.
    ///
    /// ```
    /// use flame_core::{HttpError, ReturnError};
    ///
    /// assert_eq!(HttpError::unauthorized("sign in first").status(), 401);
    /// ```
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 Forbidden: authenticated, but not allowed.
    ///
    /// ```
    /// use flame_core::{HttpError, ReturnError};
    ///
    /// assert_eq!(HttpError::forbidden("admins only").status(), 403);
    /// ```
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 409 Conflict: the request collides with the current state (a duplicate, a stale
    /// version).
    ///
    /// ```
    /// use flame_core::{HttpError, ReturnError};
    ///
    /// assert_eq!(HttpError::conflict("the name is taken").status(), 409);
    /// ```
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 422 Unprocessable Entity: well-formed input that does not make sense.
    ///
    /// ```
    /// use flame_core::{HttpError, ReturnError};
    ///
    /// assert_eq!(HttpError::unprocessable("the title is empty").status(), 422);
    /// ```
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 429 Too Many Requests.
    ///
    /// ```
    /// use flame_core::{HttpError, ReturnError};
    ///
    /// assert_eq!(HttpError::too_many_requests("slow down").status(), 429);
    /// ```
    pub fn too_many_requests(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, message)
    }

    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ReturnError for HttpError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn into_error_reply(self) -> Reply {
        let code = self.code();
        Reply::json_error(self.status, code, self.message).with_fields(self.fields)
    }
}

impl crate::Return for HttpError {
    fn into_reply(self) -> Reply {
        self.into_error_reply()
    }
}

/// Why serving stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Resolving, binding or accepting failed.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The startup check failed and the environment is `test`.
    #[error("refusing to start in the test environment:\n{0}")]
    Check(CheckReport),
}

/// One route whose chain needs a type that nothing provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingDependency {
    /// The method and pattern, e.g. `GET /users/{id}`; `(not found)` for the not-found chain.
    pub route: String,
    /// The handler's name.
    pub handler: String,
    /// The handler's 0-based position in the chain.
    pub ordinal: usize,
    /// The missing type's name.
    pub type_name: &'static str,
}

impl fmt::Display for MissingDependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the {} handler [{}] needs {}, which nothing provides",
            self.route,
            flame_inject::__private::ordinal(self.ordinal),
            self.handler,
            self.type_name
        )
    }
}

/// What [`Flame::check`](crate::Flame::check) found: every unmet dependency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every route, handler and type that nothing provides.
    pub missing: Vec<MissingDependency>,
}

impl CheckReport {
    /// Whether every dependency is met.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.missing.is_empty() {
            return f.write_str("every handler's dependencies are provided");
        }
        for (i, missing) in self.missing.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{missing}")?;
        }
        Ok(())
    }
}
