//! The matching tree.
//!
//! Each node is reached by matching one path segment. A node has, in
//! priority order: static edges (exact text), regex edges (regexes and mixed
//! segments, in registration order), placeholder edges (registration order)
//! and at most one glob edge; and leaves of the same four kinds, where the
//! routes end. Matching walks the path segment by segment, trying the edges of
//! each node in priority order and backtracking on failure.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use smallvec::SmallVec;

use super::parser::{Element, ParseError, ParseErrorKind, RoutePattern, Segment, SegmentKind};

/// An error from [`Tree::insert`].
///
/// ```text
/// use crate::router::{RouteError, Tree};
///
/// let mut tree = Tree::new();
/// tree.insert("/users", 1).unwrap();
/// let err = tree.insert("/users", 2).unwrap_err();
/// assert!(matches!(err, RouteError::Duplicate { .. }));
/// assert_eq!(err.to_string(), r#"duplicate route "/users": it matches the same paths as "/users""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RouteError {
    /// The pattern is invalid (syntax, placement, a regex that does not
    /// compile...).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A route with the same shape is already registered (Flamego compares
    /// segments as written: `/users/{id}` and `/users/{name}` are different
    /// routes, the first registered winning).
    #[error("duplicate route {route:?}: it matches the same paths as {existing:?}")]
    Duplicate {
        /// The route being inserted.
        route: String,
        /// The route already registered.
        existing: String,
    },
    /// Two different globs at the same place of the tree (a node has at most
    /// one glob edge and one glob leaf).
    #[error(
        "conflicting glob in route {route:?} at byte {pos}: {existing:?} already has a different glob there"
    )]
    ConflictingGlob {
        /// The route being inserted.
        route: String,
        /// Byte position of the glob's segment in `route`.
        pos: usize,
        /// The route that put the other glob there.
        existing: String,
    },
}

/// The bind parameters captured by a match, in path order, percent-decoded.
///
/// Values live in one reusable buffer: keep a `Captures` around and pass it to
/// every [`Tree::find`] to avoid allocating.
///
/// ```text
/// use crate::router::{Captures, Tree};
///
/// let mut tree = Tree::new();
/// tree.insert("/geo/{state}/{city}", ()).unwrap();
/// let mut caps = Captures::new();
/// tree.find("/geo/ma/new%20bedford", &mut caps, |_| true).unwrap();
/// assert_eq!(caps.get("city"), Some("new bedford"));
/// assert_eq!(caps.iter().collect::<Vec<_>>(), [("state", "ma"), ("city", "new bedford")]);
/// ```
#[derive(Clone, Default)]
pub(crate) struct Captures {
    /// The bind names of the tree that matched (shared, not copied).
    names: Option<Arc<NameTable>>,
    spans: SmallVec<[Span; 4]>,
    buf: String,
}

/// Bind parameter names, interned per tree: captures refer to them by index.
type NameTable = Vec<Box<str>>;

/// Index of a bind name in a tree's [`NameTable`].
type NameId = u32;

/// One capture: its name and where its value is in `Captures::buf`.
#[derive(Debug, Clone, Copy)]
struct Span {
    name: NameId,
    start: usize,
    end: usize,
}

impl Captures {
    /// An empty set of captures.
    ///
    /// ```text
    /// let caps = crate::router::Captures::new();
    /// assert!(caps.is_empty());
    /// ```
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The value of the bind parameter `name`.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    /// let mut tree = Tree::new();
    /// tree.insert("/users/{name}", ()).unwrap();
    /// let mut caps = Captures::new();
    /// tree.find("/users/", &mut caps, |_| true).unwrap();
    /// assert_eq!(caps.get("name"), Some(""));
    /// assert_eq!(caps.get("id"), None);
    /// ```
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The `(name, value)` pairs, in path order.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    /// let mut tree = Tree::new();
    /// tree.insert("/{a}/{b: **}", ()).unwrap();
    /// let mut caps = Captures::new();
    /// tree.find("/x/y/z", &mut caps, |_| true).unwrap();
    /// assert_eq!(caps.iter().collect::<Vec<_>>(), [("a", "x"), ("b", "y/z")]);
    /// ```
    pub(crate) fn iter(&self) -> CapturesIter<'_> {
        CapturesIter { caps: self, i: 0 }
    }

    /// The number of captured bind parameters.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    /// let mut tree = Tree::new();
    /// tree.insert("/{a}-{b}", ()).unwrap();
    /// let mut caps = Captures::new();
    /// tree.find("/x-y", &mut caps, |_| true).unwrap();
    /// assert_eq!(caps.len(), 2);
    /// ```
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether nothing was captured.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    /// let mut tree = Tree::new();
    /// tree.insert("/static", ()).unwrap();
    /// let mut caps = Captures::new();
    /// tree.find("/static", &mut caps, |_| true).unwrap();
    /// assert!(caps.is_empty());
    /// ```
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Removes all captures, keeping the allocated buffer.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    /// let mut tree = Tree::new();
    /// tree.insert("/{a}", ()).unwrap();
    /// let mut caps = Captures::new();
    /// tree.find("/x", &mut caps, |_| true).unwrap();
    /// caps.clear();
    /// assert!(caps.is_empty());
    /// ```
    pub(crate) fn clear(&mut self) {
        self.spans.clear();
        self.buf.clear();
    }

    #[inline]
    fn push(&mut self, name: NameId, value: &str) {
        let start = self.buf.len();
        self.buf.push_str(value);
        self.spans.push(Span {
            name,
            start,
            end: self.buf.len(),
        });
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        if let Some(&Span { start, .. }) = self.spans.get(len) {
            self.buf.truncate(start);
            self.spans.truncate(len);
        }
    }
}

