//! The route pattern parser.
//!
//! A pattern is a list of segments, each starting with `/`:
//!
//! ```text
//! route    = segment+
//! segment  = "/" [ "?" ] element*
//! element  = literal | "{" bind "}"
//! bind     = name
//!          | name ":" "**" [ "," "capture" ":" integer ]
//!          | name ":" "/" regex "/"
//! ```
//!
//! Spaces are allowed around names, `:` and `,` inside braces. A regex runs to
//! the next `/`, so it cannot contain one. The parser checks the whole route
//! (syntax, duplicate names, optional and glob placement) but does not compile
//! regular expressions: [`Tree::insert`](super::Tree::insert) does.

use std::num::NonZeroU32;
use std::sync::Arc;

/// An error in a route pattern, with the byte position it was found at.
///
/// ```text
/// use crate::router::{ParseErrorKind, RoutePattern};
///
/// let err = RoutePattern::parse("/a/{b").unwrap_err();
/// assert_eq!(err.position(), 3);
/// assert_eq!(err.kind(), &ParseErrorKind::UnclosedBrace);
/// assert_eq!(err.to_string(), r#"invalid route "/a/{b": unclosed "{" at byte 3"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid route {route:?}: {kind} at byte {pos}")]
pub(crate) struct ParseError {
    route: String,
    pos: usize,
    kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(route: &str, pos: usize, kind: ParseErrorKind) -> Self {
        Self {
            route: route.to_owned(),
            pos,
            kind,
        }
    }

    /// The byte offset in the pattern where the problem is.
    ///
    /// ```text
    /// let err = crate::router::RoutePattern::parse("/a//b").unwrap_err();
    /// assert_eq!(err.position(), 2);
    /// ```
    #[cfg(test)]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// What is wrong.
    ///
    /// ```text
    /// use crate::router::{ParseErrorKind, RoutePattern};
    /// let err = RoutePattern::parse("/a//b").unwrap_err();
    /// assert_eq!(err.kind(), &ParseErrorKind::EmptySegment);
    /// ```
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

/// The reason a route pattern was rejected.
///
/// ```text
/// use crate::router::{ParseErrorKind, RoutePattern};
///
/// let err = RoutePattern::parse("/{a}/{a}").unwrap_err();
/// assert_eq!(err.kind(), &ParseErrorKind::DuplicateBind("a".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ParseErrorKind {
    /// The pattern is the empty string.
    #[error("route is empty")]
    Empty,
    /// The pattern does not start with `/`.
    #[error("route must start with \"/\"")]
    MissingLeadingSlash,
    /// A segment other than the last one is empty (`/a//b`).
    #[error("empty segment")]
    EmptySegment,
    /// A character that cannot appear here.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// A `?` anywhere but right after a `/`.
    #[error("\"?\" (optional segment) is only allowed right after \"/\"")]
    MisplacedOptional,
    /// A `{` without its `}`.
    #[error("unclosed \"{{\"")]
    UnclosedBrace,
    /// A `}` without a `{`.
    #[error("unmatched \"}}\"")]
    UnmatchedBrace,
    /// `{}` or `{: ...}`.
    #[error("empty bind parameter name")]
    EmptyName,
    /// Something else was expected here.
    #[error("expected {0}")]
    Expected(&'static str),
    /// A regex `/...` without its closing `/`.
    #[error("unclosed regular expression")]
    UnclosedRegex,
    /// `{name: //}`.
    #[error("empty regular expression")]
    EmptyRegex,
    /// The value after `name:` is neither `**` nor a `/regex/`.
    #[error("expected \"**\" or a /regular expression/, found {0:?}")]
    InvalidValue(String),
    /// A parameter other than `capture` after a glob.
    #[error("unknown parameter {0:?} (a glob only takes \"capture\")")]
    UnknownParameter(String),
    /// `capture` given twice.
    #[error("duplicate parameter {0:?}")]
    DuplicateParameter(String),
    /// Parameters after a regex or placeholder (only globs take `capture`).
    #[error("only a glob (\"**\") takes further parameters")]
    ParameterNotAllowed,
    /// `capture` is not a positive integer.
    #[error("capture must be a positive integer, found {0:?}")]
    InvalidCapture(String),
    /// A glob shares its segment with other elements (`/a{p: **}`).
    #[error("a glob must be the only element of its segment")]
    GlobNotAlone,
    /// The same bind parameter name is used twice in one route.
    #[error("duplicate bind parameter {0:?}")]
    DuplicateBind(String),
    /// A `?` on a segment that is not the last.
    #[error("only the last segment can be optional")]
    OptionalNotLast,
    /// A glob follows an unbounded glob with only placeholders in between.
    #[error(
        "glob follows the unbounded glob at byte {previous} with no static or regex segment in between; give the earlier glob a capture limit"
    )]
    GlobAfterUnboundedGlob {
        /// Byte position of the earlier, unbounded glob.
        previous: usize,
    },
    /// The regular expression does not compile.
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
}

