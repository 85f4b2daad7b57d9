//! Versioned state: the version an actor's state is stored with, and the migration of older
//! stored forms when it is loaded.
//!
//! The stored bytes of a state are its JSON, preceded for versions above 1 by a header
//! `\0v{version}\n`. JSON never starts with a NUL byte, so plain JSON reads unambiguously as
//! version 1: what was stored before versions existed loads unchanged, and a version-1 actor
//! still writes exactly what it wrote before. Stores keep the bytes as they are; none of them
//! needs to know about versions.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

use crate::actor::StatefulActor;
use crate::store::ActorId;

const MAGIC: &[u8] = b"\0v";
/// `\0v`, at most 10 digits, `\n`.
const MAX_HEADER: usize = 13;

/// A stored state could not be read by this code.
///
/// The actor's key stays unavailable (callers get `unavailable`) until the state is repaired
/// with [`ActorSystem::repair_state`](crate::ActorSystem::repair_state); the error names the
/// actor, the stored version and what went wrong.
///
/// ```
/// use flame_stateful::StateError;
/// use flame_stateful::store::ActorId;
///
/// let e = StateError::Newer { actor: ActorId::new("doc", "a"), stored: 4, current: 3 };
/// assert_eq!(
///     e.to_string(),
///     "the stored state of doc/a is version 4, newer than this code's version 3: refused"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The bytes start like a version header but are not one.
    #[error("the stored state of {actor} has a corrupt version header")]
    BadHeader {
        /// Whose state.
        actor: ActorId,
    },
    /// Stored by newer code: reading it with this code could lose what it does not know.
    #[error(
        "the stored state of {actor} is version {stored}, newer than this code's version {current}: refused"
    )]
    Newer {
        /// Whose state.
        actor: ActorId,
        /// The version it is stored as.
        stored: u32,
        /// [`StatefulActor::STATE_VERSION`].
        current: u32,
    },
    /// The state does not deserialize as its version's type (or is not JSON at all).
    #[error("the stored state of {actor} (version {stored}) does not deserialize: {error}")]
    Unreadable {
        /// Whose state.
        actor: ActorId,
        /// The version it is stored as.
        stored: u32,
        /// The serde error.
        error: String,
    },
    /// [`StatefulActor::migrate`] failed (returned an error or panicked), or what it made
    /// does not serialize and read back.
    #[error(
        "the stored state of {actor} (version {stored}) could not be migrated to version {current}: {error}"
    )]
    MigrationFailed {
        /// Whose state.
        actor: ActorId,
        /// The version it is stored as.
        stored: u32,
        /// [`StatefulActor::STATE_VERSION`].
        current: u32,
        /// What went wrong.
        error: String,
    },
}

/// Appends the header of `version` to `buf` (nothing for version 1).
pub(crate) fn write_header(version: u32, buf: &mut Vec<u8>) {
    if version != 1 {
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(version.to_string().as_bytes());
        buf.push(b'\n');
    }
}

/// The version stored bytes carry and their JSON; `None` for a corrupt header.
pub(crate) fn split(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Some((1, bytes));
    };
    let end = rest
        .iter()
        .take(MAX_HEADER - MAGIC.len())
        .position(|b| *b == b'\n')?;
    let version: u32 = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    (version >= 1).then(|| (version, &rest[end + 1..]))
}

/// Serializes `state` as stored at `version` into `buf` and checks that it reads back: a
/// state that serializes but cannot be loaded again (a NaN float becomes `null`, say) would
/// make the key impossible to load once committed, so such a change is refused instead.
pub(crate) fn serialize_state<S>(
    version: u32,
    state: &S,
    buf: &mut Vec<u8>,
) -> Result<(), serde_json::Error>
where
    S: serde::Serialize + serde::de::DeserializeOwned,
{
    write_header(version, buf);
    let start = buf.len();
    serde_json::to_writer(&mut *buf, state)?;
    serde_json::from_slice::<S>(&buf[start..]).map(drop)
}

