//! [`Recovery`]: a panic in a handler becomes a 500, never a dead server.

use std::any::Any;
use std::backtrace::Backtrace;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};

use crate::context::Context;
use crate::env::{Env, env};
use futures_util::future::BoxFuture;

use crate::handler::{Invocable, Invocation};

thread_local! {
    static GUARDED: Cell<usize> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Middleware that catches panics in the rest of the chain and answers 500.
///
/// In development (and test) the body has the panic message, where it happened and a
/// backtrace; in production only `Internal Server Error`. Either way the panic is logged with
/// `tracing` at error level and the server goes on. A panic is contained only below Recovery
/// in the chain: without it, the connection is closed and the server goes on.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.use_(flame_core::recovery());
/// f.get("/boom", || -> &'static str { panic!("boom") });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Recovery;

/// The [`Recovery`] middleware.
pub fn recovery() -> Recovery {
    install_hook();
    Recovery
}

/// Installs, once, a panic hook that records panics raised under Recovery (with a backtrace)
/// instead of printing them; other panics go to the previous hook as before.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) > 0 {
                let detail = if env() == Env::Production {
                    info.to_string()
                } else {
                    format!("{info}\n\n{}", Backtrace::force_capture())
                };
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(detail));
            } else {
                previous(info);
            }
        }));
    });
}

/// Polls the inner future with the panic hook in recording mode, catching any unwind.
struct Guarded {
    inner: BoxFuture<'static, ()>,
}

impl Future for Guarded {
    type Output = Result<(), Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        GUARDED.with(|guarded| guarded.set(guarded.get() + 1));
        let polled = catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx)));
        GUARDED.with(|guarded| guarded.set(guarded.get() - 1));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

impl Invocable for Recovery {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("flame_core::Recovery")
    }

    fn call(&self, ctx: &Context, _ordinal: usize) -> Invocation {
        install_hook();
        let ctx = ctx.clone();
        Invocation::Pending(Box::pin(async move {
            let rest = ctx.clone();
            let outcome = Guarded {
                inner: Box::pin(async move { rest.next().await }),
            }
            .await;
            let Err(payload) = outcome else { return };
            let message = panic_message(&*payload).to_owned();
            let detail = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_else(|| message.clone());
            tracing::error!(parent: ctx.span(), panic = %message, "handler panicked:\n{detail}");
            let writer = ctx.response_writer();
            if writer.written() {
                return;
            }
            let body = if env() == Env::Production {
                "Internal Server Error".to_owned()
            } else {
                format!("PANIC: {message}\n\n{detail}")
            };
            writer.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            writer.write_header(StatusCode::INTERNAL_SERVER_ERROR);
            writer.write(Bytes::from(body));
        }))
    }
}