/// A bind parameter name and where it is in the pattern.
#[derive(Debug, Clone)]
pub(crate) struct Bind {
    pub(crate) name: Arc<str>,
    pub(crate) pos: usize,
}

/// One element of a mixed segment.
#[derive(Debug, Clone)]
pub(crate) enum Element {
    Literal(Box<str>),
    Placeholder(Bind),
    Regex {
        bind: Bind,
        regex: Box<str>,
        regex_pos: usize,
    },
}

/// What a segment matches.
#[derive(Debug, Clone)]
pub(crate) enum SegmentKind {
    /// A literal (possibly empty: the trailing slash of `/users/`, or `/`).
    Static(Box<str>),
    /// `{name}`: exactly one segment, possibly empty.
    Placeholder(Bind),
    /// `{name: **}`: one or more segments, at most `capture` of them (0 = unbounded).
    Glob { bind: Bind, capture: u32 },
    /// Regexes and/or several elements in one segment.
    Mixed(Vec<Element>),
}

/// One `/`-separated segment of a pattern.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// Byte position of the segment's `/`.
    pub(crate) pos: usize,
    pub(crate) optional: bool,
    pub(crate) kind: SegmentKind,
    /// Canonical text of the segment, without `/` and `?`: two segments with
    /// the same key match the same thing and share a tree edge.
    pub(crate) key: Box<str>,
}

impl Segment {
    /// The bind parameters of this segment, in order.
    pub(crate) fn binds(&self) -> impl Iterator<Item = &Bind> {
        let (single, elements) = match &self.kind {
            SegmentKind::Static(_) => (None, &[][..]),
            SegmentKind::Placeholder(b) | SegmentKind::Glob { bind: b, .. } => (Some(b), &[][..]),
            SegmentKind::Mixed(e) => (None, &e[..]),
        };
        single
            .into_iter()
            .chain(elements.iter().filter_map(|e| match e {
                Element::Literal(_) => None,
                Element::Placeholder(b) | Element::Regex { bind: b, .. } => Some(b),
            }))
    }
}

/// A parsed route pattern.
///
/// Parsing checks everything about the pattern except that its regular
/// expressions compile (that happens in [`Tree::insert`](super::Tree::insert)).
///
/// ```text
/// use crate::router::RoutePattern;
///
/// let p = RoutePattern::parse("/posts/{year: /[0-9]{4}/}-{month}/{**}").unwrap();
/// assert_eq!(p.as_str(), "/posts/{year: /[0-9]{4}/}-{month}/{**}");
/// assert_eq!(p.binds().collect::<Vec<_>>(), ["year", "month", "**"]);
/// assert!(!p.is_static());
/// ```
#[derive(Debug, Clone)]
pub(crate) struct RoutePattern {
    source: Box<str>,
    pub(crate) segments: Vec<Segment>,
}

impl RoutePattern {
    /// Parses a route pattern.
    ///
    /// ```text
    /// use crate::router::RoutePattern;
    ///
    /// assert!(RoutePattern::parse("/users/{name}").is_ok());
    /// let err = RoutePattern::parse("/user/?a/b").unwrap_err();
    /// assert_eq!(err.to_string(), r#"invalid route "/user/?a/b": only the last segment can be optional at byte 6"#);
    /// ```
    pub(crate) fn parse(pattern: &str) -> Result<Self, ParseError> {
        let segments = Parser::new(pattern).parse()?;
        validate(pattern, &segments)?;
        Ok(Self {
            source: pattern.into(),
            segments,
        })
    }