impl fmt::Debug for Captures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for Captures {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Captures {}

impl<'a> IntoIterator for &'a Captures {
    type Item = (&'a str, &'a str);
    type IntoIter = CapturesIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the `(name, value)` pairs of [`Captures`].
///
/// ```text
/// use crate::router::{Captures, Tree};
/// let mut tree = Tree::new();
/// tree.insert("/{a}", ()).unwrap();
/// let mut caps = Captures::new();
/// tree.find("/x", &mut caps, |_| true).unwrap();
/// let mut it = caps.iter();
/// assert_eq!(it.next(), Some(("a", "x")));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug, Clone)]
pub(crate) struct CapturesIter<'a> {
    caps: &'a Captures,
    i: usize,
}

impl<'a> Iterator for CapturesIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let span = *self.caps.spans.get(self.i)?;
        self.i += 1;
        let name = self
            .caps
            .names
            .as_ref()
            .and_then(|t| t.get(span.name as usize))
            .map_or("", |n| &**n);
        Some((name, self.caps.buf.get(span.start..span.end).unwrap_or("")))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.caps.spans.len().saturating_sub(self.i);
        (n, Some(n))
    }
}

impl ExactSizeIterator for CapturesIter<'_> {}

/// A successful match: the route's value and its pattern as registered.
///
/// ```text
/// use crate::router::{Captures, Tree};
/// let mut tree = Tree::new();
/// tree.insert("/user/?settings", "settings").unwrap();
/// let mut caps = Captures::new();
/// let m = tree.find_route("/user", &mut caps, |_| true).unwrap();
/// assert_eq!(*m.value, "settings");
/// assert_eq!(m.pattern, "/user/?settings");
/// ```
#[derive(Debug)]
pub(crate) struct Matched<'t, T> {
    /// The value given to [`Tree::insert`].
    pub(crate) value: &'t T,
    /// The pattern given to [`Tree::insert`] (Flamego's `route` parameter).
    // Only the tests read it: `Flame` keeps each route's pattern by route id instead.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) pattern: &'t str,
}

impl<T> Clone for Matched<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Matched<'_, T> {}

/// A routing tree: one per HTTP method, holding a `T` per route.
///
/// ```text
/// use crate::router::{Captures, Tree};
///
/// let mut tree = Tree::new();
/// tree.insert("/users/settings", "settings").unwrap();
/// tree.insert("/users/{name}.html", "html").unwrap();
/// tree.insert("/users/{name}", "user").unwrap();
/// tree.insert("/users/{**}", "glob").unwrap();
///
/// let mut caps = Captures::new();
/// assert_eq!(tree.find("/users/settings", &mut caps, |_| true), Some(&"settings"));
/// assert_eq!(tree.find("/users/joe.html", &mut caps, |_| true), Some(&"html"));
/// assert_eq!(caps.get("name"), Some("joe"));
/// assert_eq!(tree.find("/users/joe", &mut caps, |_| true), Some(&"user"));
/// assert_eq!(tree.find("/users/joe/repos", &mut caps, |_| true), Some(&"glob"));
/// assert_eq!(caps.get("**"), Some("joe/repos"));
/// // `accept` refuses a candidate: the search goes on to the next one.
/// assert_eq!(tree.find("/users/settings", &mut caps, |v| *v != "settings"), Some(&"user"));
/// ```
pub(crate) struct Tree<T> {
    root: Node,
    routes: Vec<Route<T>>,
    names: Arc<NameTable>,
}

