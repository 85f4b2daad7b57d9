//! `#[service]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::crate_path;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "#[service] takes no arguments",
        ));
    }
    let function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "#[service] constructors must be synchronous: they run inside `Flame::new()`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "#[service] constructors cannot be generic",
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "#[service] constructors take no arguments: they run in no particular order",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "#[service] constructors must return the service to map",
        ));
    }
    let inject = crate_path::flame_inject();
    let name = &sig.ident;
    Ok(quote! {
        #function

        #inject::__private::inventory::submit! {
            #inject::ServiceConstructor::new(
                ::std::concat!(::std::module_path!(), "::", ::std::stringify!(#name)),
                |injector| { injector.map(#name()); },
            )
        }
    })
}
