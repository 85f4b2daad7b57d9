//! Middleware at global, group and route level, and before/after logic around `c.next()`.
//!
//! Each middleware writes its name into a request-scoped `Trace` on the way in and on the way
//! out; the handler answers with the trace so far, and the `x-trace` header shows the whole
//! round trip.
//!
//! ```text
//! cargo run --example middleware
//! curl -i http://localhost:2830/hi          # global > route-7 > route-8 > handler
//! curl -i http://localhost:2830/api/hello   # global > group-4 > group-5 > handler
//! curl -i http://localhost:2830/nowhere     # 404, and the global middleware still ran
//! ```

use std::sync::{Arc, Mutex};

use flame_core::{Context, Flame, HandlerExt};

/// What the middleware saw, in order.
#[derive(Clone, Default)]
pub struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, step: impl Into<String>) {
        self.0.lock().expect("trace lock").push(step.into());
    }

    fn joined(&self) -> String {
        self.0.lock().expect("trace lock").join(" > ")
    }
}

// ANCHOR: middleware
/// A middleware that records itself before and after the rest of the chain.
fn step(
    name: &'static str,
) -> impl Fn(Context, Trace) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Clone {
    move |c: Context, trace: Trace| {
        Box::pin(async move {
            trace.push(name);
            c.next().await;
            trace.push(format!("/{name}"));
        })
    }
}

pub fn app() -> Flame {
    let mut f = Flame::new();
    // Global middleware: runs for every request, matched or not. It maps the Trace that the
    // others use, and declares so for the startup check.
    f.use_(
        (|c: Context| async move {
            let trace = Trace::default();
            c.map(trace.clone());
            trace.push("global");
            c.next().await;
            trace.push("/global");
            if let Ok(value) = trace.joined().parse() {
                c.response_writer().headers_mut().insert("x-trace", value);
            }
        })
        .provides::<Trace>(),
    );

    // Group middleware: listed after the group's routes, yet run before their handlers.
    f.group(
        "/api",
        |f| {
            f.get("/hello", |trace: Trace| {
                format!("hello: {}", trace.joined())
            });
        },
        (step("group-4"), step("group-5")),
    );

    // Route middleware: the handlers before the last one.
    f.get(
        "/hi",
        (step("route-7"), step("route-8"), |trace: Trace| {
            format!("hi: {}", trace.joined())
        }),
    );
    f
}
// ANCHOR_END: middleware

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
