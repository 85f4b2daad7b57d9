//! flame's actors.
//!
//! - [`identity`]: actors as identity, in the manner of Flamigo: [`Actor`], [`CurrentActor`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod identity;

pub use identity::{Actor, CurrentActor};
