//! Typed request data: a JSON body, a form, the query string or the raw body, as plain
//! handler arguments, deserialized with serde.
//!
//! A handler that takes [`Json<T>`], [`Form<T>`], [`Query<T>`] or [`RawBody`] gets it read
//! (asynchronously, within the app's body limit) and converted just before it runs, next to
//! its injected arguments; the type is written once. Bad input is answered right there, and
//! the handler does not run:
//!
//! | problem | status | code |
//! |---|---|---|
//! | JSON or form body without its content type | 415 Unsupported Media Type | `unsupported_media_type` |
//! | body larger than the app's body limit | 413 Payload Too Large | `payload_too_large` |
//! | the body already read, or the connection failed while reading | 400 Bad Request | `bad_request` |
//! | malformed JSON | 400 Bad Request | `malformed_body` |
//! | malformed query string, or one that does not fit the type | 400 Bad Request | `invalid_query` |
//! | well-formed data that does not fit the type (missing field, wrong type) | 422 Unprocessable Entity | `invalid_body` |
//!
//! The answer is the framework's JSON [`ErrorBody`](crate::ErrorBody)
//! (`{"error":{"code":"invalid_body","message":"invalid JSON: missing field `name` at line 1 column 2"}}`),
//! written through the app's [`ReturnHandler`](crate::ReturnHandler) when one is mapped.
//!
//! ```
//! use flame_core::{Flame, Json, Query};
//!
//! #[derive(serde::Deserialize)]
//! struct NewUser { name: String }
//!
//! #[derive(serde::Deserialize)]
//! struct Page { page: u32 }
//!
//! let mut f = Flame::new();
//! f.post("/users", |Json(user): Json<NewUser>| format!("created {}", user.name));
//! f.get("/users", |Query(p): Query<Page>| format!("page {}", p.page));
//! assert!(f.check().is_ok());
//! ```
//!
//! As with Flamego's binding middleware, a binder ([`json`], [`form`], [`query`]) placed
//! before the route's handler does the same as a middleware: it refuses bad input before
//! anything after it runs, and hands the value to the argument.
//!
//! ```
//! use flame_core::{Flame, Json, bind};
//!
//! #[derive(serde::Deserialize)]
//! struct NewUser { name: String }
//!
//! let mut f = Flame::new();
//! f.post("/users", (bind::json::<NewUser>(), |Json(user): Json<NewUser>| format!("created {}", user.name)));
//! assert!(f.check().is_ok());
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::HttpError;
use crate::handler::{BoxedHandler, Dependency, HandlerArg, HandlerExt, Prepare, missing};
use crate::return_value::Json;

/// A form body (`application/x-www-form-urlencoded`) deserialized into `T`: a handler
/// argument, or bound by [`form`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

/// The query string deserialized into `T`: a handler argument, or bound by [`query`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

/// The request body as it came, within the app's body limit: a handler argument.
///
/// ```
/// use flame_core::{Flame, RawBody};
///
/// let mut f = Flame::new();
/// f.post("/echo", |RawBody(body): RawBody| body.len().to_string());
/// ```
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RawBody(pub Bytes);

/// One handler argument's value, put there by its [`Prepare`] step (or a binder) right
/// before the handler, and taken by it: body types are not `Clone`, so each argument gets
/// its own.
struct Bound<T>(Arc<Mutex<Option<T>>>);

impl<T> Clone for Bound<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

fn put_bound<T: Send + 'static>(ctx: &Context, value: T) {
    ctx.map(Bound(Arc::new(Mutex::new(Some(value)))));
}

fn has_bound<T: Send + 'static>(ctx: &Context) -> bool {
    ctx.get::<Bound<T>>()
        .is_some_and(|bound| bound.0.lock().is_some())
}

#[track_caller]
pub(crate) fn take_bound<T: Send + 'static>(
    ctx: &Context,
    ordinal: usize,
    name: &dyn Fn() -> Cow<'static, str>,
) -> T {
    match ctx
        .get::<Bound<T>>()
        .and_then(|bound| bound.0.lock().take())
    {
        Some(value) => value,
        None => missing::<T>(ordinal, name),
    }
}

/// The body, read once per request and kept, so that several arguments (or a binder and an
/// argument) can use it.
#[derive(Clone)]
struct BodyBytes(Bytes);

async fn body(ctx: &Context) -> Result<Bytes, HttpError> {
    if let Some(BodyBytes(bytes)) = ctx.get::<BodyBytes>() {
        return Ok(bytes);
    }
    let bytes = ctx.request().body_bytes().await?;
    ctx.map(BodyBytes(bytes.clone()));
    Ok(bytes)
}

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

fn refusal(status: StatusCode, code: &'static str, message: String) -> HttpError {
    HttpError::new(status, message).with_code(code)
}

/// Answers a refused body through the request's return handler, as a handler's returned
/// error would be: one [`ReturnHandler`](crate::ReturnHandler) renders them all.
pub(crate) fn refuse(ctx: &Context, error: HttpError) {
    crate::handler::write_return(ctx, error);
}

