//! Server-sent events as a return value (flame-extra, feature `sse`): a countdown, one event
//! a second, with keep-alive comments while it is quiet.
//!
//! ```text
//! cargo run --example sse
//! curl -N http://localhost:2830/countdown?from=3
//! # event: tick / data: 3 ... data: 1, then event: done
//! ```

use std::time::Duration;

use flame_core::{Context, Flame};
use flame_extra::sse::{Event, Sse};
use futures_util::stream;

// ANCHOR: app
/// The app: `GET /countdown?from=N` (at most 60) streams N ticks `every` apart, then `done`.
pub fn app(every: Duration) -> Flame {
    let mut f = Flame::new();
    f.get("/countdown", move |c: Context| {
        let from = c.query_int_or("from", 3).clamp(0, 60);
        let ticks = stream::unfold(from, move |n| async move {
            if n < 0 {
                return None;
            }
            if n > 0 {
                tokio::time::sleep(every).await;
            }
            let event = match n {
                0 => Event::default().event("done").data("liftoff"),
                n => Event::default().event("tick").data(n.to_string()),
            };
            Some((event, n - 1))
        });
        Sse::new(ticks)
    });
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app(Duration::from_secs(1)).run()?;
    Ok(())
}
