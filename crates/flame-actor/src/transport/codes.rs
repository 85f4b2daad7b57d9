//! How protocol error codes map onto the transports: HTTP statuses, WebSocket close codes,
//! and which closes a client should retry.

use http::StatusCode;

use crate::protocol::ErrorCode;

/// The HTTP status of an error code, for the stateless HTTP RPC.
///
/// | code | status |
/// |---|---|
/// | `action_not_found`, `actor_not_found` | 404 |
/// | `actor_destroyed` | 410 |
/// | `malformed_message`, `invalid_arguments`, `invalid_params`, `unsupported_version` | 400 |
/// | `message_too_long`, `params_too_long` | 413 |
/// | `unauthorized` | 401 |
/// | `forbidden`, `connection_rejected` | 403 |
/// | `rpc_timeout` | 504 |
/// | `unavailable`, `connection_closed` | 503 |
/// | `internal_error` | 500 |
/// | an actor's own code (`counter.too_big`) | 400 |
///
/// ```
/// use flame_actor::transport::http_status;
///
/// assert_eq!(http_status("action_not_found").as_u16(), 404);
/// assert_eq!(http_status("actor_destroyed").as_u16(), 410);
/// assert_eq!(http_status("counter.too_big").as_u16(), 400);
/// ```
pub fn http_status(code: &str) -> StatusCode {
    let Some(code) = ErrorCode::parse(code) else {
        return StatusCode::BAD_REQUEST;
    };
    match code {
        ErrorCode::ActionNotFound | ErrorCode::ActorNotFound => StatusCode::NOT_FOUND,
        ErrorCode::ActorDestroyed => StatusCode::GONE,
        ErrorCode::MalformedMessage
        | ErrorCode::InvalidArguments
        | ErrorCode::InvalidParams
        | ErrorCode::UnsupportedVersion => StatusCode::BAD_REQUEST,
        ErrorCode::MessageTooLong | ErrorCode::ParamsTooLong => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::ConnectionRejected => StatusCode::FORBIDDEN,
        ErrorCode::RpcTimeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::Unavailable | ErrorCode::ConnectionClosed => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
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
/// use flame_actor::transport::close_code;
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
/// use flame_actor::transport::is_transient;
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
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
            let close = close_code(code.as_str());
            assert!((1000..=1011).contains(&close), "{code}");
        }
    }
}
