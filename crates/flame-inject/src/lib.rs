//! A `TypeId`-keyed dependency injector, the soul of flame.
//!
//! This crate is flame's small, stable core, in the way `inject` is Flamego's: it knows
//! nothing about HTTP. Values are mapped by their concrete type (or by a trait-object
//! type with [`Injector::map_to`]); a child injector falls back to its parent; a callable
//! is [invoked](Injector::invoke) with each argument looked up by type.
//!
//! ```
//! use flame_inject::Injector;
//!
//! #[derive(Clone)]
//! struct Greeting(&'static str);
//!
//! let mut injector = Injector::new();
//! injector.map(Greeting("hello"));
//! let said = injector.invoke(|g: Greeting| g.0.len());
//! assert_eq!(said, 5);
//! ```
//!
//! # Contents
//!
//! - [`Injector`]: `map`, `map_to`, `get`, parents, `invoke` (in `injector.rs`), and
//!   [`Invoke`] / [`Injectable`], what can be invoked and injected.
//! - [`Key`] and [`Slot`]: keyed values, for when one type is needed twice (two `String`
//!   settings), in `key.rs`.
//! - [`ServiceConstructor`]: `#[service]` constructors collected at link time with
//!   `inventory`, mapped by [`Injector::map_services`] (in `service.rs`).
//! - [`InjectError`]: whose text follows Flamego's "value not found for type X" panic
//!   (in `error.rs`).
//! - `type_map.rs`: the identity-hashed map behind it all, private.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

mod error;
mod injector;
mod key;
mod service;
mod type_map;

pub use error::InjectError;
pub use injector::{Injectable, Injector, Invoke};
pub use key::{Key, Slot};
pub use service::ServiceConstructor;

#[doc(hidden)]
pub mod __private {
    pub use inventory;

    // flame-core's startup check words handler positions exactly as `InjectError` does;
    // one spelling of the English ordinals keeps the two messages in step.
    pub use crate::error::ordinal;
}
