//! Finds the path of flame's crates as the calling crate names them.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// The path to `flame_core`, honouring a renamed dependency.
pub(crate) fn flame_core() -> TokenStream {
    match crate_name("flame-core") {
        // Integration tests, examples and doctests of flame-core are crates of their own.
        Ok(FoundCrate::Itself)
            if std::env::var("CARGO_CRATE_NAME").as_deref() == Ok("flame_core") =>
        {
            quote!(crate)
        }
        Ok(FoundCrate::Itself) | Err(_) => quote!(::flame_core),
        Ok(FoundCrate::Name(name)) => {
            let ident = syn::Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
    }
}

/// The path to `flame_inject`: directly when the caller depends on it, else through
/// `flame_core`'s re-export.
pub(crate) fn flame_inject() -> TokenStream {
    match crate_name("flame-inject") {
        Ok(FoundCrate::Itself)
            if std::env::var("CARGO_CRATE_NAME").as_deref() == Ok("flame_inject") =>
        {
            quote!(crate)
        }
        Ok(FoundCrate::Itself) => quote!(::flame_inject),
        Ok(FoundCrate::Name(name)) => {
            let ident = syn::Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        Err(_) => {
            let core = flame_core();
            quote!(#core::__private::flame_inject)
        }
    }
}
