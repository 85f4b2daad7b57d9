//! tower-http's common layers through flame-extra's constructors (features `cors`,
//! `compression`, `request-id`, `timeout`): request ids, CORS with Flamego's options,
//! gzip and brotli, and a 408 for a slow route.
//!
//! ```text
//! cargo run --example common_layers
//! curl -i -X OPTIONS http://localhost:2830/api/items -H 'origin: https://app.example' -H 'access-control-request-method: POST'
//! curl -i http://localhost:2830/api/report -H 'accept-encoding: br' --compressed
//! curl -i http://localhost:2830/api/slow    # 408 after 2 s
//! ```

use std::time::Duration;

use flame_core::{Context, Flame, StatusCode};
use flame_extra::{compression, cors, request_id, timeout};

// ANCHOR: app
/// The app: the layers around everything, a deadline on one route.
pub fn app(slow_deadline: Duration) -> Flame {
    let mut f = Flame::new();
    // The first layer added is the outermost: every answer, preflights and 408s included,
    // carries the request id.
    f.layer(request_id::x_request_id());
    f.layer(cors::new(cors::Options {
        scheme: "https".into(),
        allow_domain: vec!["app.example".into()],
        ..cors::Options::default()
    }));
    f.layer(compression::gzip_and_brotli());
    f.group(
        "/api",
        |f| {
            f.post("/items", || (StatusCode::CREATED, "created"));
            f.get("/report", || "report line\n".repeat(200));
            f.get("/whoami", |c: Context| {
                request_id::get(&c).unwrap_or_default()
            });
            f.get("/slow", || async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                "too late"
            })
            .layer(timeout::request_timeout(slow_deadline));
        },
        (),
    );
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app(Duration::from_secs(2)).run()?;
    Ok(())
}
