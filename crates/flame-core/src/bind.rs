//! Typed request data: bind a JSON body, a form or the query string to a type with serde.
//!
//! As with Flamego's binding middleware, a binding is a handler placed before the route's own:
//! it reads and checks the request, then maps the typed value for the handlers after it (and
//! declares so for [`Flame::check`](crate::Flame::check)). Bad input is answered right there:
//!
//! | problem | status |
//! |---|---|
//! | JSON or form body without its content type | 415 Unsupported Media Type |
//! | body larger than the app's body limit | 413 Payload Too Large |
//! | malformed JSON, malformed query string | 400 Bad Request |
//! | well-formed data that does not fit the type (missing field, wrong type) | 422 Unprocessable Entity |
//!
//! ```
//! use flame_core::{Flame, Json, bind};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct NewUser { name: String }
//!
//! let mut f = Flame::new();
//! f.post("/users", (bind::json::<NewUser>(), |Json(user): Json<NewUser>| format!("created {}", user.name)));
//! assert!(f.check().is_ok());
//! ```

use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::handler::{BoxedHandler, HandlerExt};
use crate::return_value::{Json, Reply};

/// A form body (`application/x-www-form-urlencoded`) bound to `T` by [`form`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

/// The query string bound to `T` by [`query`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

fn content_type_is(ctx: &Context, expected: &str, suffix: Option<&str>) -> bool {
    let Some(value) = ctx
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == expected || suffix.is_some_and(|suffix| essence.ends_with(suffix))
}

fn refuse(ctx: &Context, status: StatusCode, message: String) {
    Reply::error(status, message).write_to(ctx);
}

/// Binds an `application/json` (or `+json`) body to `T`, mapped as [`Json<T>`].
pub fn json<T: DeserializeOwned + Clone + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| async move {
        if !content_type_is(&c, "application/json", Some("+json")) {
            return refuse(
                &c,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a body of type application/json".into(),
            );
        }
        let body = match c.request().body_bytes().await {
            Ok(body) => body,
            Err(err) => return crate::ReturnError::into_error_reply(err).write_to(&c),
        };
        match serde_json::from_slice::<T>(&body) {
            Ok(value) => c.map(Json(value)),
            Err(err) if err.is_data() => refuse(
                &c,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid JSON: {err}"),
            ),
            Err(err) => refuse(
                &c,
                StatusCode::BAD_REQUEST,
                format!("malformed JSON: {err}"),
            ),
        }
    })
    .provides::<Json<T>>()
}

/// Binds an `application/x-www-form-urlencoded` body to `T`, mapped as [`Form<T>`].
pub fn form<T: DeserializeOwned + Clone + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| async move {
        if !content_type_is(&c, "application/x-www-form-urlencoded", None) {
            return refuse(
                &c,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a body of type application/x-www-form-urlencoded".into(),
            );
        }
        let body = match c.request().body_bytes().await {
            Ok(body) => body,
            Err(err) => return crate::ReturnError::into_error_reply(err).write_to(&c),
        };
        match serde_urlencoded::from_bytes::<T>(&body) {
            Ok(value) => c.map(Form(value)),
            Err(err) => refuse(
                &c,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid form: {err}"),
            ),
        }
    })
    .provides::<Form<T>>()
}

/// Binds the query string to `T`, mapped as [`Query<T>`].
pub fn query<T: DeserializeOwned + Clone + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| match serde_urlencoded::from_str::<T>(c.uri().query().unwrap_or_default()) {
        Ok(value) => c.map(Query(value)),
        Err(err) => refuse(
            &c,
            StatusCode::BAD_REQUEST,
            format!("invalid query string: {err}"),
        ),
    })
    .provides::<Query<T>>()
}
