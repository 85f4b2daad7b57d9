//! [`Logger`]: one tracing event per request.

use std::borrow::Cow;
use std::time::Instant;

use crate::context::Context;
use crate::handler::{Invocable, Invocation};

/// Middleware that emits one `tracing` event per request, after the rest of the chain:
/// method, path, status, duration (µs), the peer address and the actor (type and id), inside
/// the request's span.
///
/// ```
/// let mut f = flame_core::Flame::new();
/// f.use_(flame_core::logger());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Logger;

/// The [`Logger`] middleware.
pub fn logger() -> Logger {
    Logger
}

impl Invocable for Logger {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("flame_core::Logger")
    }

    fn call(&self, ctx: &Context, _ordinal: usize) -> Invocation {
        let ctx = ctx.clone();
        Invocation::Pending(Box::pin(async move {
            let started = Instant::now();
            ctx.next().await;
            let status = ctx.response_writer().status();
            let elapsed = started.elapsed();
            let (actor_type, actor_id) = ctx.recorded_actor();
            tracing::info!(
                parent: ctx.span(),
                method = %ctx.method(),
                path = %ctx.uri().path(),
                status = status.as_u16(),
                duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                remote = ?ctx.peer_addr(),
                actor.r#type = %actor_type,
                actor.id = actor_id.as_deref().unwrap_or(""),
                "{} {} -> {} in {:?}",
                ctx.method(),
                ctx.uri().path(),
                status,
                elapsed,
            );
        }))
    }
}
