//! [`Inspector`]: the development page at `/_flame` and the JSON endpoints it reads.
//!
//! Every listing is paged (a `limit`, at most [`MAX_PAGE`], and a cursor), and the page puts
//! every value it shows into the document as text (`textContent`), never as markup, so a
//! state or a key holding `<script>` stays text.

#[cfg(feature = "stateful")]
mod actors;
mod app;
mod routes;

use std::sync::Arc;

use flame_core::{Context, Env, Flame, StatusCode};
use http::header;

use crate::Metrics;

/// Where the inspector is mounted.
pub const INSPECTOR_PREFIX: &str = "/_flame";

/// The most entries one listing of the inspector returns, whatever `limit` asks.
pub const MAX_PAGE: usize = 100;

/// The entries a listing returns when the request gives no `limit`.
const DEFAULT_PAGE: usize = 50;

const PAGE: &str = include_str!("page.html");

/// The development inspector: a page at `/_flame` showing the app's routes, the server's
/// connection counters ([`Flame::server_stats`]), its mapped services, its startup check ([`Flame::check`]), its stateful actors (live keys with their
/// connections, hibernation, one actor's state and key-value entries, the committer's
/// recent transactions) and its metrics, with the JSON endpoints the page reads under
/// `/_flame/api/`.
///
/// Where it is on:
/// - in development and test ([`flame_core::env`]), always; with a [`token`](Self::token),
///   only for requests that carry it;
/// - in production only with a token: without one nothing is mounted and `/_flame` is the
///   app's 404; with one, a request without the right token gets the same 404.
///
/// The token goes in `Authorization: Bearer <token>` or, for the page itself (a browser
/// sends no header on navigation), in `?token=<token>`; the page passes it on to the API.
///
/// Mount it after the app's routes and services: it lists the routes, the services and the
/// check report as they are at [`mount`](Self::mount).
///
/// ```
/// use flame_metrics::{Inspector, Metrics};
///
/// let metrics = Metrics::new();
/// let mut f = flame_core::Flame::new();
/// f.get("/users/{id}", || "user");
/// Inspector::new().metrics(&metrics).mount(&mut f);
/// assert!(f.route_table().iter().any(|r| r.pattern == "/_flame/api/routes"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Inspector {
    token: Option<Arc<str>>,
    env: Option<Env>,
    metrics: Option<Metrics>,
    #[cfg(feature = "stateful")]
    actors: Option<actors::Actors>,
}

impl Inspector {
    /// An inspector for the current environment, without a token and with nothing but the
    /// routes to show.
    ///
    /// ```
    /// let inspector = flame_metrics::Inspector::new();
    /// # let _ = inspector;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires this token on every inspector request (compared in constant time); the only
    /// way to have the inspector in production.
    ///
    /// ```
    /// let inspector = flame_metrics::Inspector::new().token("a long random secret");
    /// # let _ = inspector;
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Arc::from(token.into()));
        self
    }

    /// Decides as in `env` instead of the process's [`flame_core::env`] at mount time.
    ///
    /// ```
    /// // production without a token: nothing is mounted
    /// let mut f = flame_core::Flame::new();
    /// flame_metrics::Inspector::new().env(flame_core::Env::Production).mount(&mut f);
    /// assert!(f.route_table().is_empty());
    /// ```
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// Shows these metrics (and serves them at `/_flame/api/metrics`).
    ///
    /// ```
    /// let metrics = flame_metrics::Metrics::new();
    /// let inspector = flame_metrics::Inspector::new().metrics(&metrics);
    /// # let _ = inspector;
    /// ```
    pub fn metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// Mounts the page and its API under [`INSPECTOR_PREFIX`], or nothing in production
    /// without a token. Returns whether it mounted.
    ///
    /// ```
    /// let mut f = flame_core::Flame::new();
    /// let mounted = flame_metrics::Inspector::new()
    ///     .env(flame_core::Env::Development)
    ///     .mount(&mut f);
    /// assert!(mounted);
    /// ```
    pub fn mount(self, f: &mut Flame) -> bool {
        let env = self.env.unwrap_or_else(flame_core::env);
        if env == Env::Production && self.token.is_none() {
            tracing::debug!("the inspector is off in production without a token");
            return false;
        }
        if env != Env::Production {
            tracing::info!(
                "the inspector is mounted at {INSPECTOR_PREFIX} ({env}{})",
                if self.token.is_some() {
                    ", token required"
                } else {
                    ""
                }
            );
        }
        let routes = Arc::new(f.route_table());
        let services = Arc::new(f.services());
        let report = Arc::new(f.check());
        let server = f.server_stats();
        if !report.is_ok() {
            tracing::warn!("the startup check found unmet dependencies:\n{report}");
        }
        let token = self.token.clone();
        let metrics = self.metrics.clone();
        #[cfg(feature = "stateful")]
        let actors = self.actors.clone();
        f.group(
            INSPECTOR_PREFIX,
            move |g| {
                g.get("", |w: flame_core::ResponseWriter| {
                    protect(&w);
                    flame_core::Reply::with_content_type(
                        PAGE,
                        http::HeaderValue::from_static("text/html; charset=utf-8"),
                    )
                });
                let table = routes.clone();
                g.get("/api/routes", move |c: Context| routes::page(&table, &c));
                g.get("/api/services", move |c: Context| {
                    app::services(&services, &c)
                });
                g.get("/api/check", move |c: Context| app::check(&report, &c));
                g.get("/api/server", move || app::server(&server));
                g.get("/api/metrics", move || {
                    metrics
                        .as_ref()
                        .map_or_else(String::new, crate::Metrics::render)
                });
                #[cfg(feature = "stateful")]
                actors::mount(g, actors);
                #[cfg(not(feature = "stateful"))]
                g.get("/api/actors", || {
                    flame_core::Json(serde_json::json!({ "enabled": false }))
                });
                #[cfg(not(feature = "stateful"))]
                g.get("/api/commits", || {
                    flame_core::Json(serde_json::json!({ "enabled": false, "commits": [] }))
                });
            },
            move |c: Context| gate(token.as_deref(), &c),
        );
        true
    }
}

fn protect(w: &flame_core::ResponseWriter) {
    let mut headers = w.headers_mut();
    // The page runs only its own inline script and talks only to its own origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
}

/// Lets a request through when no token is required or when it carries the token; answers
/// 404 otherwise, so a probe cannot tell an inspector from no inspector.
fn gate(token: Option<&str>, c: &Context) -> Option<(StatusCode, &'static str)> {
    // no token required: everyone gets through
    let token = token?;
    let bearer = c
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = bearer.map_or_else(|| c.query("token"), str::to_owned);
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        None
    } else {
        Some((StatusCode::NOT_FOUND, "404 page not found"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `limit` of a listing request: [`DEFAULT_PAGE`] when absent, at most [`MAX_PAGE`].
fn limit(c: &Context) -> usize {
    match c.query("limit").parse::<usize>() {
        Ok(n) => n.clamp(1, MAX_PAGE),
        Err(_) => DEFAULT_PAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
