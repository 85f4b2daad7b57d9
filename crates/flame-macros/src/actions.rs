//! `#[actions]`: an actor's inherent impl block -> its `Actions` dispatch table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ItemImpl, LitStr, Pat, ReturnType, Type};

/// The path of the `flame_stateful` crate as the calling crate names it.
fn crate_path() -> TokenStream {
    match proc_macro_crate::crate_name("flame-stateful") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => {
            let ident = format_ident!("{}", name);
            quote!(::#ident)
        }
        // inside flame-stateful itself, `extern crate self as flame_stateful` makes this work
        Ok(proc_macro_crate::FoundCrate::Itself) | Err(_) => quote!(::flame_stateful),
    }
}

#[derive(Default)]
struct ActionOptions {
    skip: bool,
    name: Option<String>,
}

/// Takes the `#[action(...)]` helper attributes off a method.
fn take_options(attrs: &mut Vec<syn::Attribute>) -> syn::Result<ActionOptions> {
    let mut options = ActionOptions::default();
    let mut error = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident("action") {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                options.skip = true;
                Ok(())
            } else if meta.path.is_ident("name") {
                options.name = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else {
                Err(meta.error("expected `skip` or `name = \"...\"`"))
            }
        });
        if let Err(e) = parsed {
            error = Some(e);
        }
        false
    });
    match error {
        Some(e) => Err(e),
        None => Ok(options),
    }
}

fn mentions_rpc(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => mentions_rpc(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Rpc"),
        _ => false,
    }
}

fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => match &**ty {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            "#[actions] takes no arguments",
        ));
    }
    let mut block: ItemImpl = syn::parse2(item)?;
    if let Some((_, path, _)) = &block.trait_ {
        return Err(syn::Error::new_spanned(
            path,
            "#[actions] goes on an inherent impl block (`impl MyActor { ... }`), not on a trait impl",
        ));
    }
    let krate = crate_path();
    let mut names = Vec::new();
    let mut arms = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(f) = item else { continue };
        let options = take_options(&mut f.attrs)?;
        if options.skip {
            continue;
        }
        let Some(FnArg::Receiver(receiver)) = f.sig.inputs.first() else {
            continue; // an associated function, not an action
        };
        if receiver.reference.is_none() || receiver.mutability.is_some() {
            return Err(syn::Error::new_spanned(
                receiver,
                "an action takes `&self` (its state is in `rpc`: `rpc.state_mut()`)",
            ));
        }
        let name = options.name.unwrap_or_else(|| f.sig.ident.to_string());
        let method = &f.sig.ident;
        let mut inputs = f.sig.inputs.iter().skip(1).peekable();
        let mut call_args = Vec::new();
        if let Some(FnArg::Typed(first)) = inputs.peek()
            && mentions_rpc(&first.ty)
        {
            call_args.push(quote!(rpc));
            inputs.next();
        }
        let mut lets = Vec::new();
        for (i, input) in inputs.enumerate() {
            let FnArg::Typed(typed) = input else { continue };
            let ty = &typed.ty;
            let arg_name = match &*typed.pat {
                Pat::Ident(p) => p.ident.to_string(),
                _ => format!("arg{i}"),
            };
            let var = format_ident!("__arg{}", i);
            lets.push(quote_spanned! {ty.span()=>
                let #var: #ty = __args.next(#arg_name)?;
            });
            call_args.push(quote!(#var));
        }
        let count = lets.len();
        let awaited = if f.sig.asyncness.is_some() {
            quote!(.await)
        } else {
            quote!()
        };
        let convert = if returns_result(&f.sig.output) {
            quote!(#krate::__private::result(__out))
        } else {
            quote!(#krate::__private::output(__out))
        };
        arms.push(quote! {
            #name => {
                let mut __args = #krate::__private::Args::new(#name, args, #count)?;
                #(#lets)*
                let __out = self.#method(#(#call_args),*)#awaited;
                #convert
            }
        });
        names.push(name);
    }
    let self_ty = &block.self_ty;
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    Ok(quote! {
        #block

        impl #impl_generics #krate::Actions for #self_ty #where_clause {
            const ACTIONS: &'static [&'static str] = &[#(#names),*];

            async fn dispatch(
                &self,
                rpc: &mut #krate::Rpc<Self>,
                method: &str,
                args: ::std::vec::Vec<#krate::__private::Value>,
            ) -> ::core::result::Result<#krate::__private::Value, #krate::ActorError> {
                match method {
                    #(#arms)*
                    _ => {
                        let _ = (rpc, args);
                        ::core::result::Result::Err(#krate::__private::not_found(method))
                    }
                }
            }
        }
    })
}
