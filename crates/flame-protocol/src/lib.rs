//! The wire protocol between clients and stateful actors: versioned JSON messages and the one
//! list of error codes.
//!
//! Every message is a JSON object with a version `v` (currently [`PROTOCOL_VERSION`]) and a
//! `type`. A client sends [`ClientMessage`]s:
//!
//! ```json
//! {"v":1,"type":"rpc","id":7,"method":"increment","args":[1]}
//! {"v":1,"type":"subscribe","event":"count"}
//! {"v":1,"type":"unsubscribe","event":"count"}
//! ```
//!
//! and receives [`ServerMessage`]s:
//!
//! ```json
//! {"v":1,"type":"init","conn_id":3}
//! {"v":1,"type":"rpc_ok","id":7,"output":42}
//! {"v":1,"type":"rpc_error","id":7,"code":"invalid_arguments","message":"..."}
//! {"v":1,"type":"event","event":"count","payload":{"count":42}}
//! {"v":1,"type":"error","code":"malformed_message","message":"..."}
//! {"v":1,"type":"close","code":"actor_destroyed","reason":"the actor was destroyed"}
//! ```
//!
//! The transport (WebSocket, HTTP) only moves these messages; the runtime produces and
//! consumes them as Rust values, so in-process clients never pay for JSON text.

mod codes;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::codes::{close_code, http_status, is_transient};

/// The protocol version this runtime speaks; every message carries it as `v`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request target (path and query: `/actors/{name}/{key}?params=...`) flame's
/// HTTP server reads, in bytes: hyper's fixed limit. A longer one is refused with a bare
/// `414 URI Too Long` before any WebSocket handshake, so the protocol cannot answer it with
/// `params_too_long`; flame's clients therefore refuse such params themselves, with that
/// code, before connecting. Params under this but over `ActorConfig::max_params_size` reach
/// the server and are refused there with the same code.
///
/// ```
/// assert_eq!(flame_protocol::MAX_REQUEST_TARGET, 65_534);
/// ```
pub const MAX_REQUEST_TARGET: usize = 65_534;

