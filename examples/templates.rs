//! Templates as an injected service (flame-extra, feature `template`), on minijinja:
//! `examples/templates/*.html`, a layout, per-request data, HTML escaping, and the 500 a
//! broken template gives.
//!
//! ```text
//! cargo run --example templates
//! curl 'http://localhost:2830/?name=<Joe>'
//! # <!doctype html> ... <h1>Hello, &lt;Joe&gt;!</h1> ...
//! curl -i http://localhost:2830/broken   # 500, the error logged
//! ```

use flame_core::{Context, Flame, StatusCode};
use flame_extra::template::{Data, Template, TemplateOptions, templater};

// ANCHOR: app
/// The app: `GET /?name=NAME` renders `home.html` in `layout.html`; `GET /broken` renders a
/// template that uses a filter that does not exist.
pub fn app() -> Flame {
    let mut f = Flame::new();
    f.use_(templater(TemplateOptions {
        directory: concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into(),
        ..TemplateOptions::default()
    }));
    // Data every page gets, as a Flamego middleware fills `template.Data`.
    f.use_(|data: Data| data.set("site", "flame"));
    f.get("/", |c: Context, t: Template, data: Data| {
        data.set("title", "Home");
        data.set("name", c.query_or("name", "world"));
        data.set("todos", ["write the docs", "ship it"]);
        t.html(StatusCode::OK, "home", &data)
    });
    f.get("/broken", |t: Template, data: Data| {
        t.html(StatusCode::OK, "broken", &data)
    });
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
