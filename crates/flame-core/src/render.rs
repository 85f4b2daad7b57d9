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

    /// `application/json; charset=utf-8`, written as Go's `json.Encoder` (and so Flamego's
    /// `Render.JSON`) writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` ...,
    /// and a newline at the end. A value that fails to serialize is a 500.
    ///
    /// ```
    /// use flame_core::{Flame, Render, StatusCode};
    ///
    /// let mut f = Flame::new();
    /// // GET /json answers `{"html":"\u003cb\u003e"}` and a newline.
    /// f.get("/json", |r: Render| r.json(StatusCode::OK, &serde_json::json!({"html": "<b>"})));
    /// ```
    pub fn json<T: Serialize + ?Sized>(&self, status: StatusCode, value: &T) {
        match serde_json::to_vec(value) {
            Ok(body) => self.write(
                status,
                go_json_encoding(body).into(),
                "application/json; charset=utf-8",
            ),
            Err(err) => {
                Reply::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).write_to(&self.0)
            }
        }
    }

    /// `text/xml; charset=utf-8`, as Flamego's `Render.XML`, the root element named after the
    /// type; a value that fails to serialize is a 500.
    ///
    /// ```
    /// use flame_core::{Flame, Render, StatusCode};
    ///
    /// #[derive(serde::Serialize)]
    /// struct User { name: String }
    ///
    /// let mut f = Flame::new();
    /// // GET /user.xml answers `<User><name>ada</name></User>`.
    /// f.get("/user.xml", |r: Render| r.xml(StatusCode::OK, &User { name: "ada".into() }));
    /// ```
    pub fn xml<T: Serialize + ?Sized>(&self, status: StatusCode, value: &T) {
        match quick_xml::se::to_string(value) {
            Ok(body) => self.write(status, body.into(), "text/xml; charset=utf-8"),
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

/// Rewrites serde_json's output as Go's `json.Encoder` writes it: HTML-significant characters
/// and the two JavaScript line terminators escaped, and a trailing newline. These characters
/// only ever occur inside JSON strings, so escaping them byte by byte keeps the JSON the same.
fn go_json_encoding(json: Vec<u8>) -> Vec<u8> {
    const LINE_SEPARATOR: &[u8] = "\u{2028}".as_bytes();
    const PARAGRAPH_SEPARATOR: &[u8] = "\u{2029}".as_bytes();
    let needs_escape = |b: &u8| matches!(b, b'<' | b'>' | b'&' | 0xE2);
    if !json.iter().any(needs_escape) {
        let mut json = json;
        json.push(b'\n');
        return json;
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        let rest = &json[i..];
        match rest[0] {
            b'<' => out.extend_from_slice(br"\u003c"),
            b'>' => out.extend_from_slice(br"\u003e"),
            b'&' => out.extend_from_slice(br"\u0026"),
            _ if rest.starts_with(LINE_SEPARATOR) => {
                out.extend_from_slice(br"\u2028");
                i += LINE_SEPARATOR.len();
                continue;
            }
            _ if rest.starts_with(PARAGRAPH_SEPARATOR) => {
                out.extend_from_slice(br"\u2029");
                i += PARAGRAPH_SEPARATOR.len();
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::go_json_encoding;

    #[test]
    fn json_is_encoded_as_go_encodes_it() {
        let json = serde_json::to_vec(&serde_json::json!({"a": "<b>&\u{2028}\u{2029}é"})).unwrap();
        assert_eq!(
            String::from_utf8(go_json_encoding(json)).unwrap(),
            "{\"a\":\"\\u003cb\\u003e\\u0026\\u2028\\u2029é\"}\n"
        );
        assert_eq!(go_json_encoding(b"1".to_vec()), b"1\n");
    }
}
