//! Handlers: any function whose arguments can be injected and whose output can be returned.
//!
//! A handler is a closure, a `fn`, or a bound method in a closure, sync or `async`, with up to
//! 16 arguments. Each argument is resolved by type when the handler runs, from the
//! [`Context`]'s builtins, the request scope, then the app's injector; a missing one panics with
//! Flamego's message (Recovery turns that into a 500). `#[handler]` functions may also take `&T`.
//!
//! Middleware is not a separate concept: it is a handler that calls
//! [`c.next().await`](Context::next), and may declare with [`HandlerExt::provides`] what it
//! maps, so [`Flame::check`](crate::Flame::check) knows.

use std::any::{TypeId, type_name};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use flame_inject::{InjectError, Injectable};
use futures_util::future::BoxFuture;

use crate::context::Context;
use crate::params::Params;
use crate::request::Request;
use crate::response_writer::ResponseWriter;
use crate::return_value::Return;

/// What calling a handler gave: done already (sync handlers), or a future to await.
#[allow(missing_debug_implementations)]
pub enum Invocation {
    /// The handler finished, and its return value was written.
    Ready,
    /// The handler is running; await this to finish it.
    Pending(BoxFuture<'static, ()>),
}

/// A type a handler needs (or provides), for the startup check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// The type's id.
    pub id: TypeId,
    /// The type's name.
    pub name: &'static str,
}

impl Dependency {
    /// The dependency on `T`.
    pub fn of<T: ?Sized + 'static>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: type_name::<T>(),
        }
    }
}

/// Whether `id` is one of the values every request has (Context, Request, ResponseWriter,
/// Params, the tracing Span, Render).
pub(crate) fn is_builtin(id: TypeId) -> bool {
    id == TypeId::of::<Context>()
        || id == TypeId::of::<Request>()
        || id == TypeId::of::<ResponseWriter>()
        || id == TypeId::of::<Params>()
        || id == TypeId::of::<tracing::Span>()
        || id == TypeId::of::<crate::render::Render>()
}

/// The lowest level of handler: called with the context and its position in the chain.
///
/// Closures and `#[handler]` functions get this for free; implement it yourself for
/// configurable middleware values, as [`Logger`](crate::Logger) and [`Static`](crate::Static) do.
///
/// ```
/// use std::borrow::Cow;
/// use flame_core::{Context, Flame, Invocable, Invocation, StatusCode};
///
/// struct Deny(StatusCode);
///
/// impl Invocable for Deny {
///     fn name(&self) -> Cow<'static, str> { "Deny".into() }
///     fn call(&self, c: &Context, _ordinal: usize) -> Invocation {
///         c.response_writer().write_header(self.0);
///         Invocation::Ready
///     }
/// }
///
/// let mut f = Flame::new();
/// f.get("/admin", Deny(StatusCode::FORBIDDEN));
/// ```
pub trait Invocable: Send + Sync + 'static {
    /// The name used in panic messages and the startup check.
    fn name(&self) -> Cow<'static, str>;

    /// The types this handler needs from the injector.
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    /// Runs the handler for `ctx`; `ordinal` is its position in the chain.
    fn call(&self, ctx: &Context, ordinal: usize) -> Invocation;
}

/// A type-erased handler, ready to go in a chain.
#[derive(Clone)]
pub struct BoxedHandler {
    invocable: Arc<dyn Invocable>,
    name: Cow<'static, str>,
    needs: Arc<[Dependency]>,
    provides: Arc<[Dependency]>,
}