struct Route<T> {
    value: T,
    pattern: Box<str>,
}

impl<T> Default for Tree<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Tree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.routes.iter().map(|r| (&r.pattern, &r.value)))
            .finish()
    }
}

impl<T> Tree<T> {
    /// An empty tree.
    ///
    /// ```text
    /// let tree = crate::router::Tree::<()>::new();
    /// assert!(tree.is_empty());
    /// ```
    pub(crate) fn new() -> Self {
        Self {
            root: Node::default(),
            routes: Vec::new(),
            names: Arc::default(),
        }
    }

    /// The number of routes inserted.
    ///
    /// ```text
    /// let mut tree = crate::router::Tree::new();
    /// tree.insert("/user/?settings", ()).unwrap();
    /// assert_eq!(tree.len(), 1);
    /// ```
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    /// Parses `pattern` and inserts it with `value`.
    ///
    /// Fails, leaving the tree unchanged, on any registration error: an
    /// invalid pattern, a regex that does not compile, a duplicate route, or a
    /// glob conflicting with another route's glob at the same place. An
    /// optional route (`/user/?settings`) takes two places, `/user` and
    /// `/user/settings`, and conflicts with routes at either.
    ///
    /// ```text
    /// use crate::router::Tree;
    ///
    /// let mut tree = Tree::new();
    /// tree.insert("/users/{id: /[0-9]+/}", 1).unwrap();
    /// assert!(tree.insert("/users/{id: /[0-9+/}", 2).is_err()); // bad regex
    /// assert!(tree.insert("/a/{b: **}/{c: **}", 3).is_err()); // ambiguous globs
    /// assert_eq!(tree.len(), 1);
    /// ```
    pub(crate) fn insert(&mut self, pattern: &str, value: T) -> Result<(), RouteError> {
        let parsed = RoutePattern::parse(pattern)?;
        let mut main = compile(&parsed, &mut self.names)?;
        let mut places = Vec::with_capacity(2);
        if parsed.is_optional() {
            // The route without its optional segment; `/?x` falls back to `/`.
            let mut parent: Vec<Compiled> = main[..main.len() - 1].to_vec();
            let parent_positions = parsed.segments[..parsed.segments.len() - 1]
                .iter()
                .map(|s| s.pos)
                .collect::<Vec<_>>();
            if parent.is_empty() {
                parent.push(Compiled::Static("".into()));
            }
            let same = main.len() == 1 && matches!(&main[0], Compiled::Static(s) if s.is_empty());
            if !same {
                let mut positions = parent_positions;
                positions.resize(parent.len(), 0);
                places.push((parent, positions));
            }
        }
        let positions = parsed.segments.iter().map(|s| s.pos).collect::<Vec<_>>();
        main.shrink_to_fit();
        places.insert(0, (main, positions));

        for (segs, positions) in &places {
            self.root.check(segs, positions).map_err(|c| match c {
                Conflict::Duplicate(id) => RouteError::Duplicate {
                    route: pattern.to_owned(),
                    existing: self.routes[id as usize].pattern.to_string(),
                },
                Conflict::Glob(id, pos) => RouteError::ConflictingGlob {
                    route: pattern.to_owned(),
                    pos,
                    existing: self.routes[id as usize].pattern.to_string(),
                },
            })?;
        }

        let id = u32::try_from(self.routes.len()).unwrap_or(u32::MAX);
        for (segs, _) in places {
            self.root.insert(segs, id);
        }
        self.routes.push(Route {
            value,
            pattern: pattern.into(),
        });
        Ok(())
    }