/// The state in stored bytes of the current version (the ledger's snapshot).
pub(crate) fn read_current<A: StatefulActor>(bytes: &[u8]) -> Result<A::State, String> {
    match split(bytes) {
        Some((version, json)) if version == A::STATE_VERSION => {
            serde_json::from_slice(json).map_err(|e| e.to_string())
        }
        _ => Err(String::from("the snapshot is not of the current version")),
    }
}

/// A stored state as loaded.
#[derive(Debug)]
pub(crate) struct Decoded<S> {
    pub(crate) state: S,
    /// The stored bytes, or, after a migration, the migrated state as it is to be stored.
    pub(crate) bytes: Vec<u8>,
    /// A migration ran: `bytes` must be written before anything the actor does is released.
    pub(crate) migrated: bool,
}

/// Reads stored bytes as `A`'s state, migrating an older version.
pub(crate) fn decode<A: StatefulActor>(
    id: &ActorId,
    bytes: &[u8],
) -> Result<Decoded<A::State>, StateError> {
    let current = A::STATE_VERSION;
    let (stored, json) = split(bytes).ok_or_else(|| StateError::BadHeader { actor: id.clone() })?;
    let unreadable = |e: serde_json::Error| StateError::Unreadable {
        actor: id.clone(),
        stored,
        error: e.to_string(),
    };
    if stored > current {
        return Err(StateError::Newer {
            actor: id.clone(),
            stored,
            current,
        });
    }
    if stored == current {
        let state = serde_json::from_slice(json).map_err(unreadable)?;
        return Ok(Decoded {
            state,
            bytes: bytes.to_vec(),
            migrated: false,
        });
    }
    let value: Value = serde_json::from_slice(json).map_err(unreadable)?;
    let failed = |error: String| StateError::MigrationFailed {
        actor: id.clone(),
        stored,
        current,
        error,
    };
    let state = match catch_unwind(AssertUnwindSafe(|| A::migrate(stored, value))) {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return Err(failed(e.to_string())),
        Err(panic) => return Err(failed(format!("panicked: {}", panic_message(&panic)))),
    };
    let mut out = Vec::new();
    serialize_state(current, &state, &mut out).map_err(|e| failed(e.to_string()))?;
    tracing::info!(actor = %id, from = stored, to = current, "migrated the stored state");
    Ok(Decoded {
        state,
        bytes: out,
        migrated: true,
    })
}

/// Checks that `value` is a state of `A`'s current version; returns it as stored.
pub(crate) fn encode_value<A: StatefulActor>(
    id: &ActorId,
    value: Value,
) -> Result<Vec<u8>, StateError> {
    let current = A::STATE_VERSION;
    let invalid = |e: serde_json::Error| StateError::Unreadable {
        actor: id.clone(),
        stored: current,
        error: e.to_string(),
    };
    let state: A::State = serde_json::from_value(value).map_err(invalid)?;
    let mut out = Vec::new();
    serialize_state(current, &state, &mut out).map_err(invalid)?;
    Ok(out)
}

/// Checks that stored bytes load (migrating them if needed, without writing anything).
pub(crate) fn check<A: StatefulActor>(id: &ActorId, bytes: &[u8]) -> Result<(), StateError> {
    decode::<A>(id, bytes).map(drop)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_is_version_1_and_headers_round_trip() {
        assert_eq!(split(b"{\"a\":1}"), Some((1, b"{\"a\":1}".as_slice())));
        let mut buf = Vec::new();
        write_header(1, &mut buf);
        assert!(buf.is_empty(), "version 1 is stored as plain JSON");
        write_header(42, &mut buf);
        buf.extend_from_slice(b"[1]");
        assert_eq!(buf, b"\0v42\n[1]");
        assert_eq!(split(&buf), Some((42, b"[1]".as_slice())));
    }

    #[test]
    fn a_corrupt_header_is_no_version() {
        for bad in [
            b"\0v".as_slice(),
            b"\0vx\n{}",
            b"\0v0\n{}",
            b"\0v99999999999\n{}",
        ] {
            assert_eq!(split(bad), None, "{bad:?}");
        }
        let mut max = Vec::new();
        write_header(u32::MAX, &mut max);
        assert_eq!(split(&max), Some((u32::MAX, b"".as_slice())));
    }
}