pub(crate) async fn json_value<T: DeserializeOwned>(ctx: &Context) -> Result<T, HttpError> {
    if !content_type_is(ctx, "application/json", Some("+json")) {
        return Err(refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a body of type application/json".into(),
        ));
    }
    let body = body(ctx).await?;
    serde_json::from_slice::<T>(&body).map_err(|err| {
        if err.is_data() {
            refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("invalid JSON: {err}"),
            )
        } else {
            refusal(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                format!("malformed JSON: {err}"),
            )
        }
    })
}

pub(crate) async fn form_value<T: DeserializeOwned>(ctx: &Context) -> Result<T, HttpError> {
    if !content_type_is(ctx, "application/x-www-form-urlencoded", None) {
        return Err(refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a body of type application/x-www-form-urlencoded".into(),
        ));
    }
    let body = body(ctx).await?;
    serde_urlencoded::from_bytes::<T>(&body).map_err(|err| {
        refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("invalid form: {err}"),
        )
    })
}

pub(crate) fn query_value<T: DeserializeOwned>(ctx: &Context) -> Result<T, HttpError> {
    serde_urlencoded::from_str::<T>(ctx.uri().query().unwrap_or_default()).map_err(|err| {
        refusal(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("invalid query string: {err}"),
        )
    })
}

/// The [`Prepare`] step of a body argument: reads and converts it, unless a binder already
/// did; a refusal is written as the answer and the handler does not run.
pub(crate) fn prepare_with<V, Fut>(
    ctx: &Context,
    read: fn(Context) -> Fut,
) -> BoxFuture<'static, bool>
where
    V: Send + 'static,
    Fut: std::future::Future<Output = Result<V, HttpError>> + Send + 'static,
{
    let ctx = ctx.clone();
    Box::pin(async move {
        if has_bound::<V>(&ctx) {
            return true;
        }
        match read(ctx.clone()).await {
            Ok(value) => {
                put_bound(&ctx, value);
                true
            }
            Err(refusal) => {
                refuse(&ctx, refusal);
                false
            }
        }
    })
}

fn prepare_json<T: DeserializeOwned + Send + 'static>(ctx: &Context) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move { json_value::<T>(&c).await.map(Json) })
}

fn prepare_form<T: DeserializeOwned + Send + 'static>(ctx: &Context) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move { form_value::<T>(&c).await.map(Form) })
}

fn prepare_query<T: DeserializeOwned + Send + 'static>(ctx: &Context) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move { query_value::<T>(&c).map(Query) })
}

fn prepare_raw(ctx: &Context) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move { body(&c).await.map(RawBody) })
}

impl<T: DeserializeOwned + Send + 'static> HandlerArg for Json<T> {
    const PREPARE: Option<Prepare> = Some(prepare_json::<T>);

    fn dependency() -> Option<Dependency> {
        None
    }

    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
        take_bound(ctx, ordinal, name)
    }
}

impl<T: DeserializeOwned + Send + 'static> HandlerArg for Form<T> {
    const PREPARE: Option<Prepare> = Some(prepare_form::<T>);

    fn dependency() -> Option<Dependency> {
        None
    }

    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
        take_bound(ctx, ordinal, name)
    }
}

impl<T: DeserializeOwned + Send + 'static> HandlerArg for Query<T> {
    const PREPARE: Option<Prepare> = Some(prepare_query::<T>);

    fn dependency() -> Option<Dependency> {
        None
    }

    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
        take_bound(ctx, ordinal, name)
    }
}

impl HandlerArg for RawBody {
    const PREPARE: Option<Prepare> = Some(prepare_raw);

    fn dependency() -> Option<Dependency> {
        None
    }

    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
        take_bound(ctx, ordinal, name)
    }
}

/// Binds an `application/json` (or `+json`) body to `T`, for a [`Json<T>`] argument of the
/// handlers after it. A `Json<T>` argument reads the body by itself; a binder is for chains
/// where a middleware should refuse bad input before anything else runs.
pub fn json<T: DeserializeOwned + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| async move {
        match json_value::<T>(&c).await {
            Ok(value) => put_bound(&c, Json(value)),
            Err(refusal) => refuse(&c, refusal),
        }
    })
    .provides::<Json<T>>()
}

/// Binds an `application/x-www-form-urlencoded` body to `T`, for a [`Form<T>`] argument of
/// the handlers after it.
pub fn form<T: DeserializeOwned + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| async move {
        match form_value::<T>(&c).await {
            Ok(value) => put_bound(&c, Form(value)),
            Err(refusal) => refuse(&c, refusal),
        }
    })
    .provides::<Form<T>>()
}

/// Binds the query string to `T`, for a [`Query<T>`] argument of the handlers after it.
pub fn query<T: DeserializeOwned + Send + Sync + 'static>() -> BoxedHandler {
    (|c: Context| match query_value::<T>(&c) {
        Ok(value) => put_bound(&c, Query(value)),
        Err(refusal) => refuse(&c, refusal),
    })
    .provides::<Query<T>>()
}
