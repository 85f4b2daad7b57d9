//! Actors as identity: every piece of work knows who is executing it.
//!
//! - a background job runs as `BackendActor("scheduler")` (started with `spawn_as`);
//! - a middleware turns an `X-Api-Token` header into a custom `ApiToken` actor;
//! - `/whoami` takes the `CurrentActor` as an argument and branches on `actor_type()`;
//! - `/report` calls a service that has no request context, and still knows who asked;
//! - `/token` requires the actor to be an `ApiToken`.
//!
//! ```text
//! cargo run --example actors
//! curl http://localhost:2830/whoami                          # anonymous visitor
//! curl -H 'X-Api-Token: ci-secret' http://localhost:2830/whoami  # API token "ci"
//! curl -H 'X-Api-Token: ci-secret' http://localhost:2830/report  # report for api_token:ci
//! curl http://localhost:2830/token                            # 403: an API token is required
//! curl http://localhost:2830/jobs                             # runs of the scheduler
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flame_actor::{
    Actor, ActorContext, BackendActor, ContextActorExt, CurrentActor, actor_scope, current_actor,
    require_actor, spawn_as,
};
use flame_auth::AnonymousActor;
use flame_core::{Context, Flame, HandlerExt, HttpError, StatusCode};
use tokio::task::JoinHandle;

// ANCHOR: custom_actor
/// A custom actor: a machine client calling with an API token.
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// The token's name, e.g. the CI system it was issued to.
    pub name: String,
    /// What the token may do.
    pub scopes: Vec<String>,
}

impl Actor for ApiToken {
    fn actor_type(&self) -> &str {
        "api_token"
    }

    fn actor_id(&self) -> Option<String> {
        Some(self.name.clone())
    }
}
// ANCHOR_END: custom_actor

/// The known API tokens (a real app keeps hashes in a store).
#[derive(Clone)]
pub struct ApiTokens(Arc<HashMap<String, ApiToken>>);

impl ApiTokens {
    fn demo() -> Self {
        let ci = ApiToken {
            name: "ci".into(),
            scopes: vec!["reports:read".into()],
        };
        Self(Arc::new(HashMap::from([("ci-secret".to_owned(), ci)])))
    }
}

// ANCHOR: middleware
/// Middleware: an `X-Api-Token` header makes the request act as that `ApiToken`; no header
/// leaves it anonymous; an unknown token is refused.
async fn identify(c: Context, tokens: ApiTokens) -> Result<(), HttpError> {
    let actor: Arc<dyn Actor> = match c.headers().get("x-api-token") {
        None => Arc::new(AnonymousActor),
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|value| tokens.0.get(value))
                .ok_or_else(|| HttpError::new(StatusCode::UNAUTHORIZED, "unknown API token"))?;
            Arc::new(token.clone())
        }
    };
    // Maps `CurrentActor` for the handlers after this one and records `actor.type` and
    // `actor.id` on the request's span (the Logger prints them) ...
    c.set_actor(actor.clone());
    // ... and runs the rest of the chain in the actor's scope, for code without the Context.
    actor_scope(actor, c.next()).await;
    Ok(())
}
// ANCHOR_END: middleware

// ANCHOR: branching
/// `CurrentActor` is injected like any other service; logic branches on the actor's type.
fn whoami(actor: CurrentActor) -> String {
    match actor.actor_type() {
        "api_token" => {
            let token = actor.downcast_ref::<ApiToken>().map(|t| t.scopes.join(","));
            format!(
                "API token {:?} (scopes: {})",
                actor.actor_id().unwrap_or_default(),
                token.unwrap_or_default()
            )
        }
        "anonymous" => "anonymous visitor".to_owned(),
        other => format!("a {other} actor"),
    }
}
// ANCHOR_END: branching

// ANCHOR: service
/// A service that is not handed the request: it asks the task-local scope who is acting.
#[derive(Clone, Default)]
pub struct Reports;

impl Reports {
    async fn generate(&self) -> String {
        tokio::time::sleep(Duration::from_millis(1)).await; // identity survives `.await`
        let actor = current_actor();
        format!(
            "report for {}:{}",
            actor.actor_type(),
            actor.actor_id().unwrap_or_default()
        )
    }
}
// ANCHOR_END: service

// ANCHOR: require
/// Only API tokens may call this: `require_actor` downcasts the acting actor.
fn token_only(c: Context) -> Result<String, HttpError> {
    let token: Arc<ApiToken> = require_actor(&c).map_err(|err| {
        tracing::debug!(%err, "not an API token");
        HttpError::new(StatusCode::FORBIDDEN, "an API token is required")
    })?;
    Ok(format!("hello, {}", token.name))
}
// ANCHOR_END: require

// ANCHOR: job
/// What the background jobs did, and as whom.
#[derive(Clone, Default)]
pub struct JobLog(Arc<Mutex<Vec<String>>>);

impl JobLog {
    fn runs(&self) -> Vec<String> {
        self.0.lock().map(|runs| runs.clone()).unwrap_or_default()
    }
}

/// Starts the scheduler: a background job that acts as the backend itself.
pub fn start_scheduler(log: JobLog, every: Duration) -> JoinHandle<()> {
    spawn_as(Arc::new(BackendActor::new("scheduler")), async move {
        loop {
            // Deep inside the job, without any context passed down:
            let actor = current_actor();
            let run = format!(
                "cleanup by {}:{}",
                actor.actor_type(),
                actor.actor_id().unwrap_or_default()
            );
            if let Ok(mut runs) = log.0.lock() {
                runs.push(run);
            }
            tokio::time::sleep(every).await;
        }
    })
}
// ANCHOR_END: job

// ANCHOR: app
pub fn app(jobs: JobLog) -> Flame {
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.map(ApiTokens::demo()).map(Reports).map(jobs);
    f.use_(identify.provides::<CurrentActor>());
    f.get("/whoami", whoami);
    f.get("/report", |reports: Reports| async move {
        reports.generate().await
    });
    f.get("/token", token_only);
    f.get("/jobs", |jobs: JobLog| jobs.runs().join("\n"));
    // The request context is an `ActorContext` too.
    f.get("/type", |c: Context| c.actor().actor_type().to_owned());
    f
}
// ANCHOR_END: app

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let jobs = JobLog::default();
    let scheduler = start_scheduler(jobs.clone(), Duration::from_secs(60));
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    app(jobs)
        .serve_with_shutdown(listener, flame_core::server::shutdown_signal())
        .await?;
    scheduler.abort();
    Ok(())
}
