//! The [`Injector`]: values by type, parent scopes, and invocation.

use std::any::{Any, TypeId, type_name};
use std::borrow::Cow;
use std::sync::Arc;

use crate::error::InjectError;
use crate::type_map::TypeMap;

/// A value that can be injected: shared between tasks and handed out by clone.
///
/// Every `Clone + Send + Sync + 'static` type is injectable; services are usually `Arc`-backed
/// so the clone is a reference-count increment.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected",
    label = "not injectable",
    note = "an injected value must be `Clone + Send + Sync + 'static`: wrap shared services in `Arc`",
    note = "named handlers (`#[handler]`) may also take `&T` for any mapped `T`"
)]
pub trait Injectable: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> Injectable for T {}

/// Values keyed by type, with an optional parent to fall back on.
///
/// Mapping a type again replaces the earlier value. A lookup that misses in this injector
/// asks its parent, and so on up the chain: flame gives each request a child of the app's
/// injector, so request-scoped values shadow app-wide ones.
///
/// ```
/// use std::sync::Arc;
/// use flame_inject::Injector;
///
/// trait Greeter: Send + Sync {
///     fn greet(&self) -> String;
/// }
/// struct English;
/// impl Greeter for English {
///     fn greet(&self) -> String { "hello".into() }
/// }
///
/// let mut app = Injector::new();
/// app.map(42_u32).map_to::<dyn Greeter>(Arc::new(English));
///
/// let mut request = Injector::with_parent(Arc::new(app));
/// request.map(7_u32);
///
/// assert_eq!(request.get::<u32>(), Some(7)); // the child shadows its parent
/// let greeting = request.invoke(|g: Arc<dyn Greeter>| g.greet());
/// assert_eq!(greeting, "hello");
/// ```
#[derive(Default, Clone, Debug)]
pub struct Injector {
    values: TypeMap,
    parent: Option<Arc<Injector>>,
}

impl Injector {
    /// An empty injector with no parent.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty injector that falls back to `parent`.
    pub fn with_parent(parent: Arc<Injector>) -> Self {
        Self {
            values: TypeMap::default(),
            parent: Some(parent),
        }
    }

    /// Sets (or replaces) the parent this injector falls back to.
    pub fn set_parent(&mut self, parent: Arc<Injector>) -> &mut Self {
        self.parent = Some(parent);
        self
    }

    /// The parent, if any.
    pub fn parent(&self) -> Option<&Arc<Injector>> {
        self.parent.as_ref()
    }