impl fmt::Debug for BoxedHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedHandler")
            .field("name", &self.name)
            .field(
                "needs",
                &self.needs.iter().map(|d| d.name).collect::<Vec<_>>(),
            )
            .field(
                "provides",
                &self.provides.iter().map(|d| d.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl BoxedHandler {
    /// Boxes any handler.
    ///
    /// ```
    /// use flame_core::BoxedHandler;
    ///
    /// let handlers = vec![BoxedHandler::new(|| "one"), BoxedHandler::new(|| async { "two" })];
    /// assert_eq!(handlers.len(), 2);
    /// ```
    pub fn new<H: Handler<M>, M>(handler: H) -> Self {
        handler.into_boxed()
    }

    /// Boxes an [`Invocable`].
    pub fn from_invocable(invocable: impl Invocable) -> Self {
        let name = invocable.name();
        let needs = invocable
            .dependencies()
            .into_iter()
            .filter(|d| !is_builtin(d.id))
            .collect();
        Self {
            invocable: Arc::new(invocable),
            name,
            needs,
            provides: Arc::from([]),
        }
    }

    /// The handler's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The injected types it needs (builtins excluded).
    pub fn needs(&self) -> &[Dependency] {
        &self.needs
    }

    /// The types it declares it maps for the handlers after it.
    pub fn provided(&self) -> &[Dependency] {
        &self.provides
    }

    /// Declares that this handler maps a `T` for the handlers after it.
    #[must_use]
    pub fn provides<T: ?Sized + 'static>(mut self) -> Self {
        let mut provides = self.provides.to_vec();
        provides.push(Dependency::of::<T>());
        self.provides = provides.into();
        self
    }

    /// Runs it.
    #[inline]
    pub fn call(&self, ctx: &Context, ordinal: usize) -> Invocation {
        self.invocable.call(ctx, ordinal)
    }
}

mod private {
    #[derive(Debug)]
    pub enum Sync {}
    #[derive(Debug)]
    pub enum Async {}
    #[derive(Debug)]
    pub enum Custom {}
    #[derive(Debug)]
    pub enum Single {}
    #[derive(Debug)]
    pub enum Boxed {}
    #[derive(Debug)]
    pub struct Many<T>(T);
}

/// Something that can handle a request: any function whose arguments can be injected and
/// whose output can be [returned](crate::Return).
///
/// A handler is a closure, a `fn`, or a bound method in a closure, sync or `async`, with up to
/// 16 arguments. Each argument is resolved by type when the handler runs, from the
/// [`Context`]'s builtins, the request scope, then the app's injector; a missing one panics with
/// Flamego's message (Recovery turns that into a 500). `#[handler]` functions may also take `&T`.
///
/// Middleware is not a separate concept: it is a handler that calls
/// [`c.next().await`](Context::next), and may declare with [`HandlerExt::provides`] what it
/// maps, so [`Flame::check`](crate::Flame::check) knows.
///
/// `M` is a marker that lets sync and async functions of every arity implement it; you never
/// name it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a flame handler",
    label = "not a handler",
    note = "a handler is a fn or closure, sync or async, whose arguments are injected (`Clone + Send + Sync + 'static`) or the request's data (`Json<T>`, `Form<T>`, `Query<T>`, `RawBody`), and whose output implements `flame_core::Return`",
    note = "use `#[flame_core::handler]` on a fn to get a precise error for each argument"
)]
pub trait Handler<M>: Send + Sync + 'static {
    /// Boxes the handler.
    fn into_boxed(self) -> BoxedHandler;
}

impl<I: Invocable> Handler<private::Custom> for I {
    fn into_boxed(self) -> BoxedHandler {
        BoxedHandler::from_invocable(self)
    }
}

/// A boxed handler is a handler as it is: boxing it again would lose what it needs and provides.
impl Handler<private::Boxed> for BoxedHandler {
    fn into_boxed(self) -> BoxedHandler {
        self
    }
}

/// A step that runs before a handler whose argument needs it, e.g. reading and
/// deserializing the body for a [`Json<T>`](crate::Json) argument. It resolves to `false`
/// when it answered the request itself (a 4xx for a bad body): the handler then does not run.
pub type Prepare = fn(&Context) -> BoxFuture<'static, bool>;

