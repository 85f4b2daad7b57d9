//! HTTP basic and bearer authentication (flame-extra, feature `auth`): an internal tool whose
//! home page is public, whose `/admin` pages ask for a user name and password, and whose
//! `/api` takes one of a list of API keys.
//!
//! ```text
//! ADMIN_PASSWORD=s3cret API_KEYS=key-ann,key-bob cargo run --example basic_auth
//! curl -i http://localhost:2830/admin/
//! # 401 Unauthorized, WWW-Authenticate: Basic realm="Authorization Required"
//! curl -u admin:s3cret http://localhost:2830/admin/
//! # hello, admin
//! curl -H 'Authorization: Bearer key-bob' http://localhost:2830/api/status
//! # ok (key 2 of 2)
//! ```

use flame_core::Flame;
use flame_extra::auth::{Token, User, basic, bearer_fn, secure_compare};

// ANCHOR: app
/// The app: a public `/`, `/admin` behind basic authentication as `admin`, `/api` behind
/// any of `api_keys` as a bearer token.
pub fn app(admin_password: &str, api_keys: Vec<String>) -> Flame {
    let mut f = Flame::new();
    f.get("/", || "public");
    f.group(
        "/admin",
        |f| {
            f.get("/", |user: User| format!("hello, {user}"));
        },
        basic("admin", admin_password),
    );
    let keys = api_keys.clone();
    f.group(
        "/api",
        |f| {
            f.get("/status", move |token: Token| {
                let n = api_keys
                    .iter()
                    .position(|k| k == token.as_str())
                    .unwrap_or(0)
                    + 1;
                format!("ok (key {n} of {})", api_keys.len())
            });
        },
        // Every key is compared, each in constant time: the time taken does not say which
        // key came close.
        bearer_fn(move |token| {
            keys.iter()
                .fold(false, |found, key| secure_compare(token, key) | found)
        }),
    );
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let password = std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "s3cret".to_owned());
    let keys = std::env::var("API_KEYS").unwrap_or_else(|_| "key-ann,key-bob".to_owned());
    let keys = keys.split(',').map(str::to_owned).collect();
    app(&password, keys).run()?;
    Ok(())
}
