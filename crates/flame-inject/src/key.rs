//! Keyed slots: the same type, injected twice under different names.
//!
//! The injector keys by type, so two `String` settings would collide. A [`Slot`] is a
//! zero-sized type that names the slot and says what it holds (the `typemap_rev`
//! `TypeMapKey` pattern); [`Key<S>`] is the injectable value in that slot.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// Names a keyed slot and the type of value it holds.
///
/// ```
/// use flame_inject::{Injector, Key, Slot};
///
/// struct DatabaseUrl;
/// impl Slot for DatabaseUrl { type Value = String; }
/// struct CacheUrl;
/// impl Slot for CacheUrl { type Value = String; }
///
/// let mut injector = Injector::new();
/// injector.map(Key::<DatabaseUrl>::new("postgres://db".into()));
/// injector.map(Key::<CacheUrl>::new("redis://cache".into()));
///
/// let urls = injector.invoke(|db: Key<DatabaseUrl>, cache: Key<CacheUrl>| {
///     format!("{} {}", *db, *cache)
/// });
/// assert_eq!(urls, "postgres://db redis://cache");
/// ```
pub trait Slot: 'static {
    /// The type of the value held in this slot.
    type Value: Clone + Send + Sync + 'static;
}

/// The value held in slot `S`; dereferences to `S::Value`.
pub struct Key<S: Slot> {
    value: S::Value,
    slot: PhantomData<fn() -> S>,
}

impl<S: Slot> Key<S> {
    /// Wraps `value` for slot `S`.
    pub fn new(value: S::Value) -> Self {
        Self {
            value,
            slot: PhantomData,
        }
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> S::Value {
        self.value
    }
}

impl<S: Slot> Clone for Key<S> {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl<S: Slot> Deref for Key<S> {
    type Target = S::Value;

    fn deref(&self) -> &S::Value {
        &self.value
    }
}

impl<S: Slot> fmt::Debug for Key<S>
where
    S::Value: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(&format!("Key<{}>", std::any::type_name::<S>()))
            .field(&self.value)
            .finish()
    }
}
