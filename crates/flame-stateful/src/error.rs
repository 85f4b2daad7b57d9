//! Errors: [`ActorError`] (raised by actors, shown to clients) and [`SystemError`] (raised by
//! the actor system to the program that runs it).

use std::borrow::Cow;

use crate::protocol::{ErrorCode, WireError};
use crate::store::{ActorId, StoreError};
use crate::versioned::StateError;

/// An error raised by an actor's hook or action.
///
/// A *public* error (made with [`new`](ActorError::new), [`unauthorized`](ActorError::unauthorized),
/// [`forbidden`](ActorError::forbidden)) reaches the client with its code and message. Any
/// other error ([`internal`](ActorError::internal), or one converted from `anyhow::Error` or
/// `serde_json::Error`) reaches it as `internal_error` with a generic message, and its details
/// go to the server log.
///
/// ```
/// use flame_stateful::ActorError;
///
/// let e = ActorError::new("counter.too_big", "the count may not pass 100");
/// assert_eq!((e.code(), e.message(), e.is_public()), ("counter.too_big", "the count may not pass 100", true));
///
/// let e: ActorError = anyhow::anyhow!("disk on fire").into();
/// assert_eq!((e.code(), e.is_public()), ("internal_error", false));
///
/// // and back: an ActorError is a std error, so anyhow takes it
/// let any: anyhow::Error = ActorError::forbidden("admins only").into();
/// let back: ActorError = any.into();
/// assert_eq!(back.code(), "forbidden");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ActorError {
    code: Cow<'static, str>,
    message: String,
    public: bool,
}

impl ActorError {
    /// A user error with a code of your own (namespace it: `"counter.too_big"`), shown to
    /// the client as it is.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            public: true,
        }
    }

    /// A user error with one of the built-in codes.
    pub fn with_code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code.as_str(), message)
    }

    /// `unauthorized`: the caller is not authenticated.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Unauthorized, message)
    }

    /// `forbidden`: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Forbidden, message)
    }

    /// An internal error: logged with its message, shown to clients as `internal_error`.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self {
            code: Cow::Borrowed(ErrorCode::InternalError.as_str()),
            message: message.to_string(),
            public: false,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message (for internal errors, only the server log sees it).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether clients see the code and message as they are.
    pub fn is_public(&self) -> bool {
        self.public
    }

    /// The error as a client sees it.
    ///
    /// ```
    /// use flame_stateful::ActorError;
    /// assert_eq!(ActorError::internal("secret").to_wire().message, "internal error");
    /// assert_eq!(ActorError::forbidden("no").to_wire().message, "no");
    /// ```
    pub fn to_wire(&self) -> WireError {
        if self.public {
            WireError {
                code: self.code.clone().into_owned(),
                message: self.message.clone(),
            }
        } else {
            WireError::internal()
        }
    }
}

impl From<anyhow::Error> for ActorError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<ActorError>() {
            Ok(actor_error) => actor_error,
            Err(e) => ActorError::internal(format!("{e:#}")),
        }
    }
}

impl From<serde_json::Error> for ActorError {
    fn from(e: serde_json::Error) -> Self {
        ActorError::internal(e)
    }
}

impl From<WireError> for ActorError {
    fn from(e: WireError) -> Self {
        ActorError::new(e.code, e.message)
    }
}

/// An error of the actor system itself, for the program that runs it.
///
/// ```
/// use flame_stateful::SystemError;
/// use flame_protocol::ErrorCode;
///
/// let e = SystemError::UnknownKind("nope".into());
/// assert_eq!(e.code(), ErrorCode::ActorNotFound);
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SystemError {
    /// No kind is registered under that name.
    #[error("no actor kind is registered as `{0}`")]
    UnknownKind(String),
    /// Two kinds were registered under the same name.
    #[error("the actor kind `{0}` is registered twice")]
    DuplicateKind(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor system is shutting down, or the actor could not be reached.
    #[error("the actor system is unavailable: {0}")]
    Unavailable(String),
    /// A stored state this code cannot read (see [`StateError`]), or a state given to
    /// [`ActorSystem::repair_state`](crate::ActorSystem::repair_state) that is not one.
    #[error(transparent)]
    State(#[from] StateError),
    /// The actor was destroyed.
    #[error("the actor {0} was destroyed")]
    Destroyed(ActorId),
    /// The actor has no stored state (it was never initialized, or not yet committed).
    #[error("the actor {0} has no stored state")]
    NoState(ActorId),
    /// No store was given and the embedded one (the `redb` feature) is not compiled in.
    #[error("no actor store: give one to the builder, or enable the `redb` feature")]
    NoStore,
}

impl SystemError {
    /// The protocol code that describes this error to a client.
    pub fn code(&self) -> ErrorCode {
        match self {
            SystemError::UnknownKind(_) => ErrorCode::ActorNotFound,
            SystemError::DuplicateKind(_) | SystemError::Store(_) | SystemError::NoStore => {
                ErrorCode::InternalError
            }
            SystemError::Unavailable(_) | SystemError::State(_) => ErrorCode::Unavailable,
            SystemError::Destroyed(_) => ErrorCode::ActorDestroyed,
            SystemError::NoState(_) => ErrorCode::ActorNotFound,
        }
    }
}
