//! Building URL paths from route patterns (Flamego's `URLPath`).

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::parser::{Element, ParseError, RoutePattern, SegmentKind};

/// Bytes escaped in a path segment: the WHATWG path set, plus `%` (so that
/// values round-trip), `\` (browsers read it as `/`) and `/` itself.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'^')
    .add(b'%')
    .add(b'\\')
    .add(b'/');

/// The same, keeping `/`: for glob values, which span segments.
const GLOB: &AsciiSet = &SEGMENT.remove(b'/');

/// An error from [`url_path`].
///
/// ```text
/// use crate::router::{url_path, UrlError};
///
/// let err = url_path("/users/{name}", &[]).unwrap_err();
/// assert!(matches!(err, UrlError::MissingParam { .. }));
/// assert_eq!(
///     err.to_string(),
///     r#"cannot build a URL for route "/users/{name}": no value for bind parameter "name""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum UrlError {
    /// The pattern does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A bind parameter has no value in the pairs.
    #[error("cannot build a URL for route {route:?}: no value for bind parameter {name:?}")]
    MissingParam {
        /// The route pattern.
        route: String,
        /// The bind parameter without a value.
        name: String,
    },
}

/// Builds the path of a URL from a route pattern and `(name, value)` pairs.
///
/// Values are percent-encoded (a glob's `/` are kept), so that the result
/// matches the route with the same captures. An optional last segment is
/// included when a value is given for one of its bind parameters, or when the
/// pair `("withOptional", "true")` is given (the only way to include a static
/// optional segment, as in Flamego). Extra pairs are ignored; values are not
/// checked against regexes.
///
/// ```text
/// use crate::router::url_path;
///
/// assert_eq!(url_path("/users/{name}", &[("name", "joe")]).unwrap(), "/users/joe");
/// assert_eq!(url_path("/user/?settings", &[]).unwrap(), "/user");
/// assert_eq!(url_path("/user/?settings", &[("withOptional", "true")]).unwrap(), "/user/settings");
/// assert_eq!(url_path("/users/?{name}", &[]).unwrap(), "/users");
/// assert_eq!(url_path("/users/?{name}", &[("name", "a b")]).unwrap(), "/users/a%20b");
/// assert_eq!(url_path("/files/{path: **}", &[("path", "a/b c")]).unwrap(), "/files/a/b%20c");
/// ```
pub(crate) fn url_path(pattern: &str, pairs: &[(&str, &str)]) -> Result<String, UrlError> {
    RoutePattern::parse(pattern)?.url_path(pairs)
}

impl RoutePattern {
    /// Builds a URL path from this pattern; see [`url_path`].
    ///
    /// ```text
    /// use crate::router::RoutePattern;
    ///
    /// let p = RoutePattern::parse("/posts/{year: /[0-9]{4}/}-{month}.html").unwrap();
    /// assert_eq!(p.url_path(&[("year", "2021"), ("month", "11")]).unwrap(), "/posts/2021-11.html");
    /// ```
    pub(crate) fn url_path(&self, pairs: &[(&str, &str)]) -> Result<String, UrlError> {
        let lookup = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let with_optional = lookup("withOptional") == Some("true");
        let value = |name: &str| {
            lookup(name).ok_or_else(|| UrlError::MissingParam {
                route: self.as_str().to_owned(),
                name: name.to_owned(),
            })
        };
        let mut out = String::new();
        for seg in &self.segments {
            if seg.optional && !with_optional && !seg.binds().any(|b| lookup(&b.name).is_some()) {
                break;
            }
            out.push('/');
            match &seg.kind {
                SegmentKind::Static(s) => out.extend(utf8_percent_encode(s, SEGMENT)),
                SegmentKind::Placeholder(b) => {
                    out.extend(utf8_percent_encode(value(&b.name)?, SEGMENT))
                }
                SegmentKind::Glob { bind, .. } => {
                    out.extend(utf8_percent_encode(value(&bind.name)?, GLOB))
                }
                SegmentKind::Mixed(elements) => {
                    for e in elements {
                        let text = match e {
                            Element::Literal(l) => l,
                            Element::Placeholder(b) | Element::Regex { bind: b, .. } => {
                                value(&b.name)?
                            }
                        };
                        out.extend(utf8_percent_encode(text, SEGMENT));
                    }
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        Ok(out)
    }
}