/// The stable error codes a client can see, in one place.
///
/// Codes travel as snake_case strings; a user error raised by an actor may carry a code of its
/// own (`flame_stateful::ActorError::new`), which is why [`WireError::code`] is a string.
///
/// ```
/// use flame_protocol::ErrorCode;
///
/// assert_eq!(ErrorCode::ActionNotFound.as_str(), "action_not_found");
/// assert_eq!(ErrorCode::parse("actor_destroyed"), Some(ErrorCode::ActorDestroyed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The actor has no action (RPC method) of that name.
    ActionNotFound,
    /// The message is not valid JSON or not a known message shape.
    MalformedMessage,
    /// The message is longer than `ActorConfig::max_message_size`.
    MessageTooLong,
    /// The caller is not authenticated.
    Unauthorized,
    /// The caller is authenticated but not allowed.
    Forbidden,
    /// No actor kind is registered under that name.
    ActorNotFound,
    /// The actor was destroyed; its key can never come back.
    ActorDestroyed,
    /// The action did not finish within `ActorConfig::rpc_timeout`.
    RpcTimeout,
    /// Something went wrong inside the runtime or the actor; details are in the server log.
    InternalError,
    /// The arguments of an action have the wrong count or types.
    InvalidArguments,
    /// `on_before_connect` or `on_connect` refused the connection.
    ConnectionRejected,
    /// The connection parameters are longer than `ActorConfig::max_params_size`.
    ParamsTooLong,
    /// The connection parameters do not deserialize into the actor's `ConnParams`.
    InvalidParams,
    /// The message's `v` is not a version this runtime speaks.
    UnsupportedVersion,
    /// The connection is closed (or unknown to the actor).
    ConnectionClosed,
    /// The actor system is shutting down or the actor could not be started.
    Unavailable,
    /// A connection reached a limit on what it may hold on the server: more subscriptions
    /// than `ActorConfig::max_subscriptions`, or an event name longer than
    /// `ActorConfig::max_event_name_size`. The message is refused; the connection stays.
    LimitExceeded,
    /// A write to an actor's storage exceeds one of its limits (the size of a key or a
    /// value, the writes or bytes of one turn).
    StorageLimit,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::ActionNotFound,
        ErrorCode::MalformedMessage,
        ErrorCode::MessageTooLong,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::ActorNotFound,
        ErrorCode::ActorDestroyed,
        ErrorCode::RpcTimeout,
        ErrorCode::InternalError,
        ErrorCode::InvalidArguments,
        ErrorCode::ConnectionRejected,
        ErrorCode::ParamsTooLong,
        ErrorCode::InvalidParams,
        ErrorCode::UnsupportedVersion,
        ErrorCode::ConnectionClosed,
        ErrorCode::Unavailable,
        ErrorCode::LimitExceeded,
        ErrorCode::StorageLimit,
    ];

    /// The code as it appears on the wire.
    ///
    /// ```
    /// assert_eq!(flame_protocol::ErrorCode::RpcTimeout.as_str(), "rpc_timeout");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ActionNotFound => "action_not_found",
            ErrorCode::MalformedMessage => "malformed_message",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ActorNotFound => "actor_not_found",
            ErrorCode::ActorDestroyed => "actor_destroyed",
            ErrorCode::RpcTimeout => "rpc_timeout",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::InvalidArguments => "invalid_arguments",
            ErrorCode::ConnectionRejected => "connection_rejected",
            ErrorCode::ParamsTooLong => "params_too_long",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::ConnectionClosed => "connection_closed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::StorageLimit => "storage_limit",
        }
    }

    /// The built-in code spelled `code`, if there is one.
    ///
    /// ```
    /// use flame_protocol::ErrorCode;
    /// assert_eq!(ErrorCode::parse("forbidden"), Some(ErrorCode::Forbidden));
    /// assert_eq!(ErrorCode::parse("counter.too_big"), None);
    /// ```
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a client sees it: a stable code and a message meant for people.
///
/// Internal errors reach clients as `internal_error` with a generic message; the details go to
/// the server log.
///
/// ```
/// use flame_protocol::{ErrorCode, WireError};
///
/// let e = WireError::new(ErrorCode::ActionNotFound, "no action `nope`");
/// assert!(e.is(ErrorCode::ActionNotFound));
/// assert_eq!(e.to_string(), "action_not_found: no action `nope`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct WireError {
    /// A code from [`ErrorCode`] or one chosen by the actor for its own user errors.
    pub code: String,
    /// A message for people.
    pub message: String,
}

impl WireError {
    /// An error with a built-in code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// Whether this error carries the built-in `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code.as_str()
    }

    /// The `internal_error` every client sees when something failed inside the server: the
    /// details stay in the server's log.
    ///
    /// ```
    /// use flame_protocol::{ErrorCode, WireError};
    /// assert!(WireError::internal().is(ErrorCode::InternalError));
    /// ```
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "internal error")
    }
}

/// A message from a client to an actor.
///
/// ```
/// use flame_protocol::ClientMessage;
///
/// let msg = ClientMessage::decode(r#"{"v":1,"type":"rpc","id":7,"method":"increment","args":[1]}"#, 65536)?;
/// assert_eq!(
///     msg,
///     ClientMessage::Rpc { id: 7, method: "increment".into(), args: vec![serde_json::json!(1)] }
/// );
/// # Ok::<(), flame_protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Call an action; the answer is an `rpc_ok` or `rpc_error` with the same `id`.
    Rpc {
        /// Chosen by the client to match the answer to the call.
        id: u64,
        /// The action's name.
        method: String,
        /// Positional arguments; missing or `null` means none, as for the HTTP RPC's body.
        #[serde(default, deserialize_with = "null_as_no_args")]
        args: Vec<Value>,
    },
    /// Receive the events of that name from now on.
    Subscribe {
        /// The event's name.
        event: String,
    },
    /// Stop receiving the events of that name.
    Unsubscribe {
        /// The event's name.
        event: String,
    },
}

/// `args: null` reads as no arguments, so that a WebSocket call and an HTTP call (whose
/// `null` body is no arguments) accept the same input.
fn null_as_no_args<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Serialize, Deserialize)]
struct Envelope<M> {
    v: u32,
    #[serde(flatten)]
    body: M,
}

