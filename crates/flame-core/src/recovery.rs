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

/// Middleware that catches panics in the rest of the chain and answers 500, as Flamego's
/// `Recovery`.
///
/// In development the answer is Flamego's panic page (`text/html`): the panic message and
/// where it happened with a backtrace; with [`RecoveryOptions::plain_text`] the same as
/// `text/plain`, `PANIC: <message>` then the stack, with no trailing newline. In production
/// and test only `Internal Server Error` (`text/plain`). Either way the panic is logged with
/// `tracing` at error level and the server goes on. A panic is contained only below Recovery
/// in the chain: without it, the connection is closed and the server goes on.
///
/// One difference from Flamego on purpose: the page escapes the message and the stack for
/// HTML, since a panic message can carry request input.
///
/// ```
/// use flame_core::{Flame, RecoveryOptions};
///
/// let mut f = Flame::new();
/// f.use_(flame_core::recovery());
/// f.get("/boom", || -> &'static str { panic!("boom") });
///
/// let mut plain = Flame::new();
/// plain.use_(flame_core::recovery_with(RecoveryOptions { plain_text: true }));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Recovery {
    options: RecoveryOptions,
}

/// Options of the [`Recovery`] middleware, with Flamego's names.
///
/// ```
/// let options = flame_core::RecoveryOptions { plain_text: true };
/// assert!(options.plain_text);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryOptions {
    /// In development, answer with plain text instead of the HTML panic page. Default false.
    pub plain_text: bool,
}

/// The [`Recovery`] middleware, answering with the HTML panic page in development.
///
/// ```
/// let mut f = flame_core::Flame::new();
/// f.use_(flame_core::recovery());
/// ```
pub fn recovery() -> Recovery {
    recovery_with(RecoveryOptions::default())
}

/// The [`Recovery`] middleware with `options`.
///
/// ```
/// use flame_core::RecoveryOptions;
///
/// let mut f = flame_core::Flame::new();
/// f.use_(flame_core::recovery_with(RecoveryOptions { plain_text: true }));
/// ```
pub fn recovery_with(options: RecoveryOptions) -> Recovery {
    install_hook();
    Recovery { options }
}

/// Flamego's panic page: `{message}` and `{stack}` are filled in, escaped.
const PANIC_PAGE: &str = r#"<html>
<head><title>PANIC: {message}</title>
<meta charset="utf-8" />
<style type="text/css">
html, body {
	font-family: "Roboto", sans-serif;
	color: #333333;
	background-color: #ea5343;
	margin: 0px;
}
h1 {
	color: #d04526;
	background-color: #ffffff;
	padding: 20px;
	border-bottom: 1px dashed #2b3848;
}
pre {
	margin: 20px;
	padding: 20px;
	border: 2px solid #2b3848;
	background-color: #ffffff;
	white-space: pre-wrap;       /* css-3 */
	white-space: -moz-pre-wrap;  /* Mozilla, since 1999 */
	white-space: -pre-wrap;      /* Opera 4-6 */
	white-space: -o-pre-wrap;    /* Opera 7 */
	word-wrap: break-word;       /* Internet Explorer 5.5+ */
}
</style>
</head><body>
<h1>PANIC</h1>
<pre style="font-weight: bold;">{message}</pre>
<pre>{stack}</pre>
</body>
</html>"#;

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&#34;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The body and content type Recovery answers with.
fn panic_answer(
    env: Env,
    options: RecoveryOptions,
    message: &str,
    stack: &str,
) -> (String, &'static str) {
    match env {
        Env::Development if options.plain_text => {
            (format!("PANIC: {message}\n{stack}"), "text/plain")
        }
        Env::Development => {
            let (message, stack) = (escape_html(message), escape_html(stack));
            // One pass, so a `{stack}` inside the message stays text.
            let mut page =
                String::with_capacity(PANIC_PAGE.len() + 2 * message.len() + stack.len());
            let mut rest = PANIC_PAGE;
            while let Some(open) = rest.find('{') {
                page.push_str(&rest[..open]);
                rest = &rest[open..];
                if let Some(after) = rest.strip_prefix("{message}") {
                    page.push_str(&message);
                    rest = after;
                } else if let Some(after) = rest.strip_prefix("{stack}") {
                    page.push_str(&stack);
                    rest = after;
                } else {
                    page.push('{');
                    rest = &rest[1..];
                }
            }
            page.push_str(rest);
            (page, "text/html")
        }
        _ => ("Internal Server Error".to_owned(), "text/plain"),
    }
}

/// Installs, once, a panic hook that records panics raised under Recovery (with a backtrace)
/// instead of printing them; other panics go to the previous hook as before.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) > 0 {
                // The stack as Flamego's page shows it: where, then the frames.
                let location = info.location().map_or_else(String::new, |l| {
                    format!("{}:{}:{}", l.file(), l.line(), l.column())
                });
                let detail = if env() == Env::Development {
                    format!("{location}\n{}", Backtrace::force_capture())
                } else {
                    location
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
        let options = self.options;
        let ctx = ctx.clone();
        Invocation::Pending(Box::pin(async move {
            let rest = ctx.clone();
            let outcome = Guarded {
                inner: Box::pin(async move { rest.next().await }),
            }
            .await;
            let Err(payload) = outcome else { return };
            let message = panic_message(&*payload).to_owned();
            let stack = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_default();
            let stack = stack.trim_end();
            tracing::error!(parent: ctx.span(), panic = %message, "PANIC: {message}\n{stack}");
            let writer = ctx.response_writer();
            if writer.written() {
                return;
            }
            let (body, content_type) = panic_answer(env(), options, &message, stack);
            writer
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            writer.write_header(StatusCode::INTERNAL_SERVER_ERROR);
            writer.write(Bytes::from(body));
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_follows_the_environment_and_options() {
        let plain = RecoveryOptions { plain_text: true };
        let html = RecoveryOptions::default();
        assert_eq!(
            panic_answer(Env::Development, plain, "boom", "at x.rs:1:2"),
            ("PANIC: boom\nat x.rs:1:2".to_owned(), "text/plain")
        );
        let (page, content_type) = panic_answer(Env::Development, html, "<b>", "s");
        assert_eq!(content_type, "text/html");
        assert!(page.starts_with("<html>\n<head><title>PANIC: &lt;b&gt;</title>"));
        assert!(page.ends_with("<pre>s</pre>\n</body>\n</html>"));
        for env in [Env::Production, Env::Test] {
            assert_eq!(
                panic_answer(env, plain, "boom", "s"),
                ("Internal Server Error".to_owned(), "text/plain")
            );
        }
    }
}
