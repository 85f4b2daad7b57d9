//! Table-driven tests of flame's router: (route set, request path) -> (route,
//! captures) or no match, and registration errors. Many cases come from
//! Flamego's own `internal/route/tree_test.go`.

use crate::router::{Captures, ParseErrorKind, RouteError, Tree, url_path};

type Pairs = &'static [(&'static str, &'static str)];

struct Case {
    line: u32,
    set: &'static [&'static str],
    path: &'static str,
    /// Routes `accept` refuses (Flamego: a failed header or predicate match).
    reject: &'static [&'static str],
    want: Option<(&'static str, Pairs)>,
}

macro_rules! ok {
    ($set:expr, $path:expr => $route:expr $(, $k:expr => $v:expr)* $(; reject $($r:expr),+)?) => {
        Case { line: line!(), set: $set, path: $path, reject: &[$($($r),+)?], want: Some(($route, &[$(($k, $v)),*])) }
    };
}

macro_rules! none {
    ($set:expr, $path:expr $(; reject $($r:expr),+)?) => {
        Case { line: line!(), set: $set, path: $path, reject: &[$($($r),+)?], want: None }
    };
}

/// Flamego's `TestTree_Match` routes (v1.13, multi-glob included).
const FLAMEGO: &[&str] = &[
    "/webapi",
    "/webapi/users/?{id}",
    "/webapi/users/ids/{id: /[0-9]+/}",
    "/webapi/users/ids/{sha: /[a-z0-9]{7,40}/}",
    "/webapi/users/sessions/{paths: **}",
    "/webapi/users/events/{names: **}/feed",
    "/webapi/users/settings/?profile",
    "/webapi/projects/{name}/hashes/{paths: **, capture: 2}/blob/{lineno: /[0-9]+/}",
    "/webapi/projects/{name}/commit/{sha: /[a-z0-9]{7,40}/}/main.go",
    r"/webapi/projects/{name}/commit/{sha: /[a-z0-9]{7,40}/}{ext: /(\.(patch|diff))?/}",
    "/webapi/articles/{category}/{year: /[0-9]{4}/}-{month}-{day}.json",
    "/webapi/groups/{name: **, capture: 2}",
    "/webapi/multi/{prefix: **, capture: 2}/{suffix: **}",
    "/webapi/multi/{prefix: **, capture: 2}/sep/{y: **}",
    "/webapi/anchored/{a: **}/sep/{b: **}",
    "/webapi/triple/{a: **, capture: 2}/{b: **, capture: 2}/{c: **}",
    "/webapi/cap1/{a: **, capture: 1}/{b: **}",
    "/webapi/strict/{a: **, capture: 2}/{n: /[0-9]+/}",
    "/webapi/leak/{leak: **, capture: 2}/{x}/end",
    "/webapi/leak/{leak: **, capture: 2}/{n: /[0-9]+/}",
    r"/api/v1/{org_id: /[0-9]+/}/repos/{repo_path: **, capture: 3}/blob/{ref}/article_{id: /\d+/}-{slug: /[a-z-]+/}.{ext: /md|txt/}/files/{tail: **}",
    "/webapi/special/test@$",
    "/webapi/special/%_",
];

/// Flamego's `TestTree_MatchStaticLiteralSpecialChars` routes.
const SPECIAL: &[&str] = &[
    "/users[0]",
    "/users[0],info",
    "/users:list",
    "/repos/{owner}/{name}:settings",
    "/files[latest]/{id}",
    "/search,tags/{tag}",
    "/api:v1/users",
    "/compare/{base}...{head}[diff]",
    r"/windows\path",
    "/choice|fallback",
    "/webapi/special/file[0],info:{id}",
    "/café/{x}",
    "/lit%20eral",
];

const ESCAPE: &[&str] = &["/webapi/special/vars/{var}", "/r/{n: /[a-z ]+/}"];

