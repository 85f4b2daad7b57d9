//! Unit tests of the parser and tree internals.

use super::*;

// What were integration tests before the router became private: the behaviour table, the
// property tests, and the allocation count of a static match.
mod alloc;
mod props;
mod table;

#[test]
fn parses_all_forms() {
    for p in [
        "/",
        "/users/",
        "/users/{name}",
        "/posts/{year: /[0-9]{4}/}-{month}-{day}.json",
        r"/article_{id: /\d+/}-{slug: /[a-z-]+/}.{ext: /md|txt/}",
        "/compare/{base}...{head}[diff]",
        "/repos/{owner}/{name}:settings",
        "/geo/{**: **, capture: 2}",
        "/posts/{**}",
        "/webhooks/{repo: **}/events",
        "/user/?settings",
        "/users/?{name}",
        "/special/test@$!&'()*+;%=:,[]|",
        r"/windows\path",
        "/{ a : /x/ }",
        "/{a:**,capture:3}/b",
    ] {
        RoutePattern::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    }
}

#[test]
fn error_positions() {
    let cases: &[(&str, usize, ParseErrorKind)] = &[
        ("", 0, ParseErrorKind::Empty),
        ("a", 0, ParseErrorKind::MissingLeadingSlash),
        ("/a//b", 2, ParseErrorKind::EmptySegment),
        ("/a/{b", 3, ParseErrorKind::UnclosedBrace),
        ("/a/b}", 4, ParseErrorKind::UnmatchedBrace),
        ("/a?b", 2, ParseErrorKind::MisplacedOptional),
        ("/a b", 2, ParseErrorKind::UnexpectedChar(' ')),
        ("/{}", 2, ParseErrorKind::EmptyName),
        ("/{a: /x}", 5, ParseErrorKind::UnclosedRegex),
        ("/{a: //}", 5, ParseErrorKind::EmptyRegex),
        ("/{a: b}", 5, ParseErrorKind::InvalidValue("b".into())),
        (
            "/{a: **, max: 2}",
            9,
            ParseErrorKind::UnknownParameter("max".into()),
        ),
        (
            "/{a: **, capture: 0}",
            18,
            ParseErrorKind::InvalidCapture("0".into()),
        ),
        (
            "/{a: **, capture: 1, capture: 2}",
            21,
            ParseErrorKind::DuplicateParameter("capture".into()),
        ),
        (
            "/{a: /x/, capture: 2}",
            8,
            ParseErrorKind::ParameterNotAllowed,
        ),
        ("/x{a: **}", 2, ParseErrorKind::GlobNotAlone),
        (
            "/{a}/{a: /x/}",
            6,
            ParseErrorKind::DuplicateBind("a".into()),
        ),
        ("/?a/b", 1, ParseErrorKind::OptionalNotLast),
        (
            "/{a: **}/{b: **}",
            8,
            ParseErrorKind::GlobAfterUnboundedGlob { previous: 0 },
        ),
        (
            "/{name: /abc\\//}",
            14,
            ParseErrorKind::Expected("\",\" or \"}\""),
        ),
    ];
    for (p, pos, kind) in cases {
        let err = RoutePattern::parse(p).expect_err(p);
        assert_eq!((err.position(), err.kind()), (*pos, kind), "{p}: {err}");
    }
}

#[test]
fn decode_rejects_invalid() {
    assert_eq!(tree::decode("a%20b").as_deref(), Some("a b"));
    assert_eq!(tree::decode("%E4%BD%A0").as_deref(), Some("你"));
    assert!(tree::decode("%_").is_none());
    assert!(tree::decode("%4").is_none());
    assert!(tree::decode("%").is_none());
    assert!(tree::decode("%FF").is_none());
}

#[test]
fn segment_keys_are_canonical() {
    let a = RoutePattern::parse("/{a:/x/}/{**}").unwrap();
    let b = RoutePattern::parse("/{a: /x/}/{**: **}").unwrap();
    let keys = |p: &RoutePattern| {
        p.segments
            .iter()
            .map(|s| s.key.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&a), keys(&b));
}

#[test]
fn many_statics_in_one_node() {
    let mut tree = Tree::new();
    let words: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => format!("w{i}"),
            1 => format!("collaborators_{i}"),
            _ => format!("{i}collaborators"),
        })
        .collect();
    for (i, w) in words.iter().enumerate() {
        tree.insert(&format!("/x/{w}"), i).unwrap();
        tree.insert(&format!("/x/{w}/"), i + 1000).unwrap();
    }
    let mut caps = Captures::new();
    for (i, w) in words.iter().enumerate() {
        assert_eq!(tree.find(&format!("/x/{w}"), &mut caps, |_| true), Some(&i));
        assert_eq!(
            tree.find(&format!("/x/{w}/"), &mut caps, |_| true),
            Some(&(i + 1000))
        );
        assert_eq!(tree.find(&format!("/x/{w}z"), &mut caps, |_| true), None);
        assert_eq!(tree.find(&format!("/x/z{w}"), &mut caps, |_| true), None);
    }
    assert_eq!(tree.find("/x/", &mut caps, |_| true), None);
    assert_eq!(tree.find("/x/collaborators_", &mut caps, |_| true), None);
}
