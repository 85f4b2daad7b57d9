//! The book's recipes, runnable: middleware as a named handler, a JSON error type, one
//! `ReturnHandler` for every error, and 405 for a wrong method.
//!
//! ```text
//! cargo run --example recipes
//! curl -i localhost:2830/orders/7      # 200, x-response-time: 0.1ms
//! curl -i localhost:2830/orders/9      # 404 {"error":{"code":"order_not_found","message":"no order 9"}}
//! curl -i -X PUT localhost:2830/orders/7   # 405, allow: GET, DELETE
//! curl -i localhost:2830/crash         # 500 {"error":{"code":"internal_error","message":"the disk is full"}}
//! ```

use std::time::Instant;

use flame_core::{Context, ErrorFormat, Flame, Reply, ReturnError, ReturnHandler, StatusCode};

// ANCHOR: timing
/// Middleware is a handler that calls `c.next().await`: written as a named `#[handler]`, it
/// reads like any function, and the startup check names it.
#[flame_core::handler]
pub async fn timing(c: Context) {
    let start = Instant::now();
    c.next().await; // the rest of the chain runs here
    let took = format!("{:.1}ms", start.elapsed().as_secs_f64() * 1000.0);
    if let Ok(value) = took.parse() {
        c.response_writer()
            .headers_mut()
            .insert("x-response-time", value);
    }
}
// ANCHOR_END: timing

// ANCHOR: error_type
/// The app's own errors: each has a status and a stable code, and answers with the
/// framework's JSON shape, `{"error":{"code":"...","message":"..."}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no order {0}")]
    OrderNotFound(u64),
    #[error("order {0} is already shipped")]
    AlreadyShipped(u64),
    /// The cause stays in the log; the client reads a generic message.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::OrderNotFound(_) => "order_not_found",
            Self::AlreadyShipped(_) => "already_shipped",
            Self::Storage(_) => "internal_error",
        }
    }
}

impl ReturnError for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::OrderNotFound(_) => StatusCode::NOT_FOUND,
            Self::AlreadyShipped(_) => StatusCode::CONFLICT,
            Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_error_reply(self) -> Reply {
        let message = match &self {
            Self::Storage(_) => {
                tracing::error!(error = %self, "request failed");
                "internal error".to_owned()
            }
            _ => self.to_string(),
        };
        Reply::json_error(self.status(), self.code(), message)
    }
}
// ANCHOR_END: error_type

// ANCHOR: one_override
/// One override for every error reply: the handlers' own plain errors (Flamego's text by
/// default) answer with the JSON shape too. Everything else is written as it is.
pub fn json_errors() -> ReturnHandler {
    ReturnHandler::new(|c: &Context, reply: Reply| {
        reply.with_error_format(ErrorFormat::Json).write_to(c);
    })
}
// ANCHOR_END: one_override

// ANCHOR: app
pub fn app() -> Flame {
    let mut f = Flame::new();
    f.use_(timing);
    f.map(json_errors());
    // Flamego answers a known path with the wrong method 404; this answers 405 + Allow.
    f.method_not_allowed(true);
    f.get("/orders/{id}", |c: Context| -> Result<String, ApiError> {
        match c.param_int("id") {
            7 => Ok("order 7: 2 items".to_owned()),
            id => Err(ApiError::OrderNotFound(id.try_into().unwrap_or_default())),
        }
    });
    f.delete("/orders/{id}", |c: Context| -> Result<(), ApiError> {
        Err(ApiError::AlreadyShipped(
            c.param_int("id").try_into().unwrap_or_default(),
        ))
    });
    f.get("/broken", || -> Result<(), ApiError> {
        Err(ApiError::Storage("disk I/O error".into()))
    });
    // A plain error, text in Flamego; JSON here through `json_errors`.
    f.get("/crash", || Err::<(), _>("the disk is full"));
    f
}
// ANCHOR_END: app

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
