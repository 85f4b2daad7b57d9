//! [`ReadFailure`]: what a failed read from a WebSocket client means, and how to close.

use tokio_tungstenite::tungstenite::{self, error::ProtocolError};

/// Why reading from a WebSocket client failed, classified once for every flame endpoint so
/// they all close the same way: RFC 6455 asks a server to say why it closes.
///
/// ```
/// use flame_actor::websocket::ReadFailure;
/// use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
///
/// let too_big = Error::Capacity(CapacityError::MessageTooLong { size: 70_000, max_size: 65_536 });
/// let failure = ReadFailure::from_error(&too_big);
/// assert_eq!(failure, ReadFailure::TooBig);
/// assert_eq!(failure.close_code(), Some(1009));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadFailure {
    /// A message or frame over `max_message_size`: closed with 1009; the rest of it is
    /// never read.
    TooBig,
    /// A text frame that is not UTF-8: closed with 1007.
    InvalidUtf8(String),
    /// A frame that breaks RFC 6455 (reserved bits, an unknown opcode, bad fragmentation,
    /// an oversized or fragmented control frame, an unmasked frame, a malformed close
    /// frame): closed with 1002.
    Protocol(String),
    /// The TCP connection ended or failed; there is nobody to tell.
    Lost(String),
}

impl ReadFailure {
    /// Classifies an error of the WebSocket implementation (tungstenite).
    ///
    /// ```
    /// use flame_actor::websocket::ReadFailure;
    /// use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
    ///
    /// let reset = Error::Protocol(ProtocolError::ResetWithoutClosingHandshake);
    /// assert!(matches!(ReadFailure::from_error(&reset), ReadFailure::Lost(_)));
    /// let rsv = Error::Protocol(ProtocolError::NonZeroReservedBits);
    /// assert_eq!(ReadFailure::from_error(&rsv).close_code(), Some(1002));
    /// ```
    pub fn from_error(error: &tungstenite::Error) -> Self {
        match error {
            tungstenite::Error::Capacity(_) => Self::TooBig,
            tungstenite::Error::Utf8(detail) => Self::InvalidUtf8(detail.clone()),
            // a dropped TCP connection, not a frame the client got wrong
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                Self::Lost(error.to_string())
            }
            tungstenite::Error::Protocol(violation) => Self::Protocol(violation.to_string()),
            other => Self::Lost(other.to_string()),
        }
    }

    /// The close code to send, `None` when the connection is already gone.
    ///
    /// ```
    /// use flame_actor::websocket::ReadFailure;
    ///
    /// assert_eq!(ReadFailure::InvalidUtf8("bad".into()).close_code(), Some(1007));
    /// assert_eq!(ReadFailure::Lost("reset".into()).close_code(), None);
    /// ```
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::TooBig => Some(1009),
            Self::InvalidUtf8(_) => Some(1007),
            Self::Protocol(_) => Some(1002),
            Self::Lost(_) => None,
        }
    }

    /// A short reason for the close frame (at most 123 bytes, as RFC 6455 allows).
    ///
    /// ```
    /// use flame_actor::websocket::ReadFailure;
    ///
    /// assert_eq!(ReadFailure::TooBig.close_reason(), "message too big");
    /// ```
    pub fn close_reason(&self) -> String {
        let reason = match self {
            Self::TooBig => return "message too big".to_owned(),
            Self::InvalidUtf8(detail) => format!("invalid UTF-8: {detail}"),
            Self::Protocol(detail) => format!("protocol error: {detail}"),
            Self::Lost(detail) => detail.clone(),
        };
        truncate_utf8(reason, 123)
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate_utf8(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_a_close_frame() {
        let long = ReadFailure::Protocol("é".repeat(200));
        let reason = long.close_reason();
        assert!(reason.len() <= 123);
        assert!(reason.starts_with("protocol error: "));
    }

    #[test]
    fn a_lost_connection_gets_no_close_frame() {
        let error = tungstenite::Error::ConnectionClosed;
        assert_eq!(ReadFailure::from_error(&error).close_code(), None);
    }
}
