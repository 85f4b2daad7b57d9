//! Service injection: services mapped by type (and by trait, and by key), resolved for each
//! handler argument at request time; `#[service]` constructors; builtin services; and what
//! happens when a handler asks for a service nobody mapped (`/missing`).
//!
//! ```text
//! cargo run --example services
//! curl http://localhost:2830/greet/ada     # Hello, ada! (visit 1)
//! curl -i http://localhost:2830/missing    # 500: ... value not found for type services::MyService
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flame_core::{Context, Flame, Key, Params, Request, ResponseWriter, Slot};

// ANCHOR: services
/// A service: shared state behind an `Arc`, so injecting it is a cheap clone.
#[derive(Clone, Default)]
pub struct Visits(Arc<AtomicU64>);

/// A service used through a trait object.
pub trait Greeter: Send + Sync {
    fn greet(&self, name: &str) -> String;
}

struct English;

impl Greeter for English {
    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }
}

/// Two `String` settings would collide by type: keyed slots tell them apart.
pub struct SiteName;
impl Slot for SiteName {
    type Value = String;
}

/// Registered from anywhere with `#[service]`; `Flame::new()` maps it.
#[derive(Clone)]
pub struct BuildInfo(pub &'static str);

#[flame_core::service]
fn build_info() -> BuildInfo {
    BuildInfo(env!("CARGO_PKG_VERSION"))
}

/// Never mapped: asking for it is the seed's "value not found" panic.
#[derive(Clone)]
pub struct MyService;
// ANCHOR_END: services

// ANCHOR: app
pub fn app() -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::recovery());
    f.map(Visits::default());
    f.map_to::<dyn Greeter>(Arc::new(English));
    f.map(Key::<SiteName>::new("flame demo".to_owned()));

    f.get(
        "/greet/{name}",
        |greeter: Arc<dyn Greeter>, visits: Visits, p: Params| {
            let n = visits.0.fetch_add(1, Ordering::Relaxed) + 1;
            format!(
                "{} (visit {n})",
                greeter.greet(p.get("name").unwrap_or("stranger"))
            )
        },
    );
    f.get("/about", about);
    f.get("/builtins", |c: Context, r: Request, w: ResponseWriter| {
        w.headers_mut().insert(
            "x-route",
            c.route().parse().expect("a route is a valid header value"),
        );
        format!("{} {}", r.method(), r.uri())
    });
    f.get("/missing", |_: MyService| {});
    f
}

/// A named handler may borrow its services.
#[flame_core::handler]
fn about(site: &Key<SiteName>, build: &BuildInfo) -> String {
    format!("{} v{}", **site, build.0)
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let f = app();
    // `run` warns about /missing in development and refuses to start in test.
    f.run()?;
    Ok(())
}
