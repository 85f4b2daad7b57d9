//! Flamego-style sessions (flame-extra, feature `session-redb`): a visit counter, sign-in
//! with id rotation, sign-out, kept in a redb file so that a restart signs nobody out.
//!
//! ```text
//! cargo run --example sessions
//! curl -i -c jar -b jar http://localhost:2830/                    # hello, guest (visit 1)
//! curl -i -c jar -b jar -X POST 'http://localhost:2830/login?name=ada'
//! curl -i -c jar -b jar http://localhost:2830/                    # hello, ada (visit 2)
//! curl -i -c jar -b jar -X POST http://localhost:2830/logout      # the cookie is cleared
//! ```

use std::sync::Arc;
use std::time::Duration;

use flame_core::{Context, Flame, HttpError};
use flame_extra::session::{
    RedbStore, Session, SessionConfig, SessionError, SessionStore, sessioner_shared, spawn_purger,
};

// ANCHOR: app
/// The app, on any session store.
pub fn app(config: SessionConfig, store: Arc<dyn SessionStore>) -> Flame {
    let mut f = Flame::new();
    f.use_(sessioner_shared(config, store));
    f.get("/", |s: Session| -> Result<String, SessionError> {
        let visits = s.get::<u32>("visits").unwrap_or(0) + 1;
        s.set("visits", visits)?;
        let name = s
            .get::<String>("user")
            .unwrap_or_else(|| "guest".to_owned());
        Ok(format!("hello, {name} (visit {visits})"))
    });
    f.post(
        "/login",
        |c: Context, s: Session| -> Result<String, HttpError> {
            let name = c.query("name");
            if name.is_empty() {
                return Err(HttpError::unprocessable("a name is required"));
            }
            // A new id on sign-in: an id planted before it is worth nothing (session fixation).
            s.regenerate();
            s.set("user", &name)
                .map_err(|err| HttpError::internal(err.to_string()))?;
            Ok(format!("signed in as {name}"))
        },
    );
    f.post("/logout", |s: Session| {
        s.destroy();
        "signed out"
    });
    f
}
// ANCHOR_END: app

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let store: Arc<dyn SessionStore> = Arc::new(RedbStore::open("flame-sessions.redb")?);
    let _purger = spawn_purger(store.clone(), Duration::from_secs(10 * 60));
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    app(SessionConfig::default(), store)
        .serve_with_shutdown(listener, flame_core::server::shutdown_signal())
        .await?;
    Ok(())
}