    /// Maps `value` under its concrete type, replacing any earlier value of that type.
    ///
    /// ```
    /// # use flame_inject::Injector;
    /// let mut injector = Injector::new();
    /// injector.map(String::from("first")).map(String::from("second"));
    /// assert_eq!(injector.get::<String>().as_deref(), Some("second"));
    /// ```
    pub fn map<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.values.insert(value);
        self
    }

    /// Maps a shared value under the type `Arc<T>`, typically a trait object.
    ///
    /// `injector.map_to::<dyn Store>(Arc::new(MemoryStore))` lets handlers take an
    /// `Arc<dyn Store>` without knowing the implementation.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use flame_inject::Injector;
    /// trait Store: Send + Sync { fn name(&self) -> &'static str; }
    /// struct Memory;
    /// impl Store for Memory { fn name(&self) -> &'static str { "memory" } }
    ///
    /// let mut injector = Injector::new();
    /// injector.map_to::<dyn Store>(Arc::new(Memory));
    /// let store: Arc<dyn Store> = injector.get().unwrap();
    /// assert_eq!(store.name(), "memory");
    /// ```
    pub fn map_to<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        self.values.insert(value);
        self
    }

    /// Maps an already shared, type-erased value under `id`.
    ///
    /// This is the building block for scopes that copy values between injectors; a value that
    /// does not downcast to the type `id` names is never handed out.
    ///
    /// ```
    /// # use std::any::{Any, TypeId};
    /// # use std::sync::Arc;
    /// # use flame_inject::Injector;
    /// let mut from = Injector::new();
    /// from.map(7_u32);
    /// let id = TypeId::of::<u32>();
    /// let shared = from.get_erased(id).cloned().unwrap();
    ///
    /// let mut to = Injector::new();
    /// to.map_erased(id, shared);
    /// assert_eq!(to.get::<u32>(), Some(7));
    /// ```
    pub fn map_erased(&mut self, id: TypeId, value: Arc<dyn Any + Send + Sync>) -> &mut Self {
        self.values.insert_erased(id, value);
        self
    }

    /// A clone of the value of type `T`, from this injector or the nearest parent that has one.
    #[inline]
    pub fn get<T: Clone + 'static>(&self) -> Option<T> {
        self.get_ref::<T>().cloned()
    }

    /// Borrows the value of type `T`, from this injector or the nearest parent that has one.
    #[inline]
    pub fn get_ref<T: 'static>(&self) -> Option<&T> {
        let mut scope = self;
        loop {
            if let Some(value) = scope.values.get::<T>() {
                return Some(value);
            }
            scope = scope.parent.as_deref()?;
        }
    }

    /// The shared value stored under `id`, from this injector or the nearest parent.
    ///
    /// ```
    /// # use std::any::TypeId;
    /// # use flame_inject::Injector;
    /// let mut injector = Injector::new();
    /// injector.map(7_u32);
    /// let shared = injector.get_erased(TypeId::of::<u32>()).unwrap();
    /// assert_eq!(shared.downcast_ref::<u32>(), Some(&7));
    /// ```
    pub fn get_erased(&self, id: TypeId) -> Option<&Arc<dyn Any + Send + Sync>> {
        let mut scope = self;
        loop {
            if let Some(value) = scope.values.get_erased(id) {
                return Some(value);
            }
            scope = scope.parent.as_deref()?;
        }
    }

    /// The type names ([`std::any::type_name`]) of the values this injector maps itself,
    /// not its parents', in the order they were first mapped; mapping a type again keeps
    /// its place. A value given to [`map_erased`](Self::map_erased) alone, by `TypeId`, is
    /// listed as `"(a value mapped by TypeId)"`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use flame_inject::Injector;
    /// trait Store: Send + Sync {}
    /// struct Memory;
    /// impl Store for Memory {}
    ///
    /// let mut app = Injector::new();
    /// app.map(42_u32).map_to::<dyn Store>(Arc::new(Memory)).map(7_u32);
    /// let names = app.mapped_type_names();
    /// assert_eq!(names.len(), 2);
    /// assert_eq!(names[0], "u32");
    /// assert!(names[1].contains("dyn") && names[1].contains("Store"));
    ///
    /// let request = Injector::with_parent(Arc::new(app));
    /// assert!(request.mapped_type_names().is_empty()); // its own values only
    /// ```
    pub fn mapped_type_names(&self) -> Vec<&'static str> {
        self.values.names().collect()
    }

    /// Whether a value of type `T` can be resolved.
    pub fn contains<T: 'static>(&self) -> bool {
        self.contains_type(TypeId::of::<T>())
    }

    /// Whether a value with this `TypeId` can be resolved, here or in a parent.
    pub fn contains_type(&self, id: TypeId) -> bool {
        let mut scope = self;
        loop {
            if scope.values.contains(id) {
                return true;
            }
            match scope.parent.as_deref() {
                Some(parent) => scope = parent,
                None => return false,
            }
        }
    }

    /// Resolves `T` for the handler at position `ordinal` in its chain, named `handler`.
    ///
    /// # Errors
    ///
    /// [`InjectError::ValueNotFound`] when no injector in the chain has a `T`.
    pub fn resolve<T: Clone + 'static>(
        &self,
        ordinal: usize,
        handler: &dyn Fn() -> Cow<'static, str>,
    ) -> Result<T, InjectError> {
        self.get::<T>().ok_or_else(|| InjectError::ValueNotFound {
            ordinal,
            handler: handler(),
            type_name: type_name::<T>(),
        })
    }

    /// Calls `f` with every argument resolved by type, and returns what it returns.
    ///
    /// # Panics
    ///
    /// With Flamego's message when an argument cannot be resolved:
    ///
    /// ```should_panic
    /// # use flame_inject::Injector;
    /// #[derive(Clone)]
    /// struct MyService;
    /// Injector::new().invoke(|_: MyService| ()); // value not found for type ...::MyService
    /// ```
    #[track_caller]
    pub fn invoke<F: Invoke<Args>, Args>(&self, f: F) -> F::Output {
        match self.try_invoke(f) {
            Ok(output) => output,
            Err(err) => panic!("{err}"),
        }
    }

    /// Like [`Injector::invoke`], returning the missing value as an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`InjectError::ValueNotFound`] naming the first argument that cannot be resolved.
    ///
    /// ```
    /// # use flame_inject::Injector;
    /// #[derive(Clone)]
    /// struct MyService;
    /// let err = Injector::new().try_invoke(|_: MyService| ()).unwrap_err();
    /// assert!(err.to_string().starts_with("unable to invoke the 0th handler ["));
    /// assert!(err.to_string().contains("]: value not found for type "));
    /// assert!(err.to_string().ends_with("::MyService"));
    /// ```
    pub fn try_invoke<F: Invoke<Args>, Args>(&self, f: F) -> Result<F::Output, InjectError> {
        f.invoke_with(self, 0, &|| Cow::Borrowed(type_name::<F>()))
    }
}

/// A callable whose arguments can all be resolved from an [`Injector`].
///
/// Implemented for every `FnOnce` of up to 16 [`Injectable`] arguments.
pub trait Invoke<Args> {
    /// What the callable returns.
    type Output;

    /// Resolves every argument and calls. `ordinal` and `name` only word the error.
    ///
    /// # Errors
    ///
    /// [`InjectError::ValueNotFound`] for the first argument that cannot be resolved.
    fn invoke_with(
        self,
        injector: &Injector,
        ordinal: usize,
        name: &dyn Fn() -> Cow<'static, str>,
    ) -> Result<Self::Output, InjectError>;
}

macro_rules! impl_invoke {
    ($($arg:ident),*) => {
        impl<Func, Out, $($arg,)*> Invoke<($($arg,)*)> for Func
        where
            Func: FnOnce($($arg),*) -> Out,
            $($arg: Injectable,)*
        {
            type Output = Out;

            #[allow(non_snake_case, unused_variables)]
            fn invoke_with(
                self,
                injector: &Injector,
                ordinal: usize,
                name: &dyn Fn() -> Cow<'static, str>,
            ) -> Result<Out, InjectError> {
                $(let $arg = injector.resolve::<$arg>(ordinal, name)?;)*
                Ok(self($($arg),*))
            }
        }
    };
}

impl_invoke!();
impl_invoke!(A1);
impl_invoke!(A1, A2);
impl_invoke!(A1, A2, A3);
impl_invoke!(A1, A2, A3, A4);
impl_invoke!(A1, A2, A3, A4, A5);
impl_invoke!(A1, A2, A3, A4, A5, A6);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
impl_invoke!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
impl_invoke!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
impl_invoke!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);
