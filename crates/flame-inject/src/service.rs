//! Services registered from anywhere in the program, collected at link time.
//!
//! `#[service]` (from `flame-macros`, re-exported by `flame-core`) turns a constructor into a
//! [`ServiceConstructor`] submitted with `inventory`; [`Injector::map_services`] maps every
//! one of them, and `flame_core::Flame::new()` calls it for you.
//!
//! # The linker caveat
//!
//! A crate that nothing in the final binary references can be left out by the linker, and its
//! services with it. If services live in a crate of their own, reference it from `main`:
//! `use my_services as _;`.

use crate::Injector;

/// A constructor that maps one service into an injector.
///
/// ```
/// use flame_inject::{Injector, ServiceConstructor};
///
/// #[derive(Clone)]
/// struct Clock(u64);
///
/// flame_inject::__private::inventory::submit! {
///     ServiceConstructor::new("Clock", |injector| { injector.map(Clock(1)); })
/// }
///
/// let mut injector = Injector::new();
/// injector.map_services();
/// assert_eq!(injector.get::<Clock>().map(|c| c.0), Some(1));
/// assert!(ServiceConstructor::all().any(|c| c.name() == "Clock"));
/// ```
#[derive(Debug)]
pub struct ServiceConstructor {
    name: &'static str,
    construct: fn(&mut Injector),
}

impl ServiceConstructor {
    /// A constructor named `name` (for logs) that maps its service with `construct`.
    pub const fn new(name: &'static str, construct: fn(&mut Injector)) -> Self {
        Self { name, construct }
    }

    /// The name given at registration, usually the constructor's path.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the constructor against `injector`.
    pub fn construct(&self, injector: &mut Injector) {
        (self.construct)(injector);
    }

    /// Every submitted constructor, in no particular order.
    pub fn all() -> impl Iterator<Item = &'static ServiceConstructor> {
        inventory::iter::<ServiceConstructor>.into_iter()
    }
}

inventory::collect!(ServiceConstructor);

impl Injector {
    /// Runs every submitted [`ServiceConstructor`] against this injector, so each `#[service]`
    /// of the program is mapped; `flame_core::Flame::new()` calls it for you.
    ///
    /// ```
    /// use flame_inject::{Injector, ServiceConstructor};
    ///
    /// #[derive(Clone)]
    /// struct Greeting(&'static str);
    ///
    /// flame_inject::__private::inventory::submit! {
    ///     ServiceConstructor::new("Greeting", |injector| { injector.map(Greeting("hi")); })
    /// }
    ///
    /// let mut injector = Injector::new();
    /// injector.map_services();
    /// assert_eq!(injector.get::<Greeting>().map(|g| g.0), Some("hi"));
    /// ```
    pub fn map_services(&mut self) -> &mut Self {
        for constructor in ServiceConstructor::all() {
            constructor.construct(self);
        }
        self
    }
}