/// What a handler's argument can be.
///
/// Two kinds of types are handler arguments:
///
/// - **injected values**: every `Clone + Send + Sync + 'static` type, resolved by type from the
///   context's builtins, the request scope and the app's injector when the handler runs (a
///   missing one panics with Flamego's message);
/// - **the request's data**: [`Json<T>`](crate::Json), [`Form<T>`](crate::Form),
///   [`Query<T>`](crate::Query) and [`RawBody`](crate::RawBody), read (asynchronously,
///   within the app's body limit) and deserialized just before the handler runs; bad input
///   is answered with a 4xx and the handler does not run.
///
/// ```
/// use flame_core::{Flame, Json};
///
/// #[derive(serde::Deserialize)]
/// struct NewTodo { title: String }
///
/// #[derive(Clone)]
/// struct Store;
///
/// let mut f = Flame::new();
/// f.map(Store);
/// // an injected service and a typed body, side by side
/// f.post("/todos", |_store: Store, Json(todo): Json<NewTodo>| format!("created {}", todo.title));
/// assert!(f.check().is_ok());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not injectable, and not the request's data",
    note = "an injected value must be `Clone + Send + Sync + 'static`: wrap shared services in `Arc`",
    note = "the request's data comes as `Json<T>`, `Form<T>`, `Query<T>` (T: serde::Deserialize) or `RawBody`",
    note = "named handlers (`#[handler]`) may also take `&T` for any mapped `T`"
)]
pub trait HandlerArg: Sized + Send + 'static {
    /// What must run before the handler so that [`resolve`](Self::resolve) finds the value.
    const PREPARE: Option<Prepare> = None;

    /// The injected type the startup check looks for; `None` for the request's own data.
    fn dependency() -> Option<Dependency>;

    /// The value, for the handler at `ordinal` (named by `name` in a panic).
    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self;
}

impl<T: Injectable> HandlerArg for T {
    fn dependency() -> Option<Dependency> {
        Some(Dependency::of::<T>())
    }

    #[inline]
    #[track_caller]
    fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
        match ctx.get::<T>() {
            Some(value) => value,
            None => missing::<T>(ordinal, name),
        }
    }
}

/// Resolves argument `T` for the handler at `ordinal`, panicking with Flamego's message.
#[doc(hidden)]
#[inline]
#[track_caller]
pub fn resolve<T: HandlerArg>(
    ctx: &Context,
    ordinal: usize,
    name: &dyn Fn() -> Cow<'static, str>,
) -> T {
    T::resolve(ctx, ordinal, name)
}

/// The startup check's view of argument `T`.
#[doc(hidden)]
#[inline]
pub fn dependency<T: HandlerArg>() -> Option<Dependency> {
    T::dependency()
}

/// Whether any argument needs a [`Prepare`] step (a constant for each handler type, so the
/// branch on it folds away).
#[doc(hidden)]
#[inline]
pub const fn needs_preparing(prepares: &[Option<Prepare>]) -> bool {
    let mut i = 0;
    while i < prepares.len() {
        if prepares[i].is_some() {
            return true;
        }
        i += 1;
    }
    false
}

/// Runs `call` once every step in `prepares` succeeded (none answered the request itself).
#[doc(hidden)]
pub fn with_prepared(
    ctx: &Context,
    prepares: &'static [Option<Prepare>],
    call: impl FnOnce(&Context) -> Invocation + Send + 'static,
) -> Invocation {
    let ctx = ctx.clone();
    Invocation::Pending(Box::pin(async move {
        for prepare in prepares.iter().flatten() {
            if !prepare(&ctx).await {
                return;
            }
        }
        if let Invocation::Pending(rest) = call(&ctx) {
            rest.await;
        }
    }))
}

/// Resolves `&T` arguments of `#[handler]` functions: a shared handle to borrow from.
#[doc(hidden)]
#[track_caller]
pub fn resolve_shared<T: Send + Sync + 'static>(
    ctx: &Context,
    ordinal: usize,
    name: &dyn Fn() -> Cow<'static, str>,
) -> Arc<T> {
    match ctx.get_shared::<T>() {
        Some(value) => value,
        None => missing::<T>(ordinal, name),
    }
}

