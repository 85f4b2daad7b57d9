//! Static files: GET and HEAD, index files, redirects, ETag and 304, traversal refused, and a
//! missing file handing over to the rest of the chain.

mod common;

use axum::body::Body;
use common::{get, request, send, service};
use flame_core::{Flame, StaticOptions};
use http::Method;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from disk").unwrap();
    std::fs::write(dir.path().join("style.css"), "body {}").unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/index.html"), "<h1>docs</h1>").unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    dir
}

fn app(options: StaticOptions) -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::static_files(options));
    f.get("/route", || "from a route");
    f.post("/hello.txt", || "posted");
    f
}

#[tokio::test]
async fn serves_files_with_type_length_and_validators() {
    let dir = site();
    let svc = service(app(StaticOptions::new(dir.path())));
    let answer = request(&svc, Method::GET, "/hello.txt").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "hello from disk");
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["content-length"], "15");
    assert!(answer.headers.contains_key("etag"));
    assert!(answer.headers.contains_key("last-modified"));
    assert_eq!(
        request(&svc, Method::GET, "/style.css").await.headers["content-type"],
        "text/css"
    );

    let head = request(&svc, Method::HEAD, "/hello.txt").await;
    assert_eq!((head.status.as_u16(), head.body.as_str()), (200, ""));
    assert_eq!(head.headers["content-length"], "15");
}

#[tokio::test]
async fn etag_and_if_modified_since_give_304() {
    let dir = site();
    let svc = service(app(StaticOptions::new(dir.path())));
    let first = request(&svc, Method::GET, "/hello.txt").await;
    let etag = first.headers["etag"].clone();
    let again = send(
        &svc,
        http::Request::get("/hello.txt")
            .header("if-none-match", etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((again.status.as_u16(), again.body.as_str()), (304, ""));
    let stale = send(
        &svc,
        http::Request::get("/hello.txt")
            .header("if-none-match", "\"other\"")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(stale.status, 200);
    let since = first.headers["last-modified"].clone();
    let unchanged = send(
        &svc,
        http::Request::get("/hello.txt")
            .header("if-modified-since", since)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(unchanged.status, 304);
}

#[tokio::test]
async fn directories_use_their_index_and_get_a_trailing_slash() {
    let dir = site();
    let svc = service(app(StaticOptions::new(dir.path())));
    assert_eq!(get(&svc, "/docs/").await, (200, "<h1>docs</h1>".into()));
    let redirect = request(&svc, Method::GET, "/docs").await;
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.headers["location"], "/docs/");
    // A directory without an index is not served: the chain goes on to 404.
    assert_eq!(get(&svc, "/empty/").await.0, 404);
}

#[tokio::test]
async fn missing_files_and_other_methods_go_down_the_chain() {
    let dir = site();
    let svc = service(app(StaticOptions::new(dir.path())));
    assert_eq!(get(&svc, "/route").await, (200, "from a route".into()));
    assert_eq!(get(&svc, "/nope.txt").await.0, 404);
    let posted = request(&svc, Method::POST, "/hello.txt").await;
    assert_eq!(posted.body, "posted");
}

#[tokio::test]
async fn traversal_never_leaves_the_directory() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir(root.path().join("public")).unwrap();
    std::fs::write(root.path().join("public/ok.txt"), "ok").unwrap();
    let svc = service(app(StaticOptions::new(root.path().join("public"))));
    assert_eq!(get(&svc, "/ok.txt").await, (200, "ok".into()));
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%5csecret.txt",
        "/ok.txt%00",
    ] {
        let (status, body) = get(&svc, path).await;
        assert_ne!(body, "top secret", "{path}");
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn prefix_and_index_options() {
    let dir = site();
    std::fs::write(dir.path().join("docs/home.html"), "home").unwrap();
    let svc = service(app(StaticOptions::new(dir.path())
        .prefix("/assets")
        .index("home.html")));
    assert_eq!(
        get(&svc, "/assets/hello.txt").await,
        (200, "hello from disk".into())
    );
    assert_eq!(get(&svc, "/assets/docs/").await, (200, "home".into()));
    assert_eq!(get(&svc, "/hello.txt").await.0, 404);
}
