//! tower-http layers in a flame app: CORS and request ids around the whole app, compression
//! for a group, a timeout for one route.
//!
//! ```text
//! cargo run --example tower_layers
//! curl -i -X OPTIONS http://localhost:2830/api/items -H 'origin: https://app.example' -H 'access-control-request-method: POST'
//! curl -i http://localhost:2830/api/report -H 'accept-encoding: gzip' --compressed
//! curl -i http://localhost:2830/api/slow    # 408 after 200 ms
//! ```

use std::time::Duration;

use flame_core::{Flame, StatusCode};
use http::{HeaderName, HeaderValue, Method};
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

// ANCHOR: app
/// The app: layers at the app, group and route levels.
pub fn app() -> Flame {
    let request_id = HeaderName::from_static("x-request-id");
    let mut f = Flame::new();
    // App level: before routing and every flame middleware, the first added outermost. The
    // request id goes first so that even the preflights CORS answers by itself carry one.
    f.layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid));
    f.layer(PropagateRequestIdLayer::new(request_id));
    f.layer(
        CorsLayer::new()
            .allow_origin(HeaderValue::from_static("https://app.example"))
            .allow_methods([Method::GET, Method::POST]),
    );
    f.group(
        "/api",
        |f| {
            // Group level: inside the group's closure, `layer` wraps the group's routes
            // registered after it (`flame_core::tower_layer(..)` in the middleware list
            // below would do the same).
            f.layer(CompressionLayer::new());
            f.post("/items", || (StatusCode::CREATED, "created"));
            f.get("/report", || "report ".repeat(100));
            // Route level: around this route's own handlers only.
            f.get("/slow", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            })
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(200),
            ));
        },
        (),
    );
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
