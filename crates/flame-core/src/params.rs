//! [`Params`]: the binds of the matched route.

use crate::context::Context;

/// The route's binds and the matched pattern, as a cheap handle; inject it as an argument.
///
/// As Flamego's `c.Params()`, it holds one more entry than the pattern's binds: `route`, the
/// matched route's pattern (it wins over a bind named `route`). Requests no route matched have
/// no params at all.
///
/// ```
/// use flame_core::{Flame, Params};
///
/// let mut f = Flame::new();
/// // GET /users/7 answers `user 7 via /users/{id}`
/// f.get("/users/{id}", |p: Params| format!("user {} via {}", p.get("id").unwrap_or("?"), p.route()));
/// // GET /teams/1/members/2 answers `team=1 member=2 route=/teams/{team}/members/{member}`
/// f.get("/teams/{team}/members/{member}", |p: Params| {
///     p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
/// });
/// ```
#[derive(Clone)]
pub struct Params(pub(crate) Context);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The name under which the matched pattern is a param, as in Flamego.
pub(crate) const ROUTE_PARAM: &str = "route";

impl Params {
    /// The value bound to `name`; `route` is the matched pattern.
    pub fn get(&self, name: &str) -> Option<&str> {
        let inner = self.0.inner();
        if name == ROUTE_PARAM && !inner.route.is_empty() {
            return Some(&inner.route);
        }
        inner.captures.get(name)
    }

    /// Every `(name, value)`: the binds in pattern order, then `("route", pattern)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let inner = self.0.inner();
        let matched = !inner.route.is_empty();
        inner
            .captures
            .iter()
            .filter(move |(name, _)| !(matched && *name == ROUTE_PARAM))
            .chain(matched.then_some((ROUTE_PARAM, &*inner.route)))
    }

    /// How many params there are, `route` included.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none (only when no route matched).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The matched route's pattern, e.g. `/users/{id}`, for labelling logs and metrics; the
    /// same as `get("route")`.
    pub fn route(&self) -> &str {
        &self.0.inner().route
    }
}
