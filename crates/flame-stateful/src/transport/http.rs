//! The stateless HTTP RPC: `POST {prefix}/{name}/{key}/rpc/{method}` with a JSON array of
//! arguments; the answer is the action's result as JSON, or an error with its status.

use std::sync::Arc;

use flame_core::{Context, Reply, ReturnError};
use serde_json::Value;

use super::State;
use super::http_status;
use crate::protocol::{ErrorCode, WireError};
use flame_actor::ActorContext;

/// The JSON body of an error answer: `{"code": "...", "message": "..."}`.
pub(super) fn error_reply(error: &WireError) -> Reply {
    Reply::json(error).with_status(http_status(&error.code))
}

fn args_of(body: &[u8], limit: usize) -> Result<Vec<Value>, WireError> {
    if body.len() > limit {
        return Err(WireError::new(
            ErrorCode::MessageTooLong,
            format!("the body is {} bytes, the limit is {limit}", body.len()),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(args)) => Ok(args),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(_) => Err(WireError::new(
            ErrorCode::MalformedMessage,
            "the body must be a JSON array of arguments",
        )),
        Err(e) => Err(WireError::new(
            ErrorCode::MalformedMessage,
            format!("the body is not JSON: {e}"),
        )),
    }
}

/// `POST {prefix}/{name}/{key}/rpc/{method}`.
pub(super) async fn rpc(c: Context, state: Arc<State>) -> Reply {
    let limit = state.system.config().max_message_size;
    // the limit applies while the body streams in: a client cannot make the server buffer
    // more than `limit` bytes (plus one read) before it gets its 413
    let body = match c.request().body_bytes_limited(limit).await {
        Ok(body) => body,
        Err(e) if e.status() == ::http::StatusCode::PAYLOAD_TOO_LARGE => {
            return error_reply(&WireError::new(ErrorCode::MessageTooLong, e.message()));
        }
        // the body stalled: the message is incomplete, and the status says why
        Err(e) if e.status() == ::http::StatusCode::REQUEST_TIMEOUT => {
            return Reply::json(&WireError::new(ErrorCode::MalformedMessage, e.message()))
                .with_status(e.status());
        }
        Err(e) => {
            return error_reply(&WireError::new(ErrorCode::MalformedMessage, e.message()));
        }
    };
    let args = match args_of(&body, limit) {
        Ok(args) => args,
        Err(e) => return error_reply(&e),
    };
    let caller = c.actor();
    match state
        .system
        .call(
            c.param("name"),
            c.param("key"),
            c.param("method"),
            args,
            caller,
        )
        .await
    {
        Ok(output) => Reply::json(&output),
        Err(e) => error_reply(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(args_of(b"", 10).unwrap(), Vec::<Value>::new());
        assert_eq!(args_of(b"null", 10).unwrap(), Vec::<Value>::new());
        assert_eq!(
            args_of(b"[1,2]", 10).unwrap(),
            vec![Value::from(1), 2.into()]
        );
        assert!(
            args_of(b"{}", 10)
                .unwrap_err()
                .is(ErrorCode::MalformedMessage)
        );
        assert!(
            args_of(b"[1,", 10)
                .unwrap_err()
                .is(ErrorCode::MalformedMessage)
        );
        assert!(
            args_of(b"[1,2,3,4,5,6]", 10)
                .unwrap_err()
                .is(ErrorCode::MessageTooLong)
        );
    }
}
