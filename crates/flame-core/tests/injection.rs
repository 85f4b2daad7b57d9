//! Service injection: app and request scopes, trait objects, keys, `#[handler]`, `#[service]`,
//! missing values, and the startup check.

mod common;

use std::sync::Arc;

use common::{get, service};
use flame_core::{Context, Flame, HandlerExt, Key, Params, Request, ResponseWriter, Slot};

#[derive(Clone)]
struct Db(&'static str);

#[derive(Clone)]
struct Missing;

trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> u64 {
        42
    }
}

struct Primary;
impl Slot for Primary {
    type Value = String;
}
struct Replica;
impl Slot for Replica {
    type Value = String;
}

#[derive(Clone)]
struct Registered(u8);

#[flame_core::service]
fn registered() -> Registered {
    Registered(9)
}

/// A non-Clone service, only reachable by reference through `#[handler]`.
struct Pool {
    size: usize,
}

#[flame_core::handler]
fn pooled(pool: &Pool, db: &Db, p: Params) -> String {
    format!("{} {} {}", pool.size, db.0, p.get("id").unwrap_or_default())
}

#[flame_core::handler]
async fn pooled_async(pool: &Pool, c: Context) -> String {
    tokio::task::yield_now().await;
    format!("{} {}", pool.size, c.route())
}

#[flame_core::handler]
fn needs_missing(_m: Missing) {}

#[tokio::test]
async fn app_and_request_scoped_values() {
    let mut f = Flame::new();
    f.map(Db("app"));
    f.map_to::<dyn Clock>(Arc::new(Fixed));
    f.map(Key::<Primary>::new("primary".into()));
    f.map(Key::<Replica>::new("replica".into()));
    f.get("/db", |db: Db| db.0);
    f.get(
        "/shadow",
        (|c: Context| c.map(Db("request")), |db: Db| db.0),
    );
    f.get("/clock", |clock: Arc<dyn Clock>| clock.now().to_string());
    f.get("/keys", |p: Key<Primary>, r: Key<Replica>| {
        format!("{} {}", *p, *r)
    });
    f.get("/registered", |r: Registered| r.0.to_string());
    f.get(
        "/builtins/{id}",
        |c: Context, r: Request, w: ResponseWriter, p: Params, _span: tracing::Span| {
            assert!(!w.written());
            format!(
                "{} {} {} {}",
                r.method(),
                p.get("id").unwrap_or_default(),
                p.route(),
                c.param("id")
            )
        },
    );
    let svc = service(f);
    assert_eq!(get(&svc, "/db").await, (200, "app".into()));
    assert_eq!(get(&svc, "/shadow").await, (200, "request".into()));
    assert_eq!(
        get(&svc, "/db").await,
        (200, "app".into()),
        "request scope does not leak"
    );
    assert_eq!(get(&svc, "/clock").await, (200, "42".into()));
    assert_eq!(get(&svc, "/keys").await, (200, "primary replica".into()));
    assert_eq!(get(&svc, "/registered").await, (200, "9".into()));
    assert_eq!(
        get(&svc, "/builtins/5").await,
        (200, "GET 5 /builtins/{id} 5".into())
    );
}

#[tokio::test]
async fn named_handlers_borrow_their_arguments() {
    let mut f = Flame::new();
    f.map(Pool { size: 8 });
    f.map(Db("db"));
    f.get("/p/{id}", pooled);
    f.get("/a", pooled_async);
    let svc = service(f);
    assert_eq!(get(&svc, "/p/3").await, (200, "8 db 3".into()));
    assert_eq!(get(&svc, "/a").await, (200, "8 /a".into()));
    // The function itself stays callable.
    assert_eq!(pooled_async::HANDLER_NAME, "injection::pooled_async");
}

#[tokio::test]
#[should_panic(
    expected = "unable to invoke the 0th handler [injection::needs_missing]: value not found for type injection::Missing"
)]
async fn a_missing_value_panics_with_flamegos_words() {
    let mut f = Flame::new();
    f.get("/", needs_missing);
    get(&service(f), "/").await;
}

#[tokio::test]
#[should_panic(expected = "unable to invoke the 2nd handler [")]
async fn the_ordinal_counts_the_whole_chain() {
    let mut f = Flame::new();
    f.use_((|| {}, || {}));
    f.get("/", |_: Missing| {});
    get(&service(f), "/").await;
}

#[tokio::test]
async fn under_recovery_a_missing_value_is_a_500_with_the_message() {
    let mut f = Flame::new();
    f.use_(flame_core::recovery_with(flame_core::RecoveryOptions {
        plain_text: true,
    }));
    f.get("/", needs_missing);
    f.get("/fine", || "fine");
    let svc = service(f);
    let (status, body) = get(&svc, "/").await;
    assert_eq!(status, 500);
    assert!(
        body.starts_with(
            "PANIC: unable to invoke the 1st handler [injection::needs_missing]: value not found for type injection::Missing"
        ),
        "{body}"
    );
    assert_eq!(get(&svc, "/fine").await, (200, "fine".into()));
}

#[test]
fn check_lists_each_unmet_dependency_with_route_handler_and_type() {
    let mut f = Flame::new();
    f.use_(|_: Db| {});
    f.get("/a", needs_missing);
    f.post("/b", (|c: Context| c.map(Missing), |_: Missing| {}));
    f.put(
        "/c",
        (
            (|c: Context| c.map(Missing)).provides::<Missing>(),
            |_: Missing| {},
        ),
    );
    let report = f.check();
    let lines: Vec<String> = report.missing.iter().map(ToString::to_string).collect();
    assert!(lines.contains(&"GET /a: the 0th handler [injection::check_lists_each_unmet_dependency_with_route_handler_and_type::{{closure}}] needs injection::Db, which nothing provides".to_owned()), "{report}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "GET /a: the 1st handler [injection::needs_missing] needs injection::Missing"
        )),
        "{report}"
    );
    // Mapped at runtime but not declared: reported.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("POST /b: the 2nd handler") && l.contains("injection::Missing")),
        "{report}"
    );
    // Declared with provides: not reported.
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("PUT /c") && l.contains("Missing")),
        "{report}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("(not found): the 0th handler")),
        "{report}"
    );

    f.map(Db("now"));
    let report = f.check();
    assert_eq!(report.missing.len(), 2, "{report}");
}

#[test]
fn services_lists_what_the_app_maps_and_the_service_constructors_sorted() {
    let mut f = Flame::new();
    f.map(Db("primary"))
        .map_to::<dyn Clock>(Arc::new(Fixed))
        .map(Key::<Primary>::new("db://a".into()))
        .map(Db("again"));
    let services = f.services();
    for name in [
        std::any::type_name::<Db>(),
        std::any::type_name::<Arc<dyn Clock>>(),
        std::any::type_name::<Key<Primary>>(),
        // a #[service] constructor, mapped by Flame::new
        std::any::type_name::<Registered>(),
    ] {
        assert_eq!(
            services.iter().filter(|s| **s == name).count(),
            1,
            "{name} in {services:?}"
        );
    }
    assert!(services.is_sorted(), "{services:?}");
    assert!(!services.contains(&std::any::type_name::<Missing>()));
}

#[test]
fn the_injector_works_alone() {
    let mut f = Flame::new();
    f.map(Db("x"));
    assert_eq!(f.injector().invoke(|db: Db| db.0), "x");
    assert!(f.injector().try_invoke(|_: Missing| ()).is_err());
}