    /// Finds the best route for `path` (the raw, percent-encoded URL path).
    ///
    /// Candidates are tried in priority order: at each segment, static beats
    /// regex/mixed beats placeholder beats glob, the first registered winning
    /// within a kind, and a failed deeper match backtracks to the next
    /// sibling. `accept` is asked about each candidate leaf in that order; a
    /// `false` makes the search go on. On success `captures` holds the bind
    /// parameters, percent-decoded; on failure it is empty. A path with an
    /// invalid percent-encoding (or one that decodes to invalid UTF-8)
    /// matches nothing. Leading slashes are ignored (`//a` is `/a`); a
    /// trailing slash is one more, empty, segment.
    ///
    /// A static match does not allocate.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    ///
    /// let mut tree = Tree::new();
    /// tree.insert("/webhooks/{repo: **}/events", "events").unwrap();
    /// let mut caps = Captures::new();
    /// assert_eq!(tree.find("/webhooks/flamego/flamego/events", &mut caps, |_| true), Some(&"events"));
    /// assert_eq!(caps.get("repo"), Some("flamego/flamego"));
    /// assert_eq!(tree.find("/webhooks/flamego/flamego", &mut caps, |_| true), None);
    /// ```
    pub(crate) fn find<'t>(
        &'t self,
        path: &str,
        captures: &mut Captures,
        accept: impl FnMut(&T) -> bool,
    ) -> Option<&'t T> {
        self.find_route(path, captures, accept).map(|m| m.value)
    }

    /// Like [`find`](Self::find), also returning the matched route's pattern.
    ///
    /// ```text
    /// use crate::router::{Captures, Tree};
    ///
    /// let mut tree = Tree::new();
    /// tree.insert("/users/?{name}", 1).unwrap();
    /// let mut caps = Captures::new();
    /// let m = tree.find_route("/users", &mut caps, |_| true).unwrap();
    /// assert_eq!((m.value, m.pattern), (&1, "/users/?{name}"));
    /// assert!(caps.is_empty());
    /// ```
    pub(crate) fn find_route<'t>(
        &'t self,
        path: &str,
        captures: &mut Captures,
        mut accept: impl FnMut(&T) -> bool,
    ) -> Option<Matched<'t, T>> {
        captures.clear();
        let rest = path.trim_start_matches('/');
        let mut search = Search {
            routes: &self.routes,
            caps: captures,
            accept: &mut accept,
        };
        let id = search.walk(&self.root, rest, Filter::All);
        match id {
            Some(id) => {
                if !captures.is_empty()
                    && !captures
                        .names
                        .as_ref()
                        .is_some_and(|t| Arc::ptr_eq(t, &self.names))
                {
                    captures.names = Some(Arc::clone(&self.names));
                }
                let route = &self.routes[id as usize];
                Some(Matched {
                    value: &route.value,
                    pattern: &route.pattern,
                })
            }
            None => {
                captures.clear();
                None
            }
        }
    }
}

/// A segment ready for the tree: regexes compiled.
#[derive(Debug, Clone)]
enum Compiled {
    Static(Box<str>),
    Placeholder(NameId),
    Glob {
        name: NameId,
        capture: u32,
        key: Box<str>,
    },
    Regex(Arc<SegRegex>),
}

impl Compiled {
    fn is_glob(&self) -> bool {
        matches!(self, Compiled::Glob { .. })
    }
}

/// The matcher of a regex or mixed segment.
#[derive(Debug)]
struct SegRegex {
    key: Box<str>,
    re: Regex,
    /// Bind names and their capture group index in `re`.
    binds: Box<[(NameId, usize)]>,
    /// Set when the segment is one regex bind: the value is the whole segment
    /// and `is_match` is enough.
    whole: Option<NameId>,
}

impl SegRegex {
    /// Matches `seg`, pushing the binds on success.
    fn capture(&self, seg: &str, caps: &mut Captures) -> bool {
        if let Some(name) = self.whole {
            if self.re.is_match(seg) {
                caps.push(name, seg);
                return true;
            }
            return false;
        }
        let mut locs = self.re.capture_locations();
        if self.re.captures_read(&mut locs, seg).is_none() {
            return false;
        }
        for (name, group) in self.binds.iter() {
            let value = locs
                .get(*group)
                .and_then(|(s, e)| seg.get(s..e))
                .unwrap_or("");
            caps.push(*name, value);
        }
        true
    }
}

fn regex_error(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(msg) => msg
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(msg)
            .to_owned(),
        other => other.to_string(),
    }
}

/// Compiles the segments of a parsed route, interning its bind names.
fn compile(route: &RoutePattern, names: &mut Arc<NameTable>) -> Result<Vec<Compiled>, ParseError> {
    let src = route.as_str();
    let mut intern = |name: &str| -> NameId {
        let i = match names.iter().position(|n| **n == *name) {
            Some(i) => i,
            None => {
                let table = Arc::make_mut(names);
                table.push(name.into());
                table.len() - 1
            }
        };
        NameId::try_from(i).unwrap_or(NameId::MAX)
    };
    route
        .segments
        .iter()
        .map(|seg| compile_segment(src, seg, &mut intern))
        .collect()
}

