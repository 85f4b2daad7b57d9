//! CSRF protection for a cookie-session app (flame-extra, feature `csrf`): a form carries the
//! session's token; a request without it, or from another site, is refused with a 403.
//!
//! ```text
//! cargo run --example csrf
//! curl -s -c jar -b jar http://localhost:2830/          # the form, with its hidden _csrf field
//! curl -i -c jar -b jar -X POST http://localhost:2830/transfer -d amount=5
//! # 403 CSRF token missing: send it in the X-CSRF-Token header or the _csrf form field
//! curl -i -c jar -b jar -X POST http://localhost:2830/transfer -d amount=5 -d _csrf=<token>
//! # 200 sent 5
//! ```

use std::sync::Arc;

use flame_core::{Flame, Form, ResponseWriter};
use flame_extra::csrf::{Csrf, CsrfConfig, csrf};
use flame_extra::session::{MemoryStore, SessionConfig, SessionStore, sessioner_shared};

/// The form's fields.
#[derive(serde::Deserialize)]
pub struct Transfer {
    /// How much to send.
    pub amount: u32,
}

// ANCHOR: app
/// The app: sessions, then CSRF checks, then the routes.
pub fn app(sessions: SessionConfig, store: Arc<dyn SessionStore>) -> Flame {
    let mut f = Flame::new();
    f.use_(sessioner_shared(sessions, store));
    f.use_(csrf(CsrfConfig::default()));
    f.get("/", |x: Csrf, w: ResponseWriter| {
        let html = format!(
            r#"<form method="post" action="/transfer">
<input type="hidden" name="_csrf" value="{}">
<input name="amount"> <button>Send</button>
</form>"#,
            x.token()
        );
        w.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        w.write(html);
    });
    f.post("/transfer", |form: Form<Transfer>| {
        format!("sent {}", form.0.amount)
    });
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app(SessionConfig::default(), Arc::new(MemoryStore::new())).run()?;
    Ok(())
}
