//! A first end-to-end pass over handlers, injection and return values.
use axum::body::Body;
use flame_core::{Context, Flame, Json, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Clone)]
struct Db(&'static str);

#[flame_core::handler]
fn borrowed(db: &Db, c: Context) -> String {
    format!("{} {}", db.0, c.param("id"))
}

#[flame_core::handler]
async fn borrowed_async(db: &Db) -> String {
    tokio::task::yield_now().await;
    db.0.to_owned()
}

async fn call(f: Flame, path: &str) -> (StatusCode, String) {
    let svc = f.into_service();
    let res = svc
        .oneshot(http::Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn smoke() {
    let mk = || {
        let mut f = Flame::new();
        f.map(Db("db"));
        f.get("/a", || "A");
        f.get("/b", || async { "B" });
        f.get("/c", |db: Db| db.0);
        f.get("/d", |db: Db, c: Context| async move {
            format!("{}{}", db.0, c.route())
        });
        f.get("/e", || (201, "E"));
        f.get("/f", || {
            (
                StatusCode::FORBIDDEN,
                Err::<(), _>(std::io::Error::other("nope")),
            )
        });
        f.get("/g", || Json(serde_json::json!({"a": 1})));
        f.get("/h", (|| "", || "second"));
        f.get("/i/{id}", borrowed);
        f.get("/j", borrowed_async);
        f
    };
    assert_eq!(call(mk(), "/a").await, (StatusCode::OK, "A".into()));
    assert_eq!(call(mk(), "/b").await, (StatusCode::OK, "B".into()));
    assert_eq!(call(mk(), "/c").await, (StatusCode::OK, "db".into()));
    assert_eq!(call(mk(), "/d").await, (StatusCode::OK, "db/d".into()));
    assert_eq!(call(mk(), "/e").await, (StatusCode::CREATED, "E".into()));
    assert_eq!(
        call(mk(), "/f").await,
        (StatusCode::FORBIDDEN, "nope\n".into())
    );
    assert_eq!(call(mk(), "/g").await, (StatusCode::OK, "{\"a\":1}".into()));
    assert_eq!(call(mk(), "/h").await, (StatusCode::OK, "second".into()));
    assert_eq!(call(mk(), "/i/7").await, (StatusCode::OK, "db 7".into()));
    assert_eq!(call(mk(), "/j").await, (StatusCode::OK, "db".into()));
    assert_eq!(
        call(mk(), "/zz").await,
        (StatusCode::NOT_FOUND, "404 page not found\n".into())
    );
}