fn compile_segment(
    src: &str,
    seg: &Segment,
    intern: &mut impl FnMut(&str) -> NameId,
) -> Result<Compiled, ParseError> {
    let elements = match &seg.kind {
        SegmentKind::Static(s) => return Ok(Compiled::Static(s.clone())),
        SegmentKind::Placeholder(b) => return Ok(Compiled::Placeholder(intern(&b.name))),
        SegmentKind::Glob { bind, capture } => {
            return Ok(Compiled::Glob {
                name: intern(&bind.name),
                capture: *capture,
                key: seg.key.clone(),
            });
        }
        SegmentKind::Mixed(elements) => elements,
    };
    let mut pattern = String::from("^");
    let mut binds = Vec::new();
    let mut group = 1;
    for e in elements {
        match e {
            Element::Literal(l) => pattern.push_str(&regex::escape(l)),
            Element::Placeholder(b) => {
                pattern.push_str("((?s:.+))");
                binds.push((intern(&b.name), group));
                group += 1;
            }
            Element::Regex {
                bind,
                regex,
                regex_pos,
            } => {
                // Compiled alone first: precise error position, and the count
                // of its own groups, which shift the following binds.
                let inner = Regex::new(regex).map_err(|err| {
                    ParseError::new(
                        src,
                        *regex_pos,
                        ParseErrorKind::InvalidRegex(regex_error(&err)),
                    )
                })?;
                pattern.push('(');
                pattern.push_str(regex);
                pattern.push(')');
                binds.push((intern(&bind.name), group));
                group += inner.captures_len();
            }
        }
    }
    pattern.push('$');
    let whole = match (&elements[..], &binds[..]) {
        ([Element::Regex { .. }], [(name, _)]) => Some(*name),
        _ => None,
    };
    let re = Regex::new(&pattern).map_err(|err| {
        ParseError::new(
            src,
            seg.pos,
            ParseErrorKind::InvalidRegex(regex_error(&err)),
        )
    })?;
    Ok(Compiled::Regex(Arc::new(SegRegex {
        key: seg.key.clone(),
        re,
        binds: binds.into(),
        whole,
    })))
}

enum Conflict {
    Duplicate(u32),
    Glob(u32, usize),
}

#[derive(Debug, Default)]
struct Node {
    /// In insertion order; found through `static_index` when there are many.
    statics: Vec<StaticEdge>,
    /// Open-addressing table of `statics` positions + 1 (0: empty), sized a
    /// power of two at least twice the number of statics.
    static_index: Box<[u32]>,
    regexes: Vec<RegexEdge>,
    placeholders: Vec<PlaceholderEdge>,
    glob: Option<Box<GlobEdge>>,
    leaf_regexes: Vec<(Arc<SegRegex>, u32)>,
    leaf_placeholders: Vec<(NameId, u32)>,
    leaf_glob: Option<GlobLeaf>,
    /// Any route below this node (for conflict messages).
    some_route: u32,
}

#[derive(Debug)]
struct StaticEdge {
    key: SegKey,
    text: Box<str>,
    node: Option<Box<Node>>,
    leaf: Option<u32>,
}

/// A segment's length and first 8 bytes: static edges are sorted and found by
/// comparing these integers, touching the text only to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SegKey {
    len: usize,
    prefix: u64,
}

impl SegKey {
    #[inline]
    fn of(s: &str) -> Self {
        let b = s.as_bytes();
        let prefix = match b.get(..8) {
            Some(head) => {
                let mut a = [0; 8];
                a.copy_from_slice(head);
                u64::from_be_bytes(a)
            }
            None => {
                let v = b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
                // Left-align; an empty segment (shift by 64) is 0.
                v.checked_shl(8 * (8 - b.len() as u32)).unwrap_or(0)
            }
        };
        Self {
            len: b.len(),
            prefix,
        }
    }

