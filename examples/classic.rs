//! The seed's "Handlers" example: any callable is a handler, here on a classic instance
//! (Logger, Recovery and Static serving `public/`).
//!
//! ```text
//! cargo run --example classic
//! curl http://localhost:2830/anonymous   # Respond from an anonymous function
//! curl http://localhost:2830/declared    # Respond from a declared function
//! curl http://localhost:2830/method      # Respond from a method of a type
//! ```

use std::sync::Arc;

use flame_core::Flame;

// ANCHOR: app
pub fn app() -> Flame {
    let mut f = Flame::classic();
    f.get("/anonymous", || "Respond from an anonymous function");
    f.get("/declared", declared);
    let t = Arc::new(CustomType);
    f.get("/method", move || t.handler());
    f
}

fn declared() -> &'static str {
    "Respond from a declared function"
}

struct CustomType;

impl CustomType {
    fn handler(&self) -> &'static str {
        "Respond from a method of a type"
    }
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
