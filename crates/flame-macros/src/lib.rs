//! Procedural macros for flame.
//!
//! - [`macro@handler`]: a `fn` as a named flame handler (borrowed `&T` arguments, precise errors).
//! - [`macro@service`]: a constructor registered at link time, mapped by `Flame::new()`.
//! - [`macro@actions`]: the RPC dispatch table of a stateful actor.
//!
//! Use them through `flame_core` (`#[flame_core::handler]`), which re-exports them.

use proc_macro::TokenStream;

mod actions;
mod crate_path;
mod handler;
mod service;

/// Turns a `fn` or `async fn` into a named flame handler.
///
/// The function becomes a unit struct of the same name that implements
/// `flame_core::Invocable`; the original function stays callable as `name::call(..)`.
/// Compared with passing a plain function:
///
/// - arguments may be borrowed: `&T` borrows the mapped `T` without cloning it;
/// - each argument that cannot be injected is a compile error at that argument;
/// - panic messages and the startup check name the function by its path;
/// - the types it needs are listed for `Flame::check()`.
///
/// Generic functions and methods (`self`) are refused: wrap a method in a closure instead.
///
/// ```
/// use flame_core::{Context, Flame};
///
/// #[derive(Clone)]
/// struct Db {
///     name: String,
/// }
///
/// #[flame_core::handler]
/// async fn index(db: &Db, c: Context) -> String {
///     format!("{} serves {}", db.name, c.uri().path())
/// }
///
/// let mut f = Flame::new();
/// f.map(Db { name: "main".into() });
/// f.get("/", index);
/// assert!(f.check().is_ok()); // `Db` is provided, so every route's needs are met
/// ```
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    handler::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Registers a service constructor, run by every `Flame::new()` to map its value.
///
/// The function takes no arguments and returns the service; it stays callable as usual.
///
/// ```
/// #[derive(Clone)]
/// struct Clock {
///     offset_secs: i64,
/// }
///
/// #[flame_core::service]
/// fn clock() -> Clock {
///     Clock { offset_secs: 0 }
/// }
///
/// let f = flame_core::Flame::new(); // runs every `#[service]` constructor
/// assert_eq!(f.injector().get::<Clock>().map(|c| c.offset_secs), Some(0));
/// assert_eq!(clock().offset_secs, 0); // and the function is still a function
/// ```
///
/// The linker may drop a crate that nothing references, and its services with it: if your
/// services live in a crate of their own, reference it from `main` with `use my_services as _;`.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns an inherent impl block of a stateful actor into its `Actions` dispatch table:
/// action name -> arguments from JSON -> call -> result to JSON.
///
/// Every method taking `&self` is an action named after it (`#[action(name = "...")]`
/// renames it, `#[action(skip)]` leaves it out); an optional first `Rpc<Self>` argument is
/// the call's context, the other arguments are deserialized in order, and the result
/// (plain, or `Result<_, ActorError>`) is serialized back. Used through
/// `flame_stateful::actions`, which documents it at length.
///
/// ```
/// use flame_stateful::{ActorError, Actions, InitCtx, Rpc, StatefulActor, actions};
///
/// #[derive(Default)]
/// struct Counter;
///
/// impl StatefulActor for Counter {
///     type State = i64;
///     type ConnParams = ();
///     type ConnState = ();
///     async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
///         Ok(0)
///     }
/// }
///
/// #[actions]
/// impl Counter {
///     async fn increment(&self, rpc: &mut Rpc<Self>, by: i64) -> Result<i64, ActorError> {
///         *rpc.state_mut() += by;
///         Ok(*rpc.state())
///     }
///
///     #[action(name = "current")]
///     async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
///         *rpc.state()
///     }
///
///     #[action(skip)]
///     fn helper(&self) {}
/// }
///
/// assert_eq!(Counter::ACTIONS, &["increment", "current"]);
/// ```
#[proc_macro_attribute]
pub fn actions(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    actions::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