    /// The pattern as it was written.
    ///
    /// ```text
    /// let p = crate::router::RoutePattern::parse("/user/?settings").unwrap();
    /// assert_eq!(p.as_str(), "/user/?settings");
    /// ```
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the last segment is optional (`/user/?settings`).
    ///
    /// ```text
    /// use crate::router::RoutePattern;
    /// assert!(RoutePattern::parse("/users/?{name}").unwrap().is_optional());
    /// assert!(!RoutePattern::parse("/users/{name}").unwrap().is_optional());
    /// ```
    pub(crate) fn is_optional(&self) -> bool {
        self.segments.last().is_some_and(|s| s.optional)
    }
}

impl std::fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// Characters allowed in a static literal, besides ASCII alphanumerics and
/// any non-ASCII character.
fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"-._~@!$&'()*+;%=:,[]\\|".contains(&b)
}

/// Characters allowed in a bind parameter name or a parameter value.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"-._~@!$&'()*+;%=".contains(&b)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            i: 0,
        }
    }

    fn err(&self, pos: usize, kind: ParseErrorKind) -> ParseError {
        ParseError::new(self.src, pos, kind)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    /// The error for an unexpected byte at `self.i`, which is always at a
    /// char boundary (the parser only stops on ASCII bytes or at a run start).
    fn unexpected(&self) -> ParseError {
        let c = self
            .src
            .get(self.i..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{fffd}');
        self.err(self.i, ParseErrorKind::UnexpectedChar(c))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// Scans a run of bytes accepted by `f`, returning its text.
    fn run(&mut self, f: fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(f) {
            self.i += 1;
        }
        // Runs stop on ASCII bytes or at the end, so both ends are boundaries.
        self.src.get(start..self.i).unwrap_or("")
    }

    fn parse(mut self) -> Result<Vec<Segment>, ParseError> {
        if self.src.is_empty() {
            return Err(self.err(0, ParseErrorKind::Empty));
        }
        if self.peek() != Some(b'/') {
            return Err(self.err(0, ParseErrorKind::MissingLeadingSlash));
        }
        let mut segments = Vec::new();
        while self.peek() == Some(b'/') {
            let pos = self.i;
            self.i += 1;
            let optional = self.peek() == Some(b'?');
            if optional {
                self.i += 1;
            }
            let mut elements = Vec::new();
            loop {
                match self.peek() {
                    None | Some(b'/') => break,
                    Some(b'{') => elements.push(self.bind()?),
                    Some(b'}') => return Err(self.err(self.i, ParseErrorKind::UnmatchedBrace)),
                    Some(b'?') => return Err(self.err(self.i, ParseErrorKind::MisplacedOptional)),
                    Some(b) if is_literal_byte(b) => {
                        let lit = self.run(is_literal_byte);
                        elements.push(Parsed::Literal(lit.into()));
                    }
                    Some(_) => return Err(self.unexpected()),
                }
            }
            segments.push(self.segment(pos, optional, elements)?);
        }
        Ok(segments)
    }

    /// Parses `{...}` starting at the `{`.
    fn bind(&mut self) -> Result<Parsed, ParseError> {
        let open = self.i;
        self.i += 1;
        self.skip_ws();
        let name_pos = self.i;
        let name = self.run(is_name_byte);
        if name.is_empty() {
            return Err(match self.peek() {
                None => self.err(open, ParseErrorKind::UnclosedBrace),
                Some(b'}' | b':' | b',') => self.err(self.i, ParseErrorKind::EmptyName),
                Some(_) => self.unexpected(),
            });
        }
        let bind = Bind {
            name: name.into(),
            pos: name_pos,
        };
        self.skip_ws();
        match self.peek() {
            None => return Err(self.err(open, ParseErrorKind::UnclosedBrace)),
            Some(b'}') => {
                self.i += 1;
                return Ok(if name == "**" {
                    Parsed::Glob {
                        open,
                        bind,
                        capture: 0,
                    }
                } else {
                    Parsed::Placeholder(bind)
                });
            }
            Some(b':') => self.i += 1,
            Some(_) => return Err(self.err(self.i, ParseErrorKind::Expected("\":\" or \"}\""))),
        }
        self.skip_ws();
        let value = match self.peek() {
            None => return Err(self.err(open, ParseErrorKind::UnclosedBrace)),
            Some(b'/') => {
                let regex_pos = self.i;
                let start = self.i + 1;
                let Some(len) = self.bytes[start..].iter().position(|&b| b == b'/') else {
                    return Err(self.err(regex_pos, ParseErrorKind::UnclosedRegex));
                };
                if len == 0 {
                    return Err(self.err(regex_pos, ParseErrorKind::EmptyRegex));
                }
                self.i = start + len + 1;
                let regex = self.src.get(start..start + len).unwrap_or("");
                Parsed::Regex {
                    bind,
                    regex: regex.into(),
                    regex_pos: start,
                }
            }
            Some(_) => {
                let value_pos = self.i;
                let value = self.run(is_name_byte);
                if value == "**" {
                    Parsed::Glob {
                        open,
                        bind,
                        capture: 0,
                    }
                } else if value.is_empty() {
                    return Err(self.unexpected());
                } else {
                    return Err(self.err(value_pos, ParseErrorKind::InvalidValue(value.into())));
                }
            }
        };
        self.params(open, value)
    }

    /// Parses `, capture: N` parameters and the closing `}`.
    fn params(&mut self, open: usize, mut value: Parsed) -> Result<Parsed, ParseError> {
        let mut seen_capture = false;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.err(open, ParseErrorKind::UnclosedBrace)),
                Some(b'}') => {
                    self.i += 1;
                    return Ok(value);
                }
                Some(b',') => {
                    let Parsed::Glob { capture, .. } = &mut value else {
                        return Err(self.err(self.i, ParseErrorKind::ParameterNotAllowed));
                    };
                    self.i += 1;
                    self.skip_ws();
                    let key_pos = self.i;
                    let key = self.run(is_name_byte);
                    if key.is_empty() {
                        return Err(match self.peek() {
                            None => self.err(open, ParseErrorKind::UnclosedBrace),
                            Some(_) => {
                                self.err(self.i, ParseErrorKind::Expected("a parameter name"))
                            }
                        });
                    }
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(self.err(open, ParseErrorKind::UnclosedBrace)),
                        Some(b':') => self.i += 1,
                        Some(_) => return Err(self.err(self.i, ParseErrorKind::Expected("\":\""))),
                    }
                    self.skip_ws();
                    let value_pos = self.i;
                    let raw = self.run(is_name_byte);
                    if key != "capture" {
                        return Err(self.err(key_pos, ParseErrorKind::UnknownParameter(key.into())));
                    }
                    if seen_capture {
                        return Err(
                            self.err(key_pos, ParseErrorKind::DuplicateParameter(key.into()))
                        );
                    }
                    seen_capture = true;
                    if raw.is_empty() && self.peek().is_none() {
                        return Err(self.err(open, ParseErrorKind::UnclosedBrace));
                    }
                    match raw.parse::<NonZeroU32>() {
                        Ok(n) if raw.bytes().all(|b| b.is_ascii_digit()) => *capture = n.get(),
                        _ => {
                            return Err(
                                self.err(value_pos, ParseErrorKind::InvalidCapture(raw.into()))
                            );
                        }
                    }
                }
                Some(_) => return Err(self.err(self.i, ParseErrorKind::Expected("\",\" or \"}\""))),
            }
        }
    }

    /// Builds a segment from its parsed elements.
    fn segment(
        &self,
        pos: usize,
        optional: bool,
        mut elements: Vec<Parsed>,
    ) -> Result<Segment, ParseError> {
        if elements.len() > 1
            && let Some(Parsed::Glob { open, .. }) =
                elements.iter().find(|e| matches!(e, Parsed::Glob { .. }))
        {
            return Err(self.err(*open, ParseErrorKind::GlobNotAlone));
        }
        let mut key = String::new();
        for e in &elements {
            match e {
                Parsed::Literal(l) => key.push_str(l),
                Parsed::Placeholder(b) => {
                    key.push('{');
                    key.push_str(&b.name);
                    key.push('}');
                }
                Parsed::Regex { bind, regex, .. } => {
                    key.push('{');
                    key.push_str(&bind.name);
                    key.push_str(": /");
                    key.push_str(regex);
                    key.push_str("/}");
                }
                Parsed::Glob { bind, capture, .. } => {
                    key.push('{');
                    key.push_str(&bind.name);
                    key.push_str(": **");
                    if *capture > 0 {
                        key.push_str(", capture: ");
                        key.push_str(&capture.to_string());
                    }
                    key.push('}');
                }
            }
        }
        let kind = if elements.len() <= 1 {
            match elements.pop() {
                None => SegmentKind::Static("".into()),
                Some(Parsed::Literal(l)) => SegmentKind::Static(l),
                Some(Parsed::Placeholder(b)) => SegmentKind::Placeholder(b),
                Some(Parsed::Glob { bind, capture, .. }) => SegmentKind::Glob { bind, capture },
                Some(Parsed::Regex {
                    bind,
                    regex,
                    regex_pos,
                }) => SegmentKind::Mixed(vec![Element::Regex {
                    bind,
                    regex,
                    regex_pos,
                }]),
            }
        } else {
            SegmentKind::Mixed(
                elements
                    .into_iter()
                    .filter_map(|e| match e {
                        Parsed::Literal(l) => Some(Element::Literal(l)),
                        Parsed::Placeholder(b) => Some(Element::Placeholder(b)),
                        Parsed::Regex {
                            bind,
                            regex,
                            regex_pos,
                        } => Some(Element::Regex {
                            bind,
                            regex,
                            regex_pos,
                        }),
                        // Rejected above: a glob is alone in its segment.
                        Parsed::Glob { .. } => None,
                    })
                    .collect(),
            )
        };
        Ok(Segment {
            pos,
            optional,
            kind,
            key: key.into(),
        })
    }
}

