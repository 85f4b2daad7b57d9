//! `#[handler]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ItemFn, ReturnType, Type};

use crate::crate_path;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "#[handler] takes no arguments",
        ));
    }
    let function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if let Some(param) = sig
        .generics
        .params
        .iter()
        .find(|p| !matches!(p, GenericParam::Lifetime(_)))
    {
        return Err(syn::Error::new(
            param.span(),
            "#[handler] functions cannot be generic: each argument is resolved by its concrete type at request time",
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new(
            receiver.span(),
            "#[handler] cannot be used on methods: register a closure that calls the method, e.g. `move || t.handler()`",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "#[handler] functions cannot be variadic",
        ));
    }
    if sig.constness.is_some() || sig.unsafety.is_some() || sig.abi.is_some() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[handler] functions must be plain `fn` or `async fn`",
        ));
    }

    let core = crate_path::flame_core();
    let name = &sig.ident;
    let vis = &function.vis;
    let attrs = &function.attrs;
    let is_async = sig.asyncness.is_some();

    let mut resolutions = Vec::new();
    let mut call_args = Vec::new();
    let mut dependencies = Vec::new();
    let mut prepares = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        let ty = &*typed.ty;
        let span = ty.span();
        let value = format_ident!("__flame_arg{}", index);
        let holder = format_ident!("__flame_shared{}", index);
        match ty {
            Type::Reference(reference) => {
                if reference.mutability.is_some() {
                    return Err(syn::Error::new(
                        span,
                        "#[handler] arguments cannot be `&mut`: injected values are shared; use interior mutability (a Mutex) inside the service",
                    ));
                }
                let inner = &*reference.elem;
                resolutions.push(quote_spanned! {span=>
                    let #holder = #core::__private::resolve_shared::<#inner>(&__flame_ctx, __flame_ordinal, &__flame_name);
                    let #value: &#inner = &*#holder;
                });
                dependencies.push(
                    quote_spanned! {span=> ::std::option::Option::Some(#core::__private::Dependency::of::<#inner>()) },
                );
            }
            _ => {
                resolutions.push(quote_spanned! {span=>
                    let #value: #ty = #core::__private::resolve::<#ty>(&__flame_ctx, __flame_ordinal, &__flame_name);
                });
                dependencies.push(quote_spanned! {span=> #core::__private::dependency::<#ty>() });
                prepares.push(quote_spanned! {span=> <#ty as #core::HandlerArg>::PREPARE });
            }
        }
        call_args.push(value);
    }

    let output_ty = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let output_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let write = quote_spanned! {output_span=>
        let __flame_output: #output_ty = __flame_output;
        #core::__private::write_return(&__flame_ctx, __flame_output);
    };
    let inputs = &sig.inputs;
    let output = &sig.output;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let asyncness = &sig.asyncness;
    let block = &function.block;

    let body = if is_async {
        quote! {
            let __flame_ctx = __flame_ctx.clone();
            #core::Invocation::Pending(::std::boxed::Box::pin(async move {
                let __flame_name = || ::std::borrow::Cow::Borrowed(#name::HANDLER_NAME);
                #(#resolutions)*
                let __flame_output = #name::call(#(#call_args),*).await;
                #write
            }))
        }
    } else {
        quote! {
            let __flame_name = || ::std::borrow::Cow::Borrowed(#name::HANDLER_NAME);
            #(#resolutions)*
            let __flame_output = #name::call(#(#call_args),*);
            #write
            #core::Invocation::Ready
        }
    };

    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        impl #name {
            /// The handler's full path, as panic messages and the startup check show it.
            #vis const HANDLER_NAME: &'static str =
                ::std::concat!(::std::module_path!(), "::", ::std::stringify!(#name));

            /// The handler function itself, callable directly (in unit tests, for instance).
            #[allow(clippy::too_many_arguments)]
            #vis #asyncness fn call #generics (#inputs) #output #where_clause #block
        }

        impl #core::Invocable for #name {
            fn name(&self) -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#name::HANDLER_NAME)
            }

            fn dependencies(&self) -> ::std::vec::Vec<#core::__private::Dependency> {
                let dependencies: &[::std::option::Option<#core::__private::Dependency>] =
                    &[#(#dependencies),*];
                dependencies.iter().flatten().copied().collect()
            }

            #[allow(unused_variables, clippy::let_unit_value)]
            fn call(&self, __flame_ctx: &#core::Context, __flame_ordinal: usize) -> #core::Invocation {
                let __flame_prepares: &'static [::std::option::Option<#core::__private::Prepare>] =
                    const { &[#(#prepares),*] };
                let __flame_run = move |__flame_ctx: &#core::Context| -> #core::Invocation {
                    #body
                };
                if !#core::__private::needs_preparing(__flame_prepares) {
                    return __flame_run(__flame_ctx);
                }
                #core::__private::with_prepared(__flame_ctx, __flame_prepares, __flame_run)
            }
        }
    })
}
