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
//! # Modules
//!
//! - [`injector`]: the [`Injector`] itself: `map`, `map_to`, `get`, parents, `invoke`.
//! - [`key`]: [`Key`] slots, for when one type is needed twice (two `String` settings).
//! - [`service`]: `#[service]` constructors collected at link time with `inventory`.
//! - [`error`]: [`InjectError`], whose text follows Flamego's
//!   "value not found for type X" panic, and [`ordinal`] for its English ordinals.
//! - [`type_map`]: the identity-hashed map behind it all.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

pub mod error;
pub mod injector;
pub mod key;
pub mod service;
pub mod type_map;

pub use error::{InjectError, ordinal};
pub use injector::{Injectable, Injector, Invoke};
pub use key::{Key, Slot};
pub use service::ServiceConstructor;
pub use type_map::TypeMap;

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
