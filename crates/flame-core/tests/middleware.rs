//! Middleware: order, `next()`, the written rule, groups, actions, not-found, before hooks.

mod common;

use std::sync::{Arc, Mutex};

use common::{get, request, service};
use flame_core::{Context, Flame, StatusCode};
use http::Method;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: &str) {
        self.0.lock().unwrap().push(s.to_owned());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn middleware_runs_in_registration_order_with_before_and_after() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_((
        |c: Context, log: Log| async move {
            log.push("a in");
            c.next().await;
            log.push("a out");
        },
        |c: Context, log: Log| async move {
            log.push("b in");
            c.next().await;
            log.push(&format!("b out {}", c.response_writer().status()));
        },
    ));
    f.get("/", |log: Log| {
        log.push("handler");
        "done"
    });
    let svc = service(f);
    assert_eq!(get(&svc, "/").await, (200, "done".into()));
    assert_eq!(
        log.take(),
        ["a in", "b in", "handler", "b out 200 OK", "a out"]
    );
}

#[tokio::test]
async fn a_middleware_that_does_not_call_next_is_followed_by_the_rest() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_(|log: Log| log.push("plain"));
    f.get("/", |log: Log| {
        log.push("handler");
        "ok"
    });
    assert_eq!(get(&service(f), "/").await, (200, "ok".into()));
    assert_eq!(log.take(), ["plain", "handler"]);
}

#[tokio::test]
async fn writing_stops_the_chain() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_(|c: Context, log: Log| {
        log.push("guard");
        if c.headers().get("x-deny").is_some() {
            c.response_writer().write_header(StatusCode::UNAUTHORIZED);
        }
    });
    f.get("/", |log: Log| {
        log.push("handler");
        "secret"
    });
    let svc = service(f);
    let denied = common::send(
        &svc,
        http::Request::get("/")
            .header("x-deny", "1")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(denied.status, 401);
    assert_eq!(log.take(), ["guard"]);
    assert_eq!(get(&svc, "/").await, (200, "secret".into()));
    assert_eq!(log.take(), ["guard", "handler"]);
}

#[tokio::test]
async fn group_middleware_runs_before_the_routes_it_follows() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.group(
        "/g",
        |f| {
            f.get("/x", |log: Log| {
                log.push("x");
                "x"
            });
            f.group(
                "/inner",
                |f| {
                    f.get("/y", |log: Log| {
                        log.push("y");
                        "y"
                    });
                },
                |log: Log| log.push("inner mw"),
            );
        },
        (|log: Log| log.push("mw 1"), |log: Log| log.push("mw 2")),
    );
    f.get("/outside", |log: Log| {
        log.push("outside");
        "o"
    });
    let svc = service(f);
    assert_eq!(get(&svc, "/g/x").await, (200, "x".into()));
    assert_eq!(log.take(), ["mw 1", "mw 2", "x"]);
    assert_eq!(get(&svc, "/g/inner/y").await, (200, "y".into()));
    assert_eq!(log.take(), ["mw 1", "mw 2", "inner mw", "y"]);
    assert_eq!(get(&svc, "/outside").await, (200, "o".into()));
    assert_eq!(log.take(), ["outside"]);
}

#[tokio::test]
async fn route_level_middleware_and_the_action() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.action(|log: Log| {
        log.push("action");
        "from action"
    });
    f.get(
        "/",
        (
            |log: Log| log.push("route mw"),
            |log: Log| log.push("handler wrote nothing"),
        ),
    );
    f.get("/writes", |log: Log| {
        log.push("handler");
        "from handler"
    });
    let svc = service(f);
    assert_eq!(get(&svc, "/").await, (200, "from action".into()));
    assert_eq!(log.take(), ["route mw", "handler wrote nothing", "action"]);
    assert_eq!(get(&svc, "/writes").await, (200, "from handler".into()));
    assert_eq!(log.take(), ["handler"]);
}

#[tokio::test]
async fn global_middleware_runs_without_a_route_and_not_found_is_customisable() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_(|log: Log| log.push("global"));
    f.get("/", || "home");
    let svc = service(f);
    assert_eq!(
        get(&svc, "/missing").await,
        (404, "404 page not found\n".into())
    );
    assert_eq!(log.take(), ["global"]);

    let mut f = Flame::new();
    f.not_found(|c: Context| {
        (
            StatusCode::NOT_FOUND,
            format!("no page at {}", c.uri().path()),
        )
    });
    assert_eq!(
        get(&service(f), "/nope").await,
        (404, "no page at /nope".into())
    );
}

