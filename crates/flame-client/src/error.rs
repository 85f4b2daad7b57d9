//! [`ClientError`]: what can go wrong for a client, with the protocol's codes.

use flame_protocol::{ErrorCode, WireError};

/// An error seen by the Rust client.
///
/// Errors that come from the server carry its stable code ([`ClientError::code`]).
///
/// ```
/// use flame_client::ClientError;
/// use flame_protocol::{ErrorCode, WireError};
///
/// let e = ClientError::Rpc(WireError::new(ErrorCode::ActionNotFound, "no action `nope`"));
/// assert_eq!(e.code(), Some("action_not_found"));
/// assert!(e.is(ErrorCode::ActionNotFound));
/// assert_eq!(e.to_string(), "action_not_found: no action `nope`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the connection (`on_before_connect` failed, params too long, an
    /// unknown kind, a destroyed actor): the `close` it sent before `init`.
    #[error("the connection was refused: {0}")]
    Rejected(WireError),
    /// The action failed: the `rpc_error` the server sent.
    #[error("{0}")]
    Rpc(WireError),
    /// The connection is closed for good (or was lost while the call was in flight; such a
    /// call may or may not have run and is not retried).
    #[error("the connection is closed: {0}")]
    Closed(WireError),
    /// The server could not be reached, or the WebSocket handshake failed.
    #[error("could not connect: {0}")]
    Connect(String),
    /// No answer within `ClientConfig::rpc_timeout`.
    #[error("no answer within the client's timeout")]
    Timeout,
    /// Arguments that do not serialize, or an output that does not deserialize into the
    /// type asked for.
    #[error("could not convert a value: {0}")]
    Convert(String),
}

impl ClientError {
    /// The protocol code, when the error came from the server (or stands for one:
    /// [`Timeout`](ClientError::Timeout) is `rpc_timeout`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected(e) | ClientError::Rpc(e) | ClientError::Closed(e) => {
                Some(&e.code)
            }
            ClientError::Timeout => Some(ErrorCode::RpcTimeout.as_str()),
            ClientError::Connect(_) | ClientError::Convert(_) => None,
        }
    }

    /// Whether the error carries the built-in `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code.as_str())
    }

    pub(crate) fn closed() -> Self {
        ClientError::Closed(WireError::new(
            ErrorCode::ConnectionClosed,
            "the connection is closed",
        ))
    }
}
