//! The route registration API: every method, combo, any, routes, auto_head, named routes,
//! header and predicate constraints, and the startup panics for bad registrations.

mod common;

use common::{get, request, send, service};
use flame_core::{Context, Flame};
use http::Method;

#[tokio::test]
async fn every_method_has_its_registration() {
    let mut f = Flame::new();
    f.get("/", || "GET");
    f.post("/", || "POST");
    f.put("/", || "PUT");
    f.patch("/", || "PATCH");
    f.delete("/", || "DELETE");
    f.options("/", || "OPTIONS");
    f.head("/", || "HEAD");
    f.connect("/", || "CONNECT");
    f.trace("/", || "TRACE");
    let svc = service(f);
    for method in flame_core::METHODS {
        let answer = request(&svc, method.clone(), "/").await;
        assert_eq!(answer.status, 200, "{method}");
        if method != Method::HEAD {
            assert_eq!(answer.body, method.as_str());
        }
    }
}

#[tokio::test]
async fn any_routes_and_combo() {
    let mut f = Flame::new();
    f.any("/any", |c: Context| c.method().to_string());
    f.routes("/some", "GET, post", |c: Context| c.method().to_string());
    f.combo("/combo").get(|| "got").post(|| "posted");
    let svc = service(f);
    for method in [Method::GET, Method::POST, Method::DELETE, Method::TRACE] {
        assert_eq!(
            request(&svc, method.clone(), "/any").await.body,
            method.as_str()
        );
    }
    assert_eq!(request(&svc, Method::POST, "/some").await.body, "POST");
    assert_eq!(request(&svc, Method::PUT, "/some").await.status, 404);
    assert_eq!(request(&svc, Method::GET, "/combo").await.body, "got");
    assert_eq!(request(&svc, Method::POST, "/combo").await.body, "posted");
    assert_eq!(request(&svc, Method::PUT, "/combo").await.status, 404);
}

#[tokio::test]
async fn auto_head_answers_head_with_the_get_route() {
    let mut f = Flame::new();
    f.get("/page", || "page");
    assert_eq!(
        request(&service(f), Method::HEAD, "/page").await.status,
        404
    );
    let mut f = Flame::new();
    f.get("/before", || "before");
    f.auto_head(true);
    f.get("/page", || "page");
    let svc = service(f);
    let answer = request(&svc, Method::HEAD, "/page").await;
    assert_eq!((answer.status.as_u16(), answer.body.as_str()), (200, ""));
    // Only GET routes registered after auto_head(true) get HEAD, as in Flamego.
    assert_eq!(request(&svc, Method::HEAD, "/before").await.status, 404);
}

#[tokio::test]
async fn groups_concatenate_paths_and_fold_double_slashes() {
    let mut f = Flame::new();
    f.group(
        "/user",
        |f| {
            f.group(
                "/sett",
                |f| {
                    f.get("ings", || "settings");
                },
                (),
            );
            f.get("", || "user");
        },
        (),
    );
    f.group(
        "/",
        |f| {
            f.get("/hello", || "hello");
        },
        (),
    );
    let svc = service(f);
    assert_eq!(get(&svc, "/user/settings").await, (200, "settings".into()));
    assert_eq!(get(&svc, "/user").await, (200, "user".into()));
    assert_eq!(get(&svc, "/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn a_custom_not_found_answers_404_unless_it_says_otherwise() {
    let mut f = Flame::new();
    f.not_found(|| "This is a cool 404 page");
    assert_eq!(
        get(&service(f), "/x").await,
        (404, "This is a cool 404 page".into())
    );
    let mut f = Flame::new();
    f.not_found(|| (flame_core::StatusCode::OK, "soft landing"));
    assert_eq!(get(&service(f), "/x").await, (200, "soft landing".into()));
}

#[tokio::test]
async fn an_empty_header_pattern_means_present_and_not_empty() {
    let mut f = Flame::new();
    f.get("/", || "cached").headers("cache-control", "");
    f.get("/{p}", || "fallback");
    let svc = service(f);
    let with = |value: &'static str| {
        http::Request::get("/")
            .header("cache-control", value)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    assert_eq!(send(&svc, with("no-cache")).await.body, "cached");
    assert_eq!(send(&svc, with("")).await.body, "fallback");
    assert_eq!(get(&svc, "/").await.1, "fallback");
}

#[tokio::test]
async fn named_routes_build_urls() {
    let mut f = Flame::new();
    f.get("/users/{id}/posts/{post}", || "post")
        .name("user_post");
    f.get("/link", |c: Context| {
        c.url_path("user_post", &[("id", "7"), ("post", "hello")])
    });
    f.get("/unknown", |c: Context| c.url_path("nope", &[]));
    let svc = service(f);
    assert_eq!(
        get(&svc, "/link").await,
        (200, "/users/7/posts/hello".into())
    );
    assert_eq!(
        get(&svc, "/unknown").await,
        (
            500,
            r#"{"error":{"code":"internal_error","message":"no route named \"nope\""}}"#.into()
        )
    );
}

#[tokio::test]
async fn header_and_predicate_constraints_fall_through() {
    let mut f = Flame::new();
    f.get("/app/{page}", || "chrome")
        .headers("user-agent", "Chrome");
    f.get("/app/home", || "query")
        .matches(|parts| parts.uri.query() == Some("beta"));
    f.get("/app/{any}", || "fallback");
    let svc = service(f);
    let with_agent = |agent: &'static str| {
        http::Request::get("/app/home")
            .header("user-agent", agent)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&svc, with_agent("Mozilla Chrome/120")).await.body,
        "chrome"
    );
    assert_eq!(send(&svc, with_agent("curl/8")).await.body, "fallback");
    assert_eq!(get(&svc, "/app/home?beta").await.1, "query");
}

#[test]
#[should_panic(expected = "flame: cannot register GET /dup: ")]
fn a_duplicate_route_panics_naming_it() {
    let mut f = Flame::new();
    f.get("/dup", || "a");
    f.get("/dup", || "b");
}

#[test]
#[should_panic(expected = "flame: cannot register GET /bad/{oops: ")]
fn an_invalid_pattern_panics_naming_it() {
    let mut f = Flame::new();
    f.get("/bad/{oops", || "a");
}

#[test]
#[should_panic(expected = "flame: duplicated method GET for combo route /c")]
fn a_combo_with_a_duplicate_method_panics() {
    let mut f = Flame::new();
    f.combo("/c").get(|| "a").get(|| "b");
}

#[test]
#[should_panic(expected = "unknown method \"BREW\"")]
fn routes_with_an_unknown_method_panics() {
    let mut f = Flame::new();
    f.routes("/x", "GET,BREW", || "a");
}

#[test]
#[should_panic(expected = "flame: duplicated route name \"home\"")]
fn a_duplicate_route_name_panics() {
    let mut f = Flame::new();
    f.get("/a", || "a").name("home");
    f.get("/b", || "b").name("home");
}