#[tokio::test]
async fn handlers_replaces_the_middleware_stack() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_(|log: Log| log.push("old"));
    f.handlers(|log: Log| log.push("new"));
    f.get("/", || "ok");
    assert_eq!(get(&service(f), "/").await, (200, "ok".into()));
    assert_eq!(log.take(), ["new"]);
}

#[tokio::test]
async fn before_hooks_run_before_routing_and_can_stop_or_rewrite() {
    let mut f = Flame::new();
    f.before(|parts| {
        if parts.uri.path() == "/old" {
            parts.uri = "/new".parse().unwrap();
        }
        None
    });
    f.before(|parts| {
        (parts.headers.get("x-block").is_some()).then(|| {
            let mut response = axum::response::Response::new(axum::body::Body::from("blocked"));
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
        })
    });
    f.get("/new", |c: Context| format!("new via {}", c.uri()));
    let svc = service(f);
    assert_eq!(get(&svc, "/old").await, (200, "new via /new".into()));
    let blocked = common::send(
        &svc,
        http::Request::get("/new")
            .header("x-block", "1")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (blocked.status.as_u16(), blocked.body.as_str()),
        (429, "blocked")
    );
}

#[tokio::test]
async fn before_write_hooks_run_once_before_the_status() {
    let mut f = Flame::new();
    f.use_(|c: Context| {
        c.response_writer().before(|w| {
            w.headers_mut().insert("x-before", "yes".parse().unwrap());
        });
    });
    f.get("/", |c: Context| {
        let w = c.response_writer();
        assert!(!w.written());
        w.write("hello");
        assert!(w.written());
        assert_eq!(w.size(), 5);
    });
    let answer = request(&service(f), Method::GET, "/").await;
    assert_eq!(answer.headers["x-before"], "yes");
    assert_eq!(answer.body, "hello");
}

#[tokio::test]
async fn redirects() {
    let mut f = Flame::new();
    f.get("/a", |c: Context| c.redirect("/b"));
    f.get("/p", |c: Context| {
        c.redirect_with("/q", StatusCode::PERMANENT_REDIRECT)
    });
    let svc = service(f);
    let answer = request(&svc, Method::GET, "/a").await;
    assert_eq!(
        (answer.status.as_u16(), &answer.headers["location"]),
        (302, &"/b".parse::<http::HeaderValue>().unwrap())
    );
    let answer = request(&svc, Method::GET, "/p").await;
    assert_eq!(answer.status.as_u16(), 308);
}

/// A middleware with work after the rest of the chain, written with `Context::next_now`:
/// logs whether the rest finished at once and the status it wrote.
struct After(Log);

impl flame_core::Invocable for After {
    fn name(&self) -> std::borrow::Cow<'static, str> {
        "After".into()
    }

    fn call(&self, c: &Context, _ordinal: usize) -> flame_core::Invocation {
        use flame_core::Invocation;
        let log = self.0.clone();
        match c.next_now() {
            Invocation::Ready => {
                log.push(&format!("ready {}", c.response_writer().status()));
                Invocation::Ready
            }
            Invocation::Pending(rest) => {
                let c = c.clone();
                Invocation::Pending(Box::pin(async move {
                    rest.await;
                    log.push(&format!("pending {}", c.response_writer().status()));
                }))
            }
        }
    }
}

#[tokio::test]
async fn next_now_finishes_a_synchronous_chain_at_once_and_hands_back_the_rest_otherwise() {
    let log = Log::default();
    let mut f = Flame::new();
    f.map(log.clone());
    f.use_(After(log.clone()));
    f.use_(|log: Log| log.push("plain"));
    f.get("/sync", |log: Log| {
        log.push("sync handler");
        (StatusCode::CREATED, "made")
    });
    // an async middleware in the middle: the rest waits, and runs on after it
    f.get(
        "/async",
        (
            |c: Context, log: Log| async move {
                tokio::task::yield_now().await;
                log.push("async middleware");
                c.next().await;
            },
            |log: Log| {
                log.push("after it");
                "done"
            },
        ),
    );
    let svc = service(f);

    assert_eq!(get(&svc, "/sync").await, (201, "made".into()));
    assert_eq!(log.take(), ["plain", "sync handler", "ready 201 Created"]);

    assert_eq!(get(&svc, "/async").await, (200, "done".into()));
    assert_eq!(
        log.take(),
        ["plain", "async middleware", "after it", "pending 200 OK"]
    );

    // nothing matched: the not-found answer is written in the chain, at once
    assert_eq!(get(&svc, "/nope").await.0, 404);
    assert_eq!(log.take(), ["plain", "ready 404 Not Found"]);
}
