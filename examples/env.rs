//! Behaviour that depends on `FLAME_ENV`: Recovery shows the panic and a backtrace in
//! development, only `Internal Server Error` in production.
//!
//! ```text
//! cargo run --example env                          # development (the default)
//! curl http://localhost:2830/panic                 # PANIC: something went wrong ... backtrace
//! FLAME_ENV=production cargo run --example env
//! curl http://localhost:2830/panic                 # Internal Server Error
//! curl http://localhost:2830/env                   # production
//! ```

use flame_core::Flame;

// ANCHOR: app
pub fn app() -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::recovery());
    f.get("/env", || flame_core::env().to_string());
    f.get("/panic", || -> &'static str {
        panic!("something went wrong")
    });
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    // `flame_core::env()` reads FLAME_ENV once; `set_env` changes it at any time.
    tracing::info!(env = %flame_core::env(), "starting");
    app().run()?;
    Ok(())
}