#[derive(Serialize)]
struct EnvelopeRef<'a, M> {
    v: u32,
    #[serde(flatten)]
    body: &'a M,
}

/// Why an incoming text could not be turned into a [`ClientMessage`].
///
/// The transport answers with [`ProtocolError::to_server_message`] and keeps the connection.
///
/// ```
/// use flame_protocol::{ClientMessage, ErrorCode};
///
/// let err = ClientMessage::decode(r#"{"v":1,"type":"rpc","id":3}"#, 65536).unwrap_err();
/// assert_eq!(err.code, ErrorCode::MalformedMessage);
/// assert_eq!(err.id, Some(3));
/// let err = ClientMessage::decode(&"x".repeat(100), 10).unwrap_err();
/// assert_eq!(err.code, ErrorCode::MessageTooLong);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProtocolError {
    /// `malformed_message`, `message_too_long` or `unsupported_version`.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
    /// The RPC id, when one could be read from the message.
    pub id: Option<u64>,
}

impl ProtocolError {
    /// The message to send back: an `rpc_error` when the RPC id is known, an `error` otherwise.
    pub fn to_server_message(&self) -> ServerMessage {
        match self.id {
            Some(id) => ServerMessage::RpcError {
                id,
                code: self.code.as_str().to_owned(),
                message: self.message.clone(),
            },
            None => ServerMessage::Error {
                code: self.code.as_str().to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl ClientMessage {
    /// Parses one text message, checking its length (in bytes) and version first.
    ///
    /// # Errors
    ///
    /// `message_too_long`, `malformed_message` or `unsupported_version`.
    pub fn decode(text: &str, max_len: usize) -> Result<ClientMessage, ProtocolError> {
        if text.len() > max_len {
            return Err(ProtocolError {
                code: ErrorCode::MessageTooLong,
                message: format!("message is {} bytes, the limit is {max_len}", text.len()),
                id: None,
            });
        }
        match serde_json::from_str::<Envelope<ClientMessage>>(text) {
            Ok(env) if env.v == PROTOCOL_VERSION => {
                type_is_a_string(text, &env.body)?;
                Ok(env.body)
            }
            Ok(env) => Err(ProtocolError {
                code: ErrorCode::UnsupportedVersion,
                message: format!(
                    "protocol version {} is not supported, use {PROTOCOL_VERSION}",
                    env.v
                ),
                id: rpc_id(&env.body),
            }),
            Err(e) => {
                let value: Option<Value> = serde_json::from_str(text).ok();
                let id = value
                    .as_ref()
                    .and_then(|v| v.get("id"))
                    .and_then(Value::as_u64);
                let version = value
                    .as_ref()
                    .and_then(|v| v.get("v"))
                    .and_then(Value::as_u64);
                let (code, message) = match version {
                    Some(v) if v != u64::from(PROTOCOL_VERSION) => (
                        ErrorCode::UnsupportedVersion,
                        format!("protocol version {v} is not supported, use {PROTOCOL_VERSION}"),
                    ),
                    _ => (ErrorCode::MalformedMessage, e.to_string()),
                };
                Err(ProtocolError { code, message, id })
            }
        }
    }

    /// The message as JSON text, with its version.
    ///
    /// ```
    /// use flame_protocol::ClientMessage;
    /// let text = ClientMessage::Subscribe { event: "count".into() }.encode();
    /// assert_eq!(text, r#"{"v":1,"type":"subscribe","event":"count"}"#);
    /// ```
    pub fn encode(&self) -> String {
        encode(self)
    }
}

/// serde takes a number for an enum's tag as the variant's index (`"type":0` would be an
/// `rpc`), which the protocol does not define and a fuzzer found; a second pass that skips
/// every value but `type` (no allocation for a string without escapes) refuses it.
fn type_is_a_string(text: &str, body: &ClientMessage) -> Result<(), ProtocolError> {
    #[derive(Deserialize)]
    struct TypeProbe<'a> {
        #[serde(rename = "type", borrow)]
        _kind: std::borrow::Cow<'a, str>,
    }
    match serde_json::from_str::<TypeProbe<'_>>(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(ProtocolError {
            code: ErrorCode::MalformedMessage,
            message: format!("`type` must be a string: {e}"),
            id: rpc_id(body),
        }),
    }
}