#[cold]
#[track_caller]
pub(crate) fn missing<T>(ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> ! {
    let err = InjectError::ValueNotFound {
        ordinal,
        handler: name(),
        type_name: type_name::<T>(),
    };
    panic!("{err}")
}

/// Writes a handler's return value through the request's return handler.
#[doc(hidden)]
#[inline]
pub fn write_return<R: Return>(ctx: &Context, value: R) {
    let reply = value.into_reply();
    if reply.is_empty() {
        return;
    }
    match ctx.return_handler() {
        Some(handler) => handler.handle(ctx, reply),
        None => reply.write_to(ctx),
    }
}

/// A sync function as an [`Invocable`]. Behind an `Arc`: a handler whose arguments need a
/// [`Prepare`] step is called from a future, after it.
struct SyncFn<F, Args> {
    f: Arc<F>,
    args: PhantomData<fn() -> Args>,
}

/// An async function as an [`Invocable`].
struct AsyncFn<F, Args> {
    f: Arc<F>,
    args: PhantomData<fn() -> Args>,
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, R, $($arg,)*> Handler<(private::Sync, $($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
            R: Return,
            $($arg: HandlerArg,)*
        {
            fn into_boxed(self) -> BoxedHandler {
                BoxedHandler::from_invocable(SyncFn::<F, ($($arg,)*)> { f: Arc::new(self), args: PhantomData })
            }
        }

        impl<F, R, $($arg,)*> Invocable for SyncFn<F, ($($arg,)*)>
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
            R: Return,
            $($arg: HandlerArg,)*
        {
            fn name(&self) -> Cow<'static, str> {
                Cow::Borrowed(type_name::<F>())
            }

            fn dependencies(&self) -> Vec<Dependency> {
                let dependencies: &[Option<Dependency>] = &[$(<$arg as HandlerArg>::dependency()),*];
                dependencies.iter().flatten().copied().collect()
            }

            #[allow(non_snake_case, unused_variables)]
            fn call(&self, ctx: &Context, ordinal: usize) -> Invocation {
                let run = move |f: &F, ctx: &Context| {
                    let name = || Cow::Borrowed(type_name::<F>());
                    $(let $arg = <$arg as HandlerArg>::resolve(ctx, ordinal, &name);)*
                    write_return(ctx, f($($arg),*));
                    Invocation::Ready
                };
                let prepares: &'static [Option<Prepare>] =
                    const { &[$(<$arg as HandlerArg>::PREPARE),*] };
                if !needs_preparing(prepares) {
                    return run(&self.f, ctx);
                }
                let f = self.f.clone();
                with_prepared(ctx, prepares, move |ctx| run(&f, ctx))
            }
        }

        impl<F, Fut, $($arg,)*> Handler<(private::Async, $($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: Return,
            $($arg: HandlerArg,)*
        {
            fn into_boxed(self) -> BoxedHandler {
                BoxedHandler::from_invocable(AsyncFn::<F, ($($arg,)*)> { f: Arc::new(self), args: PhantomData })
            }
        }

        impl<F, Fut, $($arg,)*> Invocable for AsyncFn<F, ($($arg,)*)>
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: Return,
            $($arg: HandlerArg,)*
        {
            fn name(&self) -> Cow<'static, str> {
                Cow::Borrowed(type_name::<F>())
            }

            fn dependencies(&self) -> Vec<Dependency> {
                let dependencies: &[Option<Dependency>] = &[$(<$arg as HandlerArg>::dependency()),*];
                dependencies.iter().flatten().copied().collect()
            }

            #[allow(non_snake_case, unused_variables)]
            fn call(&self, ctx: &Context, ordinal: usize) -> Invocation {
                let run = move |f: &F, ctx: &Context| {
                    let name = || Cow::Borrowed(type_name::<F>());
                    $(let $arg = <$arg as HandlerArg>::resolve(ctx, ordinal, &name);)*
                    let future = f($($arg),*);
                    let ctx = ctx.clone();
                    Invocation::Pending(Box::pin(async move {
                        let output = future.await;
                        write_return(&ctx, output);
                    }))
                };
                let prepares: &'static [Option<Prepare>] =
                    const { &[$(<$arg as HandlerArg>::PREPARE),*] };
                if !needs_preparing(prepares) {
                    return run(&self.f, ctx);
                }
                let f = self.f.clone();
                with_prepared(ctx, prepares, move |ctx| run(&f, ctx))
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
impl_handler!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
impl_handler!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);

/// Adds [`provides`](HandlerExt::provides) to every handler.
pub trait HandlerExt<M>: Handler<M> + Sized {
    /// Boxes the handler and declares that it maps a `T` for the handlers after it, so
    /// [`Flame::check`](crate::Flame::check) counts `T` as provided on its routes.
    ///
    /// ```
    /// use flame_core::{Context, Flame, HandlerExt};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    ///
    /// let mut f = Flame::new();
    /// f.use_((|c: Context| c.map(User("ada".into()))).provides::<User>());
    /// f.get("/me", |u: User| u.0);
    /// assert!(f.check().is_ok());
    /// ```
    fn provides<T: ?Sized + 'static>(self) -> BoxedHandler {
        self.into_boxed().provides::<T>()
    }
}

impl<H: Handler<M>, M> HandlerExt<M> for H {}

/// One handler or several: what route, group and `use_` registration accept.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a flame handler, nor a tuple of handlers",
    label = "not a handler",
    note = "a handler is a fn or closure, sync or async, whose arguments are `Clone + Send + Sync + 'static` and whose output implements `flame_core::Return`",
    note = "use `#[flame_core::handler]` on a fn to get a precise error for each argument"
)]
///
/// A single handler, a tuple of up to 12 handlers `(mw1, mw2, handler)`, a
/// `Vec<BoxedHandler>`, or `()` for none.
pub trait IntoHandlers<M> {
    /// The handlers, in order.
    fn into_handlers(self) -> Vec<BoxedHandler>;
}

impl<H: Handler<M>, M> IntoHandlers<(private::Single, M)> for H {
    fn into_handlers(self) -> Vec<BoxedHandler> {
        vec![self.into_boxed()]
    }
}

impl IntoHandlers<()> for () {
    fn into_handlers(self) -> Vec<BoxedHandler> {
        Vec::new()
    }
}

impl IntoHandlers<Vec<BoxedHandler>> for Vec<BoxedHandler> {
    fn into_handlers(self) -> Vec<BoxedHandler> {
        self
    }
}

macro_rules! impl_into_handlers {
    ($(($h:ident, $m:ident)),*) => {
        #[allow(non_snake_case)]
        impl<$($h: Handler<$m>, $m,)*> IntoHandlers<private::Many<($($m,)*)>> for ($($h,)*) {
            fn into_handlers(self) -> Vec<BoxedHandler> {
                let ($($h,)*) = self;
                vec![$($h.into_boxed()),*]
            }
        }
    };
}

impl_into_handlers!((H1, M1));
impl_into_handlers!((H1, M1), (H2, M2));
impl_into_handlers!((H1, M1), (H2, M2), (H3, M3));
impl_into_handlers!((H1, M1), (H2, M2), (H3, M3), (H4, M4));
impl_into_handlers!((H1, M1), (H2, M2), (H3, M3), (H4, M4), (H5, M5));
impl_into_handlers!((H1, M1), (H2, M2), (H3, M3), (H4, M4), (H5, M5), (H6, M6));
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7)
);
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7),
    (H8, M8)
);
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7),
    (H8, M8),
    (H9, M9)
);
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7),
    (H8, M8),
    (H9, M9),
    (H10, M10)
);
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7),
    (H8, M8),
    (H9, M9),
    (H10, M10),
    (H11, M11)
);
impl_into_handlers!(
    (H1, M1),
    (H2, M2),
    (H3, M3),
    (H4, M4),
    (H5, M5),
    (H6, M6),
    (H7, M7),
    (H8, M8),
    (H9, M9),
    (H10, M10),
    (H11, M11),
    (H12, M12)
);