/// Flamego's `TestTree_MatchHeader` routes; those marked "needs Status" are
/// rejected by `accept` when the request has no Status header.
const HEADER: &[&str] = &[
    "/webapi/static",
    "/webapi/vars/{var}",
    "/webapi/vars/{var}.html",
    "/webapi/users/ids/{id: /[0-9]+/}_html",
    r"/webapi/users/ids/{id: /\w+/}",
    "/webapi/users/sessions/123",
    "/webapi/users/sessions/{paths: **}",
    "/webapi/users/events/{names: **}/feed",
    "/webapi/users/events/{names: **}",
];

const PRIORITY: &[&str] = &[
    "/p/{**}",
    "/p/{name}",
    "/p/{name}.html",
    "/p/{id: /[0-9]+/}",
    "/p/settings",
    "/p/{a}/x",
    "/p/{tail: **}/y",
    "/b/{x}/one/two",
    "/b/{y}/one/three",
    "/b/static/one/four",
    "/f/{a}",
    "/f/{b}",
    "/g/{a}/end",
    "/g/{p: **}/end",
];

const SLASHES: &[&str] = &["/", "/user/", "/account", "/users/{name}", "/posts/{**}"];

const OPTIONAL: &[&str] = &[
    "/user/?settings",
    "/users/?{name}",
    "/?home",
    "/files/?{path: **}",
    "/repo/{owner}/?{name: /[a-z]+/}",
];

const GLOBS: &[&str] = &[
    "/geo/{**: **, capture: 2}",
    "/names/{names: **, capture: 2}",
    "/webhooks/{repo: **}/events",
    "/files/{prefix: **}/blob/{path: **}",
    "/repos/{owner: **}/{id: /[0-9]+/}/{path: **}",
    "/archive/{head: **, capture: 2}/{tail: **}",
    "/x/{a: **, capture: 2}/sep/{b: **, capture: 2}/end/{c: **}",
    "/mixed/{year: /[0-9]{4}/}-{month}-{day}.json",
    r"/mixed/article_{id: /\d+/}-{slug: /[a-z-]+/}.{ext: /md|txt/}",
];

