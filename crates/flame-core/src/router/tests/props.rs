//! Property tests of flame's router.

use crate::router::{Captures, RoutePattern, Tree, url_path};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

/// One generated segment of a route, with the values a path will give it.
#[derive(Debug, Clone)]
enum Seg {
    /// Uppercase literal: never equal to a generated value.
    Static(String),
    /// `{p}` with a non-empty value (any characters, `/` included).
    Placeholder(String),
    /// `{n: /[0-9]+/}`.
    Digits(String),
    /// `v{n: /[0-9]+/}.{e: /[a-z]+/}`.
    Mixed(String, String),
    /// `{g: **}` or `{g: **, capture: N}`, with lowercase pieces.
    Glob(Option<u32>, Vec<String>),
}

fn value() -> impl Strategy<Value = String> {
    "[a-z0-9 %/?#é{}\\\\A-Z._~-]{1,8}"
}

fn piece() -> impl Strategy<Value = String> {
    // No digits-only or uppercase pieces (those are the anchors' texts), no `/`.
    "[a-z][a-z %?#é.~-]{0,5}"
}

fn seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        "[A-Z][A-Z0-9_]{0,5}".prop_map(Seg::Static),
        value().prop_map(Seg::Placeholder),
        "[0-9]{1,4}".prop_map(Seg::Digits),
        ("[0-9]{1,4}", "[a-z]{1,4}").prop_map(|(a, b)| Seg::Mixed(a, b)),
        (
            prop::option::of(1u32..4),
            prop::collection::vec(piece(), 1..4)
        )
            .prop_map(|(cap, mut pieces)| {
                if let Some(cap) = cap {
                    pieces.truncate(cap as usize);
                }
                Seg::Glob(cap, pieces)
            }),
    ]
}

/// A route: segments where every glob is last or followed by an anchor (a
/// static or regex segment), which makes the route valid and its split of any
/// generated path unique. The last segment may be optional.
fn route() -> impl Strategy<Value = (Vec<Seg>, bool, bool)> {
    (
        prop::collection::vec(seg(), 1..7),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(segs, optional, include)| {
            let mut out: Vec<Seg> = Vec::new();
            for s in segs {
                if let Some(Seg::Glob(..)) = out.last()
                    && !matches!(s, Seg::Static(_) | Seg::Digits(_) | Seg::Mixed(..))
                {
                    continue;
                }
                out.push(s);
            }
            let optional =
                optional && matches!(out.last(), Some(Seg::Static(_) | Seg::Placeholder(_)));
            (out, optional, include || !optional)
        })
}

/// The pattern, a path for it, and the captures that path must give.
fn render(
    segs: &[Seg],
    optional: bool,
    include_last: bool,
) -> (String, String, Vec<(String, String)>) {
    let mut pattern = String::new();
    let mut path = String::new();
    let mut caps = Vec::new();
    let enc = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        pattern.push('/');
        if last && optional {
            pattern.push('?');
        }
        let in_path = !last || include_last;
        let mut p = String::new();
        let mut seg_caps = Vec::new();
        match s {
            Seg::Static(t) => {
                pattern.push_str(t);
                p.push_str(t);
            }
            Seg::Placeholder(v) => {
                pattern.push_str(&format!("{{p{i}}}"));
                p.push_str(&enc(v));
                seg_caps.push((format!("p{i}"), v.clone()));
            }
            Seg::Digits(d) => {
                pattern.push_str(&format!("{{n{i}: /[0-9]+/}}"));
                p.push_str(d);
                seg_caps.push((format!("n{i}"), d.clone()));
            }
            Seg::Mixed(d, e) => {
                pattern.push_str(&format!("v{{a{i}: /[0-9]+/}}.{{b{i}: /[a-z]+/}}"));
                p.push_str(&format!("v{d}.{e}"));
                seg_caps.push((format!("a{i}"), d.clone()));
                seg_caps.push((format!("b{i}"), e.clone()));
            }
            Seg::Glob(cap, pieces) => {
                match cap {
                    Some(c) => pattern.push_str(&format!("{{g{i}: **, capture: {c}}}")),
                    None => pattern.push_str(&format!("{{g{i}: **}}")),
                }
                p.push_str(&pieces.iter().map(|x| enc(x)).collect::<Vec<_>>().join("/"));
                seg_caps.push((format!("g{i}"), pieces.join("/")));
            }
        }
        if in_path {
            path.push('/');
            path.push_str(&p);
            caps.extend(seg_caps);
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    (pattern, path, caps)
}

fn find(tree: &Tree<()>, path: &str) -> Option<Vec<(String, String)>> {
    let mut caps = Captures::new();
    tree.find(path, &mut caps, |_| true)?;
    Some(
        caps.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(s in any::<String>()) {
        let _ = RoutePattern::parse(&s);
        let _ = Tree::new().insert(&s, ());
        let _ = url_path(&s, &[("a", "b")]);
    }

    #[test]
    fn parser_never_panics_on_route_like_text(s in "/[/{}:?*a-z0-9 ,/\\\\.\\[\\]()|+-]{0,30}") {
        let _ = RoutePattern::parse(&s);
        let mut tree = Tree::new();
        if tree.insert(&s, ()).is_ok() {
            let mut caps = Captures::new();
            let _ = tree.find(&s, &mut caps, |_| true);
        }
    }

    #[test]
    fn find_never_panics(path in any::<String>()) {
        let mut tree = Tree::new();
        for r in [
            "/",
            "/users/{name}/?{tab: /[a-z]+/}",
            "/posts/{year: /[0-9]{4}/}-{month}-{day}.json",
            "/files/{a: **, capture: 2}/{b: **}",
            "/webhooks/{repo: **}/events",
            "/{**}",
        ] {
            tree.insert(r, ()).unwrap();
        }
        let mut caps = Captures::new();
        if tree.find(&path, &mut caps, |_| true).is_none() {
            prop_assert!(caps.is_empty());
        }
    }

    #[test]
    fn generated_paths_match((segs, optional, include) in route()) {
        let (pattern, path, want) = render(&segs, optional, include);
        let mut tree = Tree::new();
        tree.insert(&pattern, ()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(find(&tree, &path), Some(want.clone()), "pattern {} path {}", pattern, path);

        // url_path round-trips through find.
        let mut pairs: Vec<(&str, &str)> = want.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if optional && include {
            pairs.push(("withOptional", "true"));
        }
        let url = url_path(&pattern, &pairs).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(find(&tree, &url), Some(want), "pattern {} url {}", pattern, url);
    }
}
