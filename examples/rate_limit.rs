//! Per-key rate limiting (flame-extra, feature `rate-limit`): every client IP gets 20
//! requests a minute in bursts of 10, and sign-in attempts are limited per user name.
//!
//! ```text
//! cargo run --example rate_limit
//! for i in $(seq 4); do curl -i -X POST 'http://localhost:2830/login?user=ann'; done
//! # three 200s, then 429 Too Many Requests with Retry-After: 20
//! ```

use flame_core::{Context, Flame};
use flame_extra::rate_limit::{RateLimit, rate_limiter};

// ANCHOR: app
/// The app: `GET /` and `POST /login?user=NAME`.
pub fn app() -> Flame {
    let mut f = Flame::new();
    // Every request: 20 a minute per client IP, up to 10 at once.
    f.use_(rate_limiter(RateLimit::per_minute(20).burst(10)));
    f.get("/", || "hello");
    // Sign-in attempts: 3 a minute per user name, whatever address they come from.
    let per_user = RateLimit::per_minute(3).key(|c: &Context| Some(c.query("user")));
    f.post(
        "/login",
        (rate_limiter(per_user), |c: Context| {
            format!("welcome, {}", c.query("user"))
        }),
    );
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