fn cases() -> Vec<Case> {
    vec![
        // ---- Flamego TestTree_Match: matches
        ok!(FLAMEGO, "/webapi" => "/webapi"),
        ok!(FLAMEGO, "/webapi/users" => "/webapi/users/?{id}"),
        ok!(FLAMEGO, "/webapi/users/12" => "/webapi/users/?{id}", "id" => "12"),
        ok!(FLAMEGO, "/webapi/users/ids/123" => "/webapi/users/ids/{id: /[0-9]+/}", "id" => "123"),
        ok!(FLAMEGO, "/webapi/users/ids/368c7b2d0b1e0b243b2" => "/webapi/users/ids/{sha: /[a-z0-9]{7,40}/}", "sha" => "368c7b2d0b1e0b243b2"),
        ok!(FLAMEGO, "/webapi/users/sessions/ab/cd/ef/gh" => "/webapi/users/sessions/{paths: **}", "paths" => "ab/cd/ef/gh"),
        ok!(FLAMEGO, "/webapi/users/events/ab/cd/ef/gh/feed" => "/webapi/users/events/{names: **}/feed", "names" => "ab/cd/ef/gh"),
        ok!(FLAMEGO, "/webapi/projects/flamego/hashes/src/lib/blob/15" => FLAMEGO[7], "name" => "flamego", "paths" => "src/lib", "lineno" => "15"),
        ok!(FLAMEGO, "/webapi/projects/flamego/commit/368c7b2d0b1e0b243b2/main.go" => FLAMEGO[8], "name" => "flamego", "sha" => "368c7b2d0b1e0b243b2"),
        ok!(FLAMEGO, "/webapi/projects/flamego/commit/368c7b2d0b1e0b243b2" => FLAMEGO[9], "name" => "flamego", "sha" => "368c7b2d0b1e0b243b2", "ext" => ""),
        ok!(FLAMEGO, "/webapi/projects/flamego/commit/368c7b2d0b1e0b243b2.patch" => FLAMEGO[9], "name" => "flamego", "sha" => "368c7b2d0b1e0b243b2", "ext" => ".patch"),
        ok!(FLAMEGO, "/webapi/articles/social/2021-05-03.json" => FLAMEGO[10], "category" => "social", "year" => "2021", "month" => "05", "day" => "03"),
        ok!(FLAMEGO, "/webapi/groups/flamego/flamego" => FLAMEGO[11], "name" => "flamego/flamego"),
        ok!(FLAMEGO, "/webapi/multi/x/y/z/w" => FLAMEGO[12], "prefix" => "x/y", "suffix" => "z/w"),
        ok!(FLAMEGO, "/webapi/multi/x/y/z" => FLAMEGO[12], "prefix" => "x/y", "suffix" => "z"),
        ok!(FLAMEGO, "/webapi/multi/a/sep/b/c" => FLAMEGO[13], "prefix" => "a", "y" => "b/c"),
        ok!(FLAMEGO, "/webapi/anchored/x/y/sep/z/w" => FLAMEGO[14], "a" => "x/y", "b" => "z/w"),
        ok!(FLAMEGO, "/webapi/anchored/x/sep/y/sep/z" => FLAMEGO[14], "a" => "x", "b" => "y/sep/z"),
        ok!(FLAMEGO, "/webapi/triple/x/y/z/w/v" => FLAMEGO[15], "a" => "x/y", "b" => "z/w", "c" => "v"),
        ok!(FLAMEGO, "/webapi/triple/x/y/z/w" => FLAMEGO[15], "a" => "x/y", "b" => "z", "c" => "w"),
        ok!(FLAMEGO, "/webapi/cap1/x/y/z" => FLAMEGO[16], "a" => "x", "b" => "y/z"),
        ok!(FLAMEGO, "/webapi/strict/x/y/42" => FLAMEGO[17], "a" => "x/y", "n" => "42"),
        ok!(FLAMEGO, "/webapi/leak/p/q/42" => FLAMEGO[19], "leak" => "p/q", "n" => "42"),
        ok!(FLAMEGO, "/api/v1/42/repos/a/b/c/blob/main/article_7-hello-world.md/files/x/y/z" => FLAMEGO[20],
            "org_id" => "42", "repo_path" => "a/b/c", "ref" => "main", "id" => "7", "slug" => "hello-world", "ext" => "md", "tail" => "x/y/z"),
        ok!(FLAMEGO, "/api/v1/42/repos/a/b/blob/main/article_7-hello-world.md/files/last" => FLAMEGO[20],
            "org_id" => "42", "repo_path" => "a/b", "ref" => "main", "id" => "7", "slug" => "hello-world", "ext" => "md", "tail" => "last"),
        ok!(FLAMEGO, "/webapi/special/test@$" => "/webapi/special/test@$"),
        // Statics compare against the decoded segment: the literal "%_" is
        // reached by "%25_" (as in Flamego, where Go decodes the path first).
        ok!(FLAMEGO, "/webapi/special/%25_" => "/webapi/special/%_"),
        ok!(FLAMEGO, "/webapi/users/settings" => "/webapi/users/settings/?profile"),
        ok!(FLAMEGO, "/webapi/users/settings/profile" => "/webapi/users/settings/?profile"),
        // ---- Flamego TestTree_Match: no match
        none!(FLAMEGO, "/webapi//"),
        none!(FLAMEGO, "/webapi/users/ids/abc"),
        none!(FLAMEGO, "/webapi/projects/flamego/hashes/src/lib/blob/abc"),
        none!(FLAMEGO, "/webapi/projects/flamego/commit/368c7b/main.go"),
        none!(FLAMEGO, "/webapi/articles/social/21-05-03.json"),
        none!(FLAMEGO, "/webapi/articles/social/year-05-03.json"),
        none!(FLAMEGO, "/webapi/articles/social/2021-05.json"),
        none!(FLAMEGO, "/webapi/groups/flamego/flamego/flamego"),
        none!(
            FLAMEGO,
            "/webapi/projects/flamego/hashes/src/lib/main.c/blob/15"
        ),
        none!(FLAMEGO, "/webapi/anchored/x/y/z"),
        none!(FLAMEGO, "/webapi/strict/x/y/z/w"),
        none!(
            FLAMEGO,
            "/api/v1/42/repos/a/b/c/blob/main/article_7-hello-world.html/files/x"
        ),
        // Invalid percent-encoding never matches (Flamego keeps it raw).
        none!(FLAMEGO, "/webapi/special/%_"),
        none!(FLAMEGO, "/webapi/users/%zz"),
        // ---- Flamego TestTree_MatchStaticLiteralSpecialChars
        ok!(SPECIAL, "/users[0]" => "/users[0]"),
        ok!(SPECIAL, "/users[0],info" => "/users[0],info"),
        ok!(SPECIAL, "/users:list" => "/users:list"),
        ok!(SPECIAL, "/repos/flamego/flamego:settings" => "/repos/{owner}/{name}:settings", "owner" => "flamego", "name" => "flamego"),
        ok!(SPECIAL, "/files[latest]/123" => "/files[latest]/{id}", "id" => "123"),
        ok!(SPECIAL, "/search,tags/go" => "/search,tags/{tag}", "tag" => "go"),
        ok!(SPECIAL, "/api:v1/users" => "/api:v1/users"),
        ok!(SPECIAL, "/compare/main...feature[diff]" => "/compare/{base}...{head}[diff]", "base" => "main", "head" => "feature"),
        ok!(SPECIAL, r"/windows\path" => r"/windows\path"),
        ok!(SPECIAL, "/windows%5Cpath" => r"/windows\path"),
        ok!(SPECIAL, "/choice|fallback" => "/choice|fallback"),
        ok!(SPECIAL, "/webapi/special/file[0],info:123" => "/webapi/special/file[0],info:{id}", "id" => "123"),
        none!(SPECIAL, "/webapi/special/file0,info:123"),
        none!(SPECIAL, "/compare/main..feature[diff]"),
        ok!(SPECIAL, "/caf%C3%A9/1" => "/café/{x}", "x" => "1"),
        ok!(SPECIAL, "/café/1" => "/café/{x}", "x" => "1"),
        ok!(SPECIAL, "/lit%2520eral" => "/lit%20eral"),
        none!(SPECIAL, "/lit%20eral"),
        // ---- Percent-decoding (Flamego TestTree_MatchEscape and more)
        ok!(ESCAPE, "/webapi/special/vars/%E4%BD%A0%E5%A5%BD%E4%B8%96%E7%95%8C" => ESCAPE[0], "var" => "你好世界"),
        ok!(ESCAPE, "/webapi/special/vars/%25_" => ESCAPE[0], "var" => "%_"),
        ok!(ESCAPE, "/webapi/special/vars/a%2Fb" => ESCAPE[0], "var" => "a/b"),
        ok!(ESCAPE, "/webapi/special/vars/a%20b%2525" => ESCAPE[0], "var" => "a b%25"),
        ok!(ESCAPE, "/r/a%20b" => ESCAPE[1], "n" => "a b"),
        none!(ESCAPE, "/webapi/special/vars/%_"),
        none!(ESCAPE, "/webapi/special/vars/%FF"),
        none!(ESCAPE, "/webapi/special/vars/%"),
        none!(ESCAPE, "/r/a%2"),
        // ---- accept fall-through (Flamego TestTree_MatchHeader)
        none!(HEADER, "/webapi/static"; reject "/webapi/static"),
        ok!(HEADER, "/webapi/static" => "/webapi/static"),
        ok!(HEADER, "/webapi/vars/abc.html" => "/webapi/vars/{var}", "var" => "abc.html"; reject "/webapi/vars/{var}.html"),
        ok!(HEADER, "/webapi/vars/abc.html" => "/webapi/vars/{var}.html", "var" => "abc"),
        ok!(HEADER, "/webapi/users/ids/abc_html" => HEADER[4], "id" => "abc_html"; reject "/webapi/users/ids/{id: /[0-9]+/}_html"),
        ok!(HEADER, "/webapi/users/ids/2830_html" => HEADER[3], "id" => "2830"),
        ok!(HEADER, "/webapi/users/sessions/123" => HEADER[6], "paths" => "123"; reject "/webapi/users/sessions/123"),
        ok!(HEADER, "/webapi/users/sessions/123" => HEADER[5]),
        ok!(HEADER, "/webapi/users/events/push/feed" => HEADER[8], "names" => "push/feed"; reject "/webapi/users/events/{names: **}/feed"),
        ok!(HEADER, "/webapi/users/events/push/feed" => HEADER[7], "names" => "push"),
        none!(HEADER, "/webapi/users/events/push/feed"; reject "/webapi/users/events/{names: **}/feed", "/webapi/users/events/{names: **}"),
        // ---- Priority: static > regex/mixed > placeholder > glob, registration order within a kind
        ok!(PRIORITY, "/p/settings" => "/p/settings"),
        ok!(PRIORITY, "/p/joe.html" => "/p/{name}.html", "name" => "joe"),
        ok!(PRIORITY, "/p/42" => "/p/{id: /[0-9]+/}", "id" => "42"),
        ok!(PRIORITY, "/p/joe" => "/p/{name}", "name" => "joe"),
        ok!(PRIORITY, "/p/a/b" => "/p/{**}", "**" => "a/b"),
        ok!(PRIORITY, "/p/42" => "/p/{name}", "name" => "42"; reject "/p/{id: /[0-9]+/}"),
        ok!(PRIORITY, "/p/settings" => "/p/{name}", "name" => "settings"; reject "/p/settings"),
        ok!(PRIORITY, "/p/settings" => "/p/{**}", "**" => "settings"; reject "/p/settings", "/p/{name}"),
        ok!(PRIORITY, "/p/q/x" => "/p/{a}/x", "a" => "q"),
        ok!(PRIORITY, "/p/q/r/y" => "/p/{tail: **}/y", "tail" => "q/r"),
        ok!(PRIORITY, "/p/q/x" => "/p/{**}", "**" => "q/x"; reject "/p/{a}/x"),
        // Backtracking from a failed deeper match to the next sibling.
        ok!(PRIORITY, "/b/static/one/two" => "/b/{x}/one/two", "x" => "static"),
        ok!(PRIORITY, "/b/static/one/four" => "/b/static/one/four"),
        ok!(PRIORITY, "/b/v/one/three" => "/b/{y}/one/three", "y" => "v"),
        none!(PRIORITY, "/b/v/one/four"),
        ok!(PRIORITY, "/f/x" => "/f/{a}", "a" => "x"),
        ok!(PRIORITY, "/f/x" => "/f/{b}", "b" => "x"; reject "/f/{a}"),
        ok!(PRIORITY, "/g/x/end" => "/g/{a}/end", "a" => "x"),
        ok!(PRIORITY, "/g/x/y/end" => "/g/{p: **}/end", "p" => "x/y"),
        ok!(PRIORITY, "/g/x/end" => "/g/{p: **}/end", "p" => "x"; reject "/g/{a}/end"),
        // ---- Slashes: trailing significant, leading repeated tolerated, empty {name}
        ok!(SLASHES, "/" => "/"),
        ok!(SLASHES, "" => "/"),
        ok!(SLASHES, "///" => "/"),
        ok!(SLASHES, "/user/" => "/user/"),
        ok!(SLASHES, "//user/" => "/user/"),
        none!(SLASHES, "/user"),
        none!(SLASHES, "/user/info"),
        ok!(SLASHES, "/account" => "/account"),
        none!(SLASHES, "/account/"),
        ok!(SLASHES, "/users/" => "/users/{name}", "name" => ""),
        ok!(SLASHES, "/users/joe" => "/users/{name}", "name" => "joe"),
        none!(SLASHES, "/users/joe/"),
        ok!(SLASHES, "/posts/2021/11/26.html" => "/posts/{**}", "**" => "2021/11/26.html"),
        ok!(SLASHES, "/posts/" => "/posts/{**}", "**" => ""),
        ok!(SLASHES, "/posts/a/" => "/posts/{**}", "**" => "a/"),
        none!(SLASHES, "/posts"),
        // ---- Optional last segment
        ok!(OPTIONAL, "/user" => "/user/?settings"),
        ok!(OPTIONAL, "/user/settings" => "/user/?settings"),
        none!(OPTIONAL, "/user/"),
        none!(OPTIONAL, "/user/other"),
        ok!(OPTIONAL, "/users" => "/users/?{name}"),
        ok!(OPTIONAL, "/users/joe" => "/users/?{name}", "name" => "joe"),
        ok!(OPTIONAL, "/users/" => "/users/?{name}", "name" => ""),
        ok!(OPTIONAL, "/" => "/?home"),
        ok!(OPTIONAL, "/home" => "/?home"),
        ok!(OPTIONAL, "/files" => "/files/?{path: **}"),
        ok!(OPTIONAL, "/files/a/b" => "/files/?{path: **}", "path" => "a/b"),
        ok!(OPTIONAL, "/repo/flamego" => "/repo/{owner}/?{name: /[a-z]+/}", "owner" => "flamego"),
        ok!(OPTIONAL, "/repo/flamego/core" => "/repo/{owner}/?{name: /[a-z]+/}", "owner" => "flamego", "name" => "core"),
        none!(OPTIONAL, "/repo/flamego/c0re"),
        // ---- Globs, capture limits, several globs, mixed segments
        ok!(GLOBS, "/geo/ma/boston" => GLOBS[0], "**" => "ma/boston"),
        ok!(GLOBS, "/geo/ma" => GLOBS[0], "**" => "ma"),
        none!(GLOBS, "/geo/ma/boston/02125"),
        ok!(GLOBS, "/names/a/b" => GLOBS[1], "names" => "a/b"),
        none!(GLOBS, "/names/a/b/c"),
        ok!(GLOBS, "/webhooks/flamego/flamego/events" => GLOBS[2], "repo" => "flamego/flamego"),
        none!(GLOBS, "/webhooks/flamego/flamego"),
        ok!(GLOBS, "/webhooks/a%2Fb/c/events" => GLOBS[2], "repo" => "a/b/c"),
        ok!(GLOBS, "/files/a/b/blob/c/d" => GLOBS[3], "prefix" => "a/b", "path" => "c/d"),
        ok!(GLOBS, "/repos/a/b/42/c/d" => GLOBS[4], "owner" => "a/b", "id" => "42", "path" => "c/d"),
        ok!(GLOBS, "/archive/a/b/c/d" => GLOBS[5], "head" => "a/b", "tail" => "c/d"),
        ok!(GLOBS, "/archive/a/b" => GLOBS[5], "head" => "a", "tail" => "b"),
        ok!(GLOBS, "/x/1/2/sep/3/end/4/5" => GLOBS[6], "a" => "1/2", "b" => "3", "c" => "4/5"),
        none!(GLOBS, "/x/1/2/3/sep/4/end/5"),
        ok!(GLOBS, "/mixed/2021-11-26.json" => GLOBS[7], "year" => "2021", "month" => "11", "day" => "26"),
        ok!(GLOBS, "/mixed/article_12-hello-world.md" => GLOBS[8], "id" => "12", "slug" => "hello-world", "ext" => "md"),
        none!(GLOBS, "/mixed/article_12-hello-world.html"),
        none!(GLOBS, "/mixed/21-11-26.json"),
    ]
}

