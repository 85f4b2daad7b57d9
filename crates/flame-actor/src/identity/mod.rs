//! Actors as identity: who is executing a piece of work.
//!
//! In flame, as in Flamigo, everything happens through an [`Actor`]: the backend itself, a
//! WebSocket connection, an authenticated user, an API token. The current actor travels with
//! the work, so services can ask who triggered them and adapt.

mod actor;

pub use actor::{Actor, CurrentActor};