    #[inline(always)]
    fn hash(self) -> usize {
        let h =
            (self.prefix ^ (self.len as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 40) as usize
    }
}

#[derive(Debug)]
struct RegexEdge {
    matcher: Arc<SegRegex>,
    node: Node,
}

#[derive(Debug)]
struct PlaceholderEdge {
    name: NameId,
    node: Node,
}

#[derive(Debug)]
struct GlobEdge {
    name: NameId,
    capture: u32,
    key: Box<str>,
    node: Node,
}

#[derive(Debug)]
struct GlobLeaf {
    name: NameId,
    capture: u32,
    key: Box<str>,
    leaf: u32,
}

impl StaticEdge {
    #[inline(always)]
    fn is(&self, key: SegKey, seg: &str) -> bool {
        self.key == key
            && (key.len <= 8 || self.text.as_bytes().get(8..) == seg.as_bytes().get(8..))
    }
}

/// Number of statics up to which a node scans them instead of hashing.
const LINEAR_STATICS: usize = 4;

impl Node {
    #[inline]
    fn find_static(&self, seg: &str) -> Option<&StaticEdge> {
        if self.statics.is_empty() {
            return None;
        }
        let key = SegKey::of(seg);
        if self.statics.len() <= LINEAR_STATICS {
            return self.statics.iter().find(|e| e.is(key, seg));
        }
        let mask = self.static_index.len() - 1;
        let mut h = key.hash() & mask;
        loop {
            let slot = *self.static_index.get(h)? as usize;
            let e = self.statics.get(slot.checked_sub(1)?)?;
            if e.is(key, seg) {
                return Some(e);
            }
            h = (h + 1) & mask;
        }
    }

    /// Rebuilds `static_index` after a static edge was added.
    fn index_statics(&mut self) {
        if self.statics.len() <= LINEAR_STATICS {
            return;
        }
        let size = (self.statics.len() * 2).next_power_of_two();
        let mut index = vec![0u32; size].into_boxed_slice();
        for (i, e) in self.statics.iter().enumerate() {
            let mut h = e.key.hash() & (size - 1);
            while index[h] != 0 {
                h = (h + 1) & (size - 1);
            }
            index[h] = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        self.static_index = index;
    }

    /// The child reached through `seg` (must be an existing edge).
    fn child(&self, seg: &Compiled) -> Option<&Node> {
        match seg {
            Compiled::Static(s) => self.find_static(s).and_then(|e| e.node.as_deref()),
            Compiled::Placeholder(name) => self
                .placeholders
                .iter()
                .find(|e| e.name == *name)
                .map(|e| &e.node),
            Compiled::Regex(m) => self
                .regexes
                .iter()
                .find(|e| e.matcher.key == m.key)
                .map(|e| &e.node),
            Compiled::Glob { key, .. } => self
                .glob
                .as_ref()
                .filter(|g| g.key == *key)
                .map(|g| &g.node),
        }
    }

    /// Checks that inserting `segs` here would not conflict.
    fn check(&self, segs: &[Compiled], positions: &[usize]) -> Result<(), Conflict> {
        let Some((last, init)) = segs.split_last() else {
            return Ok(());
        };
        let pos = positions.first().copied().unwrap_or(0);
        if init.is_empty() {
            return match last {
                Compiled::Static(s) => match self.find_static(s).and_then(|e| e.leaf) {
                    Some(id) => Err(Conflict::Duplicate(id)),
                    None => Ok(()),
                },
                Compiled::Placeholder(name) => {
                    match self.leaf_placeholders.iter().find(|(n, _)| n == name) {
                        Some((_, id)) => Err(Conflict::Duplicate(*id)),
                        None => Ok(()),
                    }
                }
                Compiled::Regex(m) => {
                    match self.leaf_regexes.iter().find(|(r, _)| r.key == m.key) {
                        Some((_, id)) => Err(Conflict::Duplicate(*id)),
                        None => Ok(()),
                    }
                }
                Compiled::Glob { key, .. } => match &self.leaf_glob {
                    Some(g) if g.key == *key => Err(Conflict::Duplicate(g.leaf)),
                    Some(g) => Err(Conflict::Glob(g.leaf, pos)),
                    None => Ok(()),
                },
            };
        }
        let first = &init[0];
        if first.is_glob()
            && let Some(g) = &self.glob
            && !matches!(first, Compiled::Glob { key, .. } if *key == g.key)
        {
            return Err(Conflict::Glob(g.node.some_route, pos));
        }
        match self.child(first) {
            Some(child) => child.check(&segs[1..], positions.get(1..).unwrap_or(&[])),
            None => Ok(()),
        }
    }

    /// Inserts `segs` (already checked) for route `id`.
    fn insert(&mut self, segs: Vec<Compiled>, id: u32) {
        let mut node = self;
        let n = segs.len();
        for (k, seg) in segs.into_iter().enumerate() {
            if k + 1 == n {
                node.add_leaf(seg, id);
                return;
            }
            node = node.edge(seg, id);
        }
    }

    fn add_leaf(&mut self, seg: Compiled, id: u32) {
        match seg {
            Compiled::Static(text) => {
                let e = self.static_edge(text);
                e.leaf.get_or_insert(id);
            }
            Compiled::Placeholder(name) => self.leaf_placeholders.push((name, id)),
            Compiled::Regex(m) => self.leaf_regexes.push((m, id)),
            Compiled::Glob { name, capture, key } => {
                self.leaf_glob.get_or_insert(GlobLeaf {
                    name,
                    capture,
                    key,
                    leaf: id,
                });
            }
        }
    }

    fn static_edge(&mut self, text: Box<str>) -> &mut StaticEdge {
        let key = SegKey::of(&text);
        let i = match self.statics.iter().position(|e| e.is(key, &text)) {
            Some(i) => i,
            None => {
                self.statics.push(StaticEdge {
                    key,
                    text,
                    node: None,
                    leaf: None,
                });
                self.index_statics();
                self.statics.len() - 1
            }
        };
        &mut self.statics[i]
    }

    /// The child through `seg`, created if needed.
    fn edge(&mut self, seg: Compiled, id: u32) -> &mut Node {
        (match seg {
            Compiled::Static(text) => {
                let e = self.static_edge(text);
                &mut **e.node.get_or_insert_with(|| Box::new(Node::with_route(id)))
            }
            Compiled::Placeholder(name) => {
                let i = match self.placeholders.iter().position(|e| e.name == name) {
                    Some(i) => i,
                    None => {
                        self.placeholders.push(PlaceholderEdge {
                            name,
                            node: Node::with_route(id),
                        });
                        self.placeholders.len() - 1
                    }
                };
                &mut self.placeholders[i].node
            }
            Compiled::Regex(m) => {
                let i = match self.regexes.iter().position(|e| e.matcher.key == m.key) {
                    Some(i) => i,
                    None => {
                        self.regexes.push(RegexEdge {
                            matcher: m,
                            node: Node::with_route(id),
                        });
                        self.regexes.len() - 1
                    }
                };
                &mut self.regexes[i].node
            }
            Compiled::Glob { name, capture, key } => {
                &mut self
                    .glob
                    .get_or_insert_with(|| {
                        Box::new(GlobEdge {
                            name,
                            capture,
                            key,
                            node: Node::with_route(id),
                        })
                    })
                    .node
            }
        }) as _
    }

    fn with_route(id: u32) -> Self {
        Self {
            some_route: id,
            ..Self::default()
        }
    }
}

/// Which edges of a node a search step may take (see bounded globs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    /// Static, regex and placeholder edges and leaves only.
    Specific,
    /// Glob edges and leaves only.
    Glob,
}

impl Filter {
    fn specific(self) -> bool {
        self != Filter::Glob
    }