fn build(set: &[&'static str]) -> Tree<&'static str> {
    let mut tree = Tree::new();
    for route in set {
        if let Err(err) = tree.insert(route, *route) {
            panic!("inserting {route:?}: {err}");
        }
    }
    tree
}

fn run(
    tree: &Tree<&'static str>,
    path: &str,
    reject: &[&str],
) -> Option<(&'static str, Vec<(String, String)>)> {
    let mut caps = Captures::new();
    let found = tree.find(path, &mut caps, |v| !reject.contains(v)).copied();
    match found {
        Some(route) => Some((
            route,
            caps.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )),
        None => {
            assert!(
                caps.is_empty(),
                "captures left after a failed match of {path:?}"
            );
            None
        }
    }
}

#[test]
fn match_table() {
    let cases = cases();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let tree = build(case.set);
        let got = run(&tree, case.path, case.reject);
        let want = case.want.map(|(route, pairs)| {
            (
                route,
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        });
        if got != want {
            failures.push(format!(
                "line {}: {:?}: got {got:?}, want {want:?}",
                case.line, case.path
            ));
            continue;
        }
        // The URL built from the match leads back to the same route and captures.
        if let Some((route, pairs)) = &got {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let url = url_path(route, &pairs).expect("url_path");
            let again = run(&tree, &url, case.reject);
            if again != got {
                failures.push(format!(
                    "line {}: url {url:?} from {:?}: got {again:?}",
                    case.line, case.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn find_route_reports_pattern() {
    let tree = build(OPTIONAL);
    let mut caps = Captures::new();
    let m = tree
        .find_route("/user", &mut caps, |_| true)
        .expect("match");
    assert_eq!(
        (m.value, m.pattern),
        (&"/user/?settings", "/user/?settings")
    );
}

#[test]
fn accept_sees_candidates_in_priority_order() {
    let tree = build(PRIORITY);
    let mut seen = Vec::new();
    let mut caps = Captures::new();
    let found = tree.find("/p/settings", &mut caps, |v| {
        seen.push(*v);
        false
    });
    assert_eq!(found, None);
    assert_eq!(seen, ["/p/settings", "/p/{name}", "/p/{**}"]);
    assert!(caps.is_empty());
    seen.clear();
    let found = tree.find("/p/42", &mut caps, |v| {
        seen.push(*v);
        false
    });
    assert_eq!(found, None);
    assert_eq!(seen, ["/p/{id: /[0-9]+/}", "/p/{name}", "/p/{**}"]);
}

// ---------------------------------------------------------------- errors

enum Want {
    Parse(usize, ParseErrorKind),
    Duplicate(&'static str),
    Glob(usize, &'static str),
    InvalidRegex(usize),
    Ok,
}

struct ErrCase {
    before: &'static [&'static str],
    route: &'static str,
    want: Want,
}

fn err_cases() -> Vec<ErrCase> {
    use ParseErrorKind as K;
    use Want::*;
    let e = |before, route, want| ErrCase {
        before,
        route,
        want,
    };
    vec![
        e(&["/users"], "/users", Duplicate("/users")),
        e(
            &["/webapi/users"],
            "/webapi/users/?events",
            Duplicate("/webapi/users"),
        ),
        e(
            &["/user/settings"],
            "/user/?settings",
            Duplicate("/user/settings"),
        ),
        e(&["/user/?settings"], "/user", Duplicate("/user/?settings")),
        e(&["/u/{id}"], "/u/{id}", Duplicate("/u/{id}")),
        e(&["/r/{a:/x/}"], "/r/{a: /x/}", Duplicate("/r/{a:/x/}")),
        e(&["/u/{id}"], "/u/{name}", Ok),
        e(&["/g/{**}"], "/g/{**: **}", Duplicate("/g/{**}")),
        e(
            &[],
            "/webapi/{name}/{name}",
            Parse(16, K::DuplicateBind("name".into())),
        ),
        e(
            &[],
            "/webapi/{name}/{name: /regexp/}",
            Parse(16, K::DuplicateBind("name".into())),
        ),
        e(
            &[],
            "/webapi/{name}/{name: **}",
            Parse(16, K::DuplicateBind("name".into())),
        ),
        e(
            &[],
            "/webapi/{name}/{name}/events",
            Parse(16, K::DuplicateBind("name".into())),
        ),
        e(
            &[],
            "/webapi/{name}-{name}",
            Parse(16, K::DuplicateBind("name".into())),
        ),
        e(
            &["/webapi/{name: **}"],
            "/webapi/{user: **}",
            Glob(7, "/webapi/{name: **}"),
        ),
        e(
            &["/webapi/{name: **}/events"],
            "/webapi/{user: **}/events",
            Glob(7, "/webapi/{name: **}/events"),
        ),
        e(
            &["/webapi/{name: **}/events"],
            "/webapi/{name: **}/feed",
            Ok,
        ),
        e(&[], "/a/?b/c", Parse(3, K::OptionalNotLast)),
        e(
            &[],
            "/webapi/tree/{paths: **}/{names: **}/upload",
            Parse(24, K::GlobAfterUnboundedGlob { previous: 12 }),
        ),
        e(
            &[],
            "/api/{a: **}/{b: **}",
            Parse(12, K::GlobAfterUnboundedGlob { previous: 4 }),
        ),
        e(
            &[],
            "/api/{a: **}/{b: **, capture: 2}",
            Parse(12, K::GlobAfterUnboundedGlob { previous: 4 }),
        ),
        e(
            &[],
            "/api/{a: **}/{id}/{b: **}",
            Parse(17, K::GlobAfterUnboundedGlob { previous: 4 }),
        ),
        e(&[], "/api/{a: **, capture: 2}/{b: **}", Ok),
        e(&[], "/api/{a: **}/sep/{b: **}", Ok),
        e(
            &[],
            "/api/{a: **, capture: 2}/{b: **, capture: 2}/{c: **}",
            Ok,
        ),
        e(&[], "/api/{a: **}/{n: /[0-9]+/}/{b: **}", Ok),
        e(&[], "/api/{a: **, capture: 2}/{id}/{b: **}", Ok),
        e(&[], "/{a: /[0-9/}", InvalidRegex(6)),
        e(&[], "/x/{a: /(/}", InvalidRegex(8)),
        e(&[], "/a/{b", Parse(3, K::UnclosedBrace)),
        e(&[], "/a/b}", Parse(4, K::UnmatchedBrace)),
        e(&[], "/{a{b}}", Parse(3, K::Expected("\":\" or \"}\""))),
        e(
            &[],
            "/{name: /abc\\//}",
            Parse(14, K::Expected("\",\" or \"}\"")),
        ),
        e(&[], "/a//b", Parse(2, K::EmptySegment)),
        e(&[], "a/b", Parse(0, K::MissingLeadingSlash)),
        e(&[], "", Parse(0, K::Empty)),
        e(&[], "/a{**}", Parse(2, K::GlobNotAlone)),
        e(
            &[],
            "/a/{b: **, capture: x}",
            Parse(20, K::InvalidCapture("x".into())),
        ),
        e(&[], "/a b", Parse(2, K::UnexpectedChar(' '))),
    ]
}

#[test]
fn registration_errors() {
    let cases = err_cases();
    let mut failures = Vec::new();
    for case in &cases {
        let mut tree = build(case.before);
        let before = tree.len();
        let got = tree.insert(case.route, case.route);
        let ok = match (&case.want, &got) {
            (Want::Ok, Ok(())) => true,
            (Want::Parse(pos, kind), Err(RouteError::Parse(p))) => {
                p.position() == *pos && p.kind() == kind
            }
            (Want::InvalidRegex(pos), Err(RouteError::Parse(p))) => {
                p.position() == *pos && matches!(p.kind(), ParseErrorKind::InvalidRegex(_))
            }
            (Want::Duplicate(existing), Err(RouteError::Duplicate { route, existing: e })) => {
                route == case.route && e == existing
            }
            (
                Want::Glob(pos, existing),
                Err(RouteError::ConflictingGlob {
                    route,
                    pos: p,
                    existing: e,
                }),
            ) => route == case.route && p == pos && e == existing,
            _ => false,
        };
        if !ok {
            failures.push(format!("{:?}: got {got:?}", case.route));
        }
        if let Err(err) = &got {
            let msg = err.to_string();
            if !msg.contains(&format!("{:?}", case.route)) {
                failures.push(format!(
                    "{:?}: message does not name the route: {msg}",
                    case.route
                ));
            }
            if tree.len() != before {
                failures.push(format!(
                    "{:?}: a failed insert changed the tree",
                    case.route
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn failed_optional_insert_leaves_tree_unchanged() {
    let mut tree = build(&["/webapi/users"]);
    assert!(tree.insert("/webapi/users/?events", "x").is_err());
    let mut caps = Captures::new();
    assert_eq!(tree.find("/webapi/users/events", &mut caps, |_| true), None);
    assert_eq!(
        tree.find("/webapi/users", &mut caps, |_| true),
        Some(&"/webapi/users")
    );
}

#[test]
fn display_format() {
    let mut tree = Tree::new();
    let err = tree.insert("/a/{b", ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid route "/a/{b": unclosed "{" at byte 3"#
    );
    let err = tree.insert("/{a: /(/}", ()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(r#"invalid route "/{a: /(/}": invalid regular expression: "#),
        "{err}"
    );
}
