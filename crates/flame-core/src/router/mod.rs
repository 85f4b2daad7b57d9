//! Interim router: static segments and `{name}` binds only (the full Flamego syntax replaces it).

use std::sync::Arc;

use smallvec::SmallVec;

/// An error registering a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The same pattern was registered twice.
    #[error("duplicated route {0:?}")]
    Duplicate(String),
    /// The pattern could not be parsed.
    #[error("invalid route {route:?}: {reason}")]
    Invalid {
        /// The pattern.
        route: String,
        /// What is wrong.
        reason: String,
    },
}

/// An error building a URL from a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing value for bind {0:?}")]
pub struct UrlError(pub String);

/// The binds captured by a match.
#[derive(Debug, Clone, Default)]
pub struct Captures {
    items: SmallVec<[(Arc<str>, String); 4]>,
}

impl Captures {
    /// No captures.
    pub fn new() -> Self {
        Self::default()
    }
    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().map(|(n, v)| (&**n, v.as_str()))
    }
    /// How many binds.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Forgets every bind.
    pub fn clear(&mut self) {
        self.items.clear();
    }
    fn push(&mut self, name: Arc<str>, value: String) {
        self.items.push((name, value));
    }
}

enum Seg {
    Static(String),
    Bind(Arc<str>),
}

/// A matching tree for one HTTP method.
pub struct Tree<T> {
    routes: Vec<(String, Vec<Seg>, T)>,
}

impl<T> std::fmt::Debug for Tree<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("routes", &self.routes.len())
            .finish()
    }
}

impl<T> Default for Tree<T> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

impl<T> Tree<T> {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts a route.
    ///
    /// # Errors
    ///
    /// A duplicate or malformed pattern.
    pub fn insert(&mut self, pattern: &str, value: T) -> Result<(), RouteError> {
        if self.routes.iter().any(|(p, _, _)| p == pattern) {
            return Err(RouteError::Duplicate(pattern.to_owned()));
        }
        let mut segs = Vec::new();
        for part in pattern.trim_start_matches('/').split('/') {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                segs.push(Seg::Bind(Arc::from(name.trim())));
            } else if part.contains(['{', '}']) {
                return Err(RouteError::Invalid {
                    route: pattern.to_owned(),
                    reason: "unsupported".into(),
                });
            } else {
                segs.push(Seg::Static(part.to_owned()));
            }
        }
        self.routes.push((pattern.to_owned(), segs, value));
        Ok(())
    }

    /// Finds the route for `path`.
    pub fn find<'t>(
        &'t self,
        path: &str,
        captures: &mut Captures,
        mut accept: impl FnMut(&T) -> bool,
    ) -> Option<&'t T> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(usize, &'t T, Captures)> = None;
        for (_, segs, value) in &self.routes {
            if segs.len() != parts.len() {
                continue;
            }
            let mut caps = Captures::new();
            let mut score = 0;
            let ok = segs.iter().zip(&parts).all(|(seg, part)| match seg {
                Seg::Static(s) => {
                    score += 1;
                    s == part
                }
                Seg::Bind(name) => {
                    caps.push(name.clone(), (*part).to_owned());
                    true
                }
            });
            if ok && best.as_ref().is_none_or(|(s, _, _)| score > *s) && accept(value) {
                best = Some((score, value, caps));
            }
        }
        let (_, value, caps) = best?;
        *captures = caps;
        Some(value)
    }
}

/// Builds a URL from a pattern.
///
/// # Errors
///
/// A bind with no value.
pub fn url_path(pattern: &str, pairs: &[(&str, &str)]) -> Result<String, UrlError> {
    let mut out = String::new();
    for part in pattern.trim_start_matches('/').split('/') {
        out.push('/');
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let value = pairs
                .iter()
                .find(|(k, _)| *k == name.trim())
                .ok_or_else(|| UrlError(name.to_owned()))?;
            out.push_str(value.1);
        } else {
            out.push_str(part);
        }
    }
    Ok(out)
}
