//! How protocol error codes map onto the transports: HTTP statuses, WebSocket close codes,
//! and which closes a client should retry.

use crate::ErrorCode;

/// The HTTP status of an error code, for the stateless HTTP RPC.
///
/// | code | status |
/// |---|---|
/// | `action_not_found`, `actor_not_found` | 404 |
/// | `actor_destroyed` | 410 |
/// | `malformed_message`, `invalid_arguments`, `invalid_params`, `unsupported_version`, `limit_exceeded` | 400 |
/// | `message_too_long`, `params_too_long`, `storage_limit` | 413 |
/// | `unauthorized` | 401 |
/// | `forbidden`, `connection_rejected` | 403 |
/// | `rpc_timeout` | 504 |
/// | `unavailable`, `connection_closed` | 503 |
/// | `internal_error` | 500 |
/// | an actor's own code (`counter.too_big`) | 400 |
///
/// ```
/// use flame_protocol::http_status;
///
/// assert_eq!(http_status("action_not_found"), 404);
/// assert_eq!(http_status("actor_destroyed"), 410);
/// assert_eq!(http_status("counter.too_big"), 400);
/// ```
pub fn http_status(code: &str) -> u16 {
    let Some(code) = ErrorCode::parse(code) else {
        return 400;
    };
    match code {
        ErrorCode::ActionNotFound | ErrorCode::ActorNotFound => 404,
        ErrorCode::ActorDestroyed => 410,
        ErrorCode::MalformedMessage
        | ErrorCode::InvalidArguments
        | ErrorCode::InvalidParams
        | ErrorCode::UnsupportedVersion
        | ErrorCode::LimitExceeded => 400,
        ErrorCode::MessageTooLong | ErrorCode::ParamsTooLong | ErrorCode::StorageLimit => 413,
        ErrorCode::Unauthorized => 401,
        ErrorCode::Forbidden | ErrorCode::ConnectionRejected => 403,
        ErrorCode::RpcTimeout => 504,
        ErrorCode::Unavailable | ErrorCode::ConnectionClosed => 503,
        ErrorCode::InternalError => 500,
    }
}

/// The WebSocket close code the server sends with a `close` message of `code`; the close
/// frame's reason is the code itself.
///
/// | code | close code |
/// |---|---|
/// | `actor_destroyed` | 1000 (normal) |
/// | `unavailable` | 1001 (going away) |
/// | `message_too_long` | 1009 (message too big) |
/// | `internal_error` | 1011 (internal error) |
/// | anything else (a refused connection) | 1008 (policy violation) |
///
/// ```
/// use flame_protocol::close_code;
///
/// assert_eq!(close_code("unavailable"), 1001);
/// assert_eq!(close_code("unauthorized"), 1008);
/// ```
pub fn close_code(code: &str) -> u16 {
    match ErrorCode::parse(code) {
        Some(ErrorCode::ActorDestroyed) => 1000,
        Some(ErrorCode::Unavailable) => 1001,
        Some(ErrorCode::MessageTooLong) => 1009,
        Some(ErrorCode::InternalError) => 1011,
        _ => 1008,
    }
}

/// Whether a client should reconnect after the server closed with `code`: yes for
/// `unavailable` (shutdown, restart), `internal_error`, `connection_closed` and
/// `message_too_long`; no for everything else (a destroyed actor, a refused connection, an
/// unknown kind), since trying again would get the same answer.
///
/// ```
/// use flame_protocol::is_transient;
///
/// assert!(is_transient("unavailable"));
/// assert!(!is_transient("unauthorized"));
/// assert!(!is_transient("actor_destroyed"));
/// ```
pub fn is_transient(code: &str) -> bool {
    matches!(
        ErrorCode::parse(code),
        Some(
            ErrorCode::Unavailable
                | ErrorCode::InternalError
                | ErrorCode::ConnectionClosed
                | ErrorCode::MessageTooLong
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_close_code() {
        for code in ErrorCode::ALL {
            let status = http_status(code.as_str());
            assert!((400..600).contains(&status), "{code}");
            let close = close_code(code.as_str());
            assert!((1000..=1011).contains(&close), "{code}");
        }
    }
}
