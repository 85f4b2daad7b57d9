//! flame's router: Flamego's route syntax, parsed into a matching tree.
//!
//! Private: apps reach it through [`Flame::route`](crate::Flame::route) and its siblings, whose
//! docs include the syntax and the matching rules from `src/docs/route_syntax.md`. The parser
//! (`parser.rs`) and the tree (`tree.rs`) are apart, as in Flamego's `internal/route`.

mod parser;
mod tree;
mod url;

#[cfg(test)]
mod tests;

pub(crate) use tree::{Captures, Tree};
pub(crate) use url::url_path;

#[cfg(test)]
pub(crate) use {
    parser::{ParseErrorKind, RoutePattern},
    tree::RouteError,
};