/// An element as parsed, before segment classification.
enum Parsed {
    Literal(Box<str>),
    Placeholder(Bind),
    Regex {
        bind: Bind,
        regex: Box<str>,
        regex_pos: usize,
    },
    Glob {
        open: usize,
        bind: Bind,
        capture: u32,
    },
}

/// Route-level checks: empty and optional segments, duplicate names, glob
/// separation.
fn validate(src: &str, segments: &[Segment]) -> Result<(), ParseError> {
    let last = segments.len().saturating_sub(1);
    let mut names: Vec<&Bind> = Vec::new();
    let mut pending_unbounded: Option<usize> = None;
    for (k, seg) in segments.iter().enumerate() {
        if k != last {
            if seg.optional {
                return Err(ParseError::new(
                    src,
                    seg.pos + 1,
                    ParseErrorKind::OptionalNotLast,
                ));
            }
            if seg.key.is_empty() {
                return Err(ParseError::new(src, seg.pos, ParseErrorKind::EmptySegment));
            }
        }
        for b in seg.binds() {
            if names.iter().any(|n| n.name == b.name) {
                return Err(ParseError::new(
                    src,
                    b.pos,
                    ParseErrorKind::DuplicateBind(b.name.to_string()),
                ));
            }
            names.push(b);
        }
        match &seg.kind {
            SegmentKind::Static(_) | SegmentKind::Mixed(_) => pending_unbounded = None,
            SegmentKind::Placeholder(_) => {}
            SegmentKind::Glob { capture, .. } => {
                let glob_pos = seg.pos;
                if let Some(previous) = pending_unbounded {
                    return Err(ParseError::new(
                        src,
                        glob_pos,
                        ParseErrorKind::GlobAfterUnboundedGlob { previous },
                    ));
                }
                pending_unbounded = (*capture == 0).then_some(glob_pos);
            }
        }
    }
    Ok(())
}