fn rpc_id(msg: &ClientMessage) -> Option<u64> {
    match msg {
        ClientMessage::Rpc { id, .. } => Some(*id),
        _ => None,
    }
}

fn encode<M: Serialize>(body: &M) -> String {
    let env = EnvelopeRef {
        v: PROTOCOL_VERSION,
        body,
    };
    match serde_json::to_string(&env) {
        Ok(text) => text,
        Err(_) => {
            // Only a map with non-string keys inside a payload can get here, and payloads are
            // `serde_json::Value`s, whose keys are strings: this branch is never taken.
            String::from(
                r#"{"v":1,"type":"error","code":"internal_error","message":"internal error"}"#,
            )
        }
    }
}

/// A message from an actor to a client.
///
/// ```
/// use flame_protocol::ServerMessage;
///
/// let text = ServerMessage::RpcOk { id: 7, output: serde_json::json!(42) }.encode();
/// assert_eq!(text, r#"{"v":1,"type":"rpc_ok","id":7,"output":42}"#);
/// assert_eq!(ServerMessage::decode(&text)?, ServerMessage::RpcOk { id: 7, output: 42.into() });
/// # Ok::<(), flame_protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The first message of a connection, once it is accepted.
    Init {
        /// The connection's id, unique within the actor system.
        conn_id: u64,
    },
    /// An action succeeded.
    RpcOk {
        /// The id of the `rpc` message.
        id: u64,
        /// What the action returned.
        output: Value,
    },
    /// An action failed.
    RpcError {
        /// The id of the `rpc` message.
        id: u64,
        /// A stable code ([`ErrorCode`] or the actor's own).
        code: String,
        /// A message for people.
        message: String,
    },
    /// An event the connection subscribed to, or one sent to it directly.
    Event {
        /// The event's name.
        event: String,
        /// Its payload.
        payload: Value,
    },
    /// An error not tied to an RPC (a malformed message, say).
    Error {
        /// A stable code.
        code: String,
        /// A message for people.
        message: String,
    },
    /// The actor closes the connection; nothing follows.
    Close {
        /// Why, as a stable code.
        code: String,
        /// Why, for people.
        reason: String,
    },
}

impl ServerMessage {
    /// The message as JSON text, with its version.
    pub fn encode(&self) -> String {
        encode(self)
    }

