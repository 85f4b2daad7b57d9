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
/// ```ignore
/// #[flame_core::handler]
/// async fn index(db: &Db, c: flame_core::Context) -> String { ... }
/// f.get("/", index);
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
/// ```ignore
/// #[flame_core::service]
/// fn clock() -> Clock { Clock::system() }
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
/// Documented, with examples, as `flame_stateful::actions`.
#[proc_macro_attribute]
pub fn actions(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    actions::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
