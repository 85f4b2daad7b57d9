//! Procedural macros for flame: `#[actions]` (the RPC dispatch table of a stateful actor).

mod actions;

/// Turns an inherent impl block of a stateful actor into its `Actions` dispatch table:
/// action name -> arguments from JSON -> call -> result to JSON.
///
/// Documented, with examples, as `flame_actor::stateful::actions`.
#[proc_macro_attribute]
pub fn actions(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    actions::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