    fn glob(self) -> bool {
        self != Filter::Specific
    }
}

struct Search<'t, 'c, T, F> {
    routes: &'t [Route<T>],
    caps: &'c mut Captures,
    accept: &'c mut F,
}

impl<'t, T, F: FnMut(&T) -> bool> Search<'t, '_, T, F> {
    #[inline]
    fn accept(&mut self, id: u32) -> bool {
        (self.accept)(&self.routes[id as usize].value)
    }

    /// Matches `rest` (the path from the current segment on) below `node`.
    fn walk(&mut self, node: &Node, rest: &str, filter: Filter) -> Option<u32> {
        // One pass finds the end of the segment and whether it has escapes.
        let mut escaped = false;
        for (i, &b) in rest.as_bytes().iter().enumerate() {
            if b == b'/' {
                return self.subtree(node, rest, i, escaped, filter);
            }
            escaped |= b == b'%';
        }
        self.leaf(node, rest, escaped, filter)
    }

    /// `raw` is the last segment: try the leaves.
    fn leaf(&mut self, node: &Node, raw: &str, escaped: bool, filter: Filter) -> Option<u32> {
        let seg = if escaped {
            decode(raw)?
        } else {
            Cow::Borrowed(raw)
        };
        let mark = self.caps.len();
        if filter.specific() {
            if let Some(id) = node.find_static(&seg).and_then(|e| e.leaf)
                && self.accept(id)
            {
                return Some(id);
            }
            for (m, id) in &node.leaf_regexes {
                if m.capture(&seg, self.caps) && self.accept(*id) {
                    return Some(*id);
                }
                self.caps.truncate(mark);
            }
            for (name, id) in &node.leaf_placeholders {
                self.caps.push(*name, &seg);
                if self.accept(*id) {
                    return Some(*id);
                }
                self.caps.truncate(mark);
            }
        }
        if filter.glob()
            && let Some(g) = &node.leaf_glob
        {
            self.caps.push(g.name, &seg);
            if self.accept(g.leaf) {
                return Some(g.leaf);
            }
            self.caps.truncate(mark);
        }
        None
    }

