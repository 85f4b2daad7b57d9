//! The map behind every injector: `TypeId` to a shared, type-erased value.
//!
//! A `TypeId` is already a well-mixed hash, so hashing it again with SipHash is wasted work;
//! [`TypeMap`] uses an identity hasher instead. `benches/inject.rs` measures the difference
//! against SipHash and against `anymap3`.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A shared, type-erased value as stored in a [`TypeMap`].
pub(crate) type Erased = Arc<dyn Any + Send + Sync>;

/// A hasher that passes a `TypeId`'s own 64 bits through.
///
/// `TypeId` hashes itself with a single `write_u64`; anything else falls back to an FxHash
/// style mix so the hasher stays correct if that ever changes.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// What [`TypeMap::names`] says for a value stored by `TypeId` alone.
pub(crate) const UNNAMED: &str = "(a value mapped by TypeId)";

/// A map from `TypeId` to one shared value of that type.
#[derive(Default, Clone)]
pub(crate) struct TypeMap {
    values: HashMap<TypeId, Erased, BuildHasherDefault<TypeIdHasher>>,
    /// The type name of each stored value, in the order first mapped. Kept beside the map,
    /// not in it, so that a lookup reads nothing more than before: names are written when a
    /// value is mapped and read only by whoever lists them.
    names: Vec<(TypeId, &'static str)>,
}

impl std::fmt::Debug for TypeMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeMap")
            .field("len", &self.values.len())
            .finish()
    }
}

impl TypeMap {
    /// Stores `value` under its own type, replacing any earlier value of that type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        self.values.insert(id, Arc::new(value));
        match self.names.iter_mut().find(|(named, _)| *named == id) {
            Some(entry) => entry.1 = type_name::<T>(),
            None => self.names.push((id, type_name::<T>())),
        }
    }

    /// Stores an already shared value under an explicit `TypeId`.
    ///
    /// The caller promises that `value` downcasts to the type `id` names; [`TypeMap::get`]
    /// checks it again, so a wrong promise gives `None`, never a wrong value.
    pub(crate) fn insert_erased(&mut self, id: TypeId, value: Erased) {
        if self.values.insert(id, value).is_none() {
            // the name is unknown here; a typed insert of the same type names it later
            self.names.push((id, UNNAMED));
        }
    }

    /// The type names of the stored values, in the order first mapped.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.names.iter().map(|(_, name)| *name)
    }

    /// Borrows the value of type `T`, if there is one.
    #[inline]
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }

    /// The shared value stored under `id`, if there is one.
    #[inline]
    pub(crate) fn get_erased(&self, id: TypeId) -> Option<&Erased> {
        self.values.get(&id)
    }

    /// Whether a value is stored under `id`.
    #[inline]
    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.values.contains_key(&id)
    }
}
