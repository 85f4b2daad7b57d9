//! flame's router: Flamego's route syntax, parsed into a matching tree.
//!
//! # Syntax
//!
//! | pattern | matches |
//! | --- | --- |
//! | `/user/settings` | exactly that path (a trailing slash is significant) |
//! | `/users/{name}` | one segment, possibly empty (`/users/` gives `name = ""`) |
//! | `/users/{id: /[0-9]+/}` | one segment matching the regex (a regex cannot contain `/`) |
//! | `/posts/{year: /[0-9]{4}/}-{month}-{day}.html` | several binds and literals in one segment; `{name}` there is one or more characters |
//! | `/posts/{**}`, `/repo/{path: **}/events` | a glob: one or more segments (`{**}` is `{**: **}`) |
//! | `/geo/{**: **, capture: 2}` | a glob of at most 2 segments |
//! | `/user/?settings`, `/users/?{name}` | an optional last segment: `/user` and `/user/settings` |
//!
//! Static text may use ASCII letters, digits, `- . _ ~ @ ! $ & ' ( ) * + ; % = : , [ ] \ |`
//! and any non-ASCII character. Two globs in one route must be separated by a
//! static or regex/mixed segment, unless the earlier one has a capture limit.
//!
//! # Matching
//!
//! The path is split on `/` as received (percent-encoded), each segment is
//! percent-decoded once, and statics, regexes and captures see the decoded
//! text (so `%2F` stays inside its segment). At each segment the candidates
//! are, in order: static, regex/mixed, placeholder, glob; the first
//! registered wins within a kind, and a failed deeper match backtracks.
//!
//! ```
//! use flame_core::router::{Captures, Tree, url_path};
//!
//! let mut tree = Tree::new();
//! tree.insert("/repos/{owner}/{name}:settings", "settings").unwrap();
//! tree.insert("/repos/{owner}/{name}", "repo").unwrap();
//! tree.insert("/files/{path: **}/blob/{line: /[0-9]+/}", "blob").unwrap();
//!
//! let mut caps = Captures::new();
//! assert_eq!(tree.find("/repos/flamego/flamego:settings", &mut caps, |_| true), Some(&"settings"));
//! assert_eq!(tree.find("/files/src/lib/blob/15", &mut caps, |_| true), Some(&"blob"));
//! assert_eq!(caps.get("path"), Some("src/lib"));
//!
//! let url = url_path("/repos/{owner}/{name}", &[("owner", "a b"), ("name", "c")]).unwrap();
//! assert_eq!(url, "/repos/a%20b/c");
//! assert_eq!(tree.find(&url, &mut caps, |_| true), Some(&"repo"));
//! assert_eq!(caps.get("owner"), Some("a b"));
//! ```

mod parser;
mod tree;
mod url;

#[cfg(test)]
mod tests;

pub use parser::{ParseError, ParseErrorKind, RoutePattern};
pub use tree::{Captures, CapturesIter, Matched, RouteError, Tree};
pub use url::{UrlError, url_path};