    /// `rest[..i]` is a segment followed by more: try the edges, then the
    /// glob leaf over all of `rest`.
    fn subtree(
        &mut self,
        node: &Node,
        rest: &str,
        i: usize,
        escaped: bool,
        filter: Filter,
    ) -> Option<u32> {
        let raw = &rest[..i];
        let tail = &rest[i + 1..];
        let mark = self.caps.len();
        if filter.specific() {
            let seg = if escaped {
                decode(raw)?
            } else {
                Cow::Borrowed(raw)
            };
            if let Some(child) = node.find_static(&seg).and_then(|e| e.node.as_deref())
                && let Some(id) = self.walk(child, tail, Filter::All)
            {
                return Some(id);
            }
            for e in &node.regexes {
                if e.matcher.capture(&seg, self.caps)
                    && let Some(id) = self.walk(&e.node, tail, Filter::All)
                {
                    return Some(id);
                }
                self.caps.truncate(mark);
            }
            for e in &node.placeholders {
                self.caps.push(e.name, &seg);
                if let Some(id) = self.walk(&e.node, tail, Filter::All) {
                    return Some(id);
                }
                self.caps.truncate(mark);
            }
        }
        if filter.glob() {
            if let Some(g) = &node.glob
                && let Some(id) = self.glob(g, rest)
            {
                return Some(id);
            }
            if let Some(g) = &node.leaf_glob
                && (g.capture == 0 || segment_count(rest, g.capture) <= g.capture)
            {
                let value = decode(rest)?;
                self.caps.push(g.name, &value);
                if self.accept(g.leaf) {
                    return Some(g.leaf);
                }
                self.caps.truncate(mark);
            }
        }
        None
    }

    /// A glob edge consumes one or more segments of `rest`, then its node
    /// matches the remainder (at least one more segment).
    ///
    /// Unbounded: shortest first, any edge (the leftmost separator wins).
    /// Bounded (Flamego ≥ 1.10): partitions reaching a static, regex or
    /// placeholder edge or leaf first, shortest first; then partitions
    /// reaching a glob, longest first.
    fn glob(&mut self, g: &GlobEdge, rest: &str) -> Option<u32> {
        let mark = self.caps.len();
        let try_at = |this: &mut Self, end: usize, filter: Filter| -> Option<u32> {
            let value = decode(&rest[..end])?;
            this.caps.push(g.name, &value);
            if let Some(id) = this.walk(&g.node, &rest[end + 1..], filter) {
                return Some(id);
            }
            this.caps.truncate(mark);
            None
        };
        if g.capture == 0 {
            let mut from = 0;
            while let Some(end) = find_slash(rest, from) {
                if let Some(id) = try_at(self, end, Filter::All) {
                    return Some(id);
                }
                from = end + 1;
            }
            return None;
        }
        let mut ends: SmallVec<[usize; 8]> = SmallVec::new();
        let mut from = 0;
        while ends.len() < g.capture as usize {
            match find_slash(rest, from) {
                Some(end) => {
                    ends.push(end);
                    from = end + 1;
                }
                None => break,
            }
        }
        for &end in &ends {
            if let Some(id) = try_at(self, end, Filter::Specific) {
                return Some(id);
            }
        }
        for &end in ends.iter().rev() {
            if let Some(id) = try_at(self, end, Filter::Glob) {
                return Some(id);
            }
        }
        None
    }
}

/// The position of the first `/` in `s` at or after `from`.
#[inline]
fn find_slash(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes().get(from..)?;
    bytes.iter().position(|&b| b == b'/').map(|j| from + j)
}

/// The number of segments in `rest`, counting no further than `limit + 1`.
fn segment_count(rest: &str, limit: u32) -> u32 {
    let mut n = 1;
    for b in rest.bytes() {
        if b == b'/' {
            n += 1;
            if n > limit {
                break;
            }
        }
    }
    n
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `raw`; `None` if an escape is invalid or the result is not
/// UTF-8.
pub(crate) fn decode(raw: &str) -> Option<Cow<'_, str>> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'%') else {
        return Some(Cow::Borrowed(raw));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}
