//! [`Render`]: JSON, XML, plain text and bytes, with the right content types.

use bytes::Bytes;
use http::StatusCode;
use http::header::HeaderValue;
use serde::Serialize;

use crate::context::Context;
use crate::return_value::Reply;

/// Writes rendered responses; a builtin service every request has.
///
/// ```
/// use flame_core::{Flame, Render, StatusCode};
///
/// #[derive(serde::Serialize)]
/// struct User { name: String }
///
/// let mut f = Flame::new();
/// f.get("/user.json", |r: Render| r.json(StatusCode::OK, &User { name: "ada".into() }));
/// f.get("/user.xml", |r: Render| r.xml(StatusCode::OK, &User { name: "ada".into() }));
/// f.get("/hello", |r: Render| r.plain_text(StatusCode::OK, "hello"));
/// ```
#[derive(Clone)]
pub struct Render(pub(crate) Context);

impl std::fmt::Debug for Render {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Render")
    }
}

impl Render {
    fn write(&self, status: StatusCode, body: Bytes, content_type: &'static str) {
        let reply = Reply::with_content_type(body, HeaderValue::from_static(content_type))
            .with_status(status);
        reply.write_to(&self.0);
    }

    /// `application/json; charset=utf-8`; a value that fails to serialize is a 500.
    pub fn json<T: Serialize + ?Sized>(&self, status: StatusCode, value: &T) {
        match serde_json::to_vec(value) {
            Ok(body) => self.write(status, body.into(), "application/json; charset=utf-8"),
            Err(err) => {
                Reply::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).write_to(&self.0)
            }
        }
    }

    /// `application/xml; charset=utf-8`, the root element named after the type; a value that
    /// fails to serialize is a 500.
    pub fn xml<T: Serialize + ?Sized>(&self, status: StatusCode, value: &T) {
        match quick_xml::se::to_string(value) {
            Ok(body) => self.write(status, body.into(), "application/xml; charset=utf-8"),
            Err(err) => {
                Reply::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).write_to(&self.0)
            }
        }
    }

    /// `text/plain; charset=utf-8`.
    pub fn plain_text(&self, status: StatusCode, text: impl Into<Bytes>) {
        self.write(status, text.into(), "text/plain; charset=utf-8");
    }

    /// `application/octet-stream`.
    pub fn binary(&self, status: StatusCode, bytes: impl Into<Bytes>) {
        self.write(status, bytes.into(), "application/octet-stream");
    }
}
