//! [`Params`]: the binds of the matched route.

use crate::context::Context;

/// The route's binds, as a cheap handle; inject it as an argument.
///
/// ```
/// use flame_core::{Flame, Params};
///
/// let mut f = Flame::new();
/// f.get("/users/{id}", |p: Params| format!("user {} via {}", p.get("id").unwrap_or("?"), p.route()));
/// ```
#[derive(Clone)]
pub struct Params(pub(crate) Context);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Params {
    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.inner().captures.get(name)
    }

    /// Every `(name, value)`, in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.inner().captures.iter()
    }

    /// How many binds there are.
    pub fn len(&self) -> usize {
        self.0.inner().captures.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.inner().captures.is_empty()
    }

    /// The matched route's pattern, e.g. `/users/{id}`, for labelling logs and metrics.
    pub fn route(&self) -> &str {
        &self.0.inner().route
    }
}