    /// Parses a server message (for clients).
    ///
    /// # Errors
    ///
    /// `malformed_message` or `unsupported_version`.
    pub fn decode(text: &str) -> Result<ServerMessage, ProtocolError> {
        let env: Envelope<ServerMessage> =
            serde_json::from_str(text).map_err(|e| ProtocolError {
                code: ErrorCode::MalformedMessage,
                message: e.to_string(),
                id: None,
            })?;
        if env.v != PROTOCOL_VERSION {
            return Err(ProtocolError {
                code: ErrorCode::UnsupportedVersion,
                message: format!("protocol version {} is not supported", env.v),
                id: None,
            });
        }
        Ok(env.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_client_message() {
        for msg in [
            ClientMessage::Rpc {
                id: 1,
                method: "m".into(),
                args: vec![json!(1), json!("x")],
            },
            ClientMessage::Subscribe { event: "e".into() },
            ClientMessage::Unsubscribe { event: "e".into() },
        ] {
            assert_eq!(ClientMessage::decode(&msg.encode(), 1024), Ok(msg));
        }
    }

    #[test]
    fn missing_args_mean_none() {
        let msg = ClientMessage::decode(r#"{"v":1,"type":"rpc","id":1,"method":"m"}"#, 1024);
        assert_eq!(
            msg,
            Ok(ClientMessage::Rpc {
                id: 1,
                method: "m".into(),
                args: vec![]
            })
        );
    }

    #[test]
    fn wrong_version_is_reported() {
        let err =
            ClientMessage::decode(r#"{"v":2,"type":"rpc","id":4,"method":"m"}"#, 1024).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsupportedVersion);
        assert_eq!(err.id, Some(4));
        let err = ClientMessage::decode(r#"{"v":9,"type":"hello"}"#, 1024).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsupportedVersion);
    }

    #[test]
    fn garbage_is_malformed() {
        for text in ["", "nope", "[]", r#"{"v":1}"#, r#"{"v":1,"type":"rpc"}"#] {
            let err = ClientMessage::decode(text, 1024).unwrap_err();
            assert_eq!(err.code, ErrorCode::MalformedMessage, "{text}");
        }
    }

    #[test]
    fn every_code_parses_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                json!(code.as_str()),
                "serde and as_str agree"
            );
        }
    }

    #[test]
    fn server_messages_round_trip() {
        for msg in [
            ServerMessage::Init { conn_id: 3 },
            ServerMessage::RpcOk {
                id: 1,
                output: json!({"a": 1}),
            },
            ServerMessage::RpcError {
                id: 1,
                code: "x".into(),
                message: "y".into(),
            },
            ServerMessage::Event {
                event: "e".into(),
                payload: json!([1]),
            },
            ServerMessage::Error {
                code: "x".into(),
                message: "y".into(),
            },
            ServerMessage::Close {
                code: ErrorCode::ActorDestroyed.as_str().to_owned(),
                reason: "gone".into(),
            },
        ] {
            assert_eq!(ServerMessage::decode(&msg.encode()), Ok(msg));
        }
    }

    /// The "Messages" table of `docs/src/actor-protocol.md`, row by row: what each input
    /// decodes to, or the code it is refused with (and whether the answer can carry the id).
    #[test]
    fn the_documented_input_rules_hold() {
        let ok = |text: &str| ClientMessage::decode(text, 65536).expect(text);
        let refused = |text: &str| {
            let e = ClientMessage::decode(text, 65536).expect_err(text);
            (e.code, e.id)
        };
        let call = |args: Vec<Value>| ClientMessage::Rpc {
            id: 7,
            method: "m".into(),
            args,
        };
        // `v`: an integer; missing or of another type is malformed, another number unsupported
        for text in [
            r#"{"type":"rpc","id":7,"method":"m"}"#,
            r#"{"v":"1","type":"rpc","id":7,"method":"m"}"#,
            r#"{"v":1.5,"type":"rpc","id":7,"method":"m"}"#,
            r#"{"v":null,"type":"rpc","id":7,"method":"m"}"#,
        ] {
            assert_eq!(
                refused(text),
                (ErrorCode::MalformedMessage, Some(7)),
                "{text}"
            );
        }
        assert_eq!(
            refused(r#"{"v":2,"type":"rpc","id":7,"method":"m"}"#),
            (ErrorCode::UnsupportedVersion, Some(7))
        );
        // `id`: an unsigned 64-bit integer; anything else is malformed, with no id to answer
        assert_eq!(
            ok(r#"{"v":1,"type":"rpc","id":7,"method":"m"}"#),
            call(vec![])
        );
        assert!(matches!(
            ok(&format!(
                r#"{{"v":1,"type":"rpc","id":{},"method":"m"}}"#,
                u64::MAX
            )),
            ClientMessage::Rpc { id: u64::MAX, .. }
        ));
        for id in [r#""7""#, "-1", "7.5", "null", "18446744073709551616"] {
            let text = format!(r#"{{"v":1,"type":"rpc","id":{id},"method":"m"}}"#);
            assert_eq!(
                refused(&text),
                (ErrorCode::MalformedMessage, None),
                "{text}"
            );
        }
        // `type`: a string; a number (or an unknown name) is malformed
        for ty in ["0", "1", r#""call""#] {
            let text = format!(r#"{{"v":1,"type":{ty},"id":7,"method":"m"}}"#);
            assert_eq!(refused(&text).0, ErrorCode::MalformedMessage, "{text}");
        }
        // `args`: missing or null is none, as over HTTP; not an array is malformed
        assert_eq!(
            ok(r#"{"v":1,"type":"rpc","id":7,"method":"m","args":null}"#),
            call(vec![])
        );
        assert_eq!(
            ok(r#"{"v":1,"type":"rpc","id":7,"method":"m","args":[1]}"#),
            call(vec![json!(1)])
        );
        assert_eq!(
            refused(r#"{"v":1,"type":"rpc","id":7,"method":"m","args":{"a":1}}"#),
            (ErrorCode::MalformedMessage, Some(7))
        );
    }
}
