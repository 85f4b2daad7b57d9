//! `#[actions]`: an actor's inherent impl block -> its `Actions` dispatch table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parse;
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

/// What a caller gets from an action: `T` of a `Result<T, E>`, the type itself otherwise,
/// `()` for no return type.
fn output_type(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            if let Type::Path(p) = &**ty
                && let Some(last) = p.path.segments.last()
                && last.ident == "Result"
                && let syn::PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(syn::GenericArgument::Type(ok)) = args.args.first()
            {
                owned(ok)
            } else {
                owned(ty)
            }
        }
    }
}

/// The owned type a caller reads a returned value as: `&str` is a `String`, `&[T]` a
/// `Vec<T>`; any other borrowed type is read as JSON, since nothing deserializes into it.
fn owned(ty: &Type) -> TokenStream {
    match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) if p.path.is_ident("str") => quote!(::std::string::String),
            Type::Slice(slice) if !mentions_reference(&slice.elem) => {
                let elem = &slice.elem;
                quote!(::std::vec::Vec<#elem>)
            }
            _ => json_value(),
        },
        _ if mentions_reference(ty) => json_value(),
        _ => quote!(#ty),
    }
}

fn json_value() -> TokenStream {
    let krate = crate_path();
    quote!(#krate::__private::Value)
}

fn mentions_reference(ty: &Type) -> bool {
    quote!(#ty).into_iter().any(|t| is_reference_token(&t))
}

fn is_reference_token(t: &proc_macro2::TokenTree) -> bool {
    match t {
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '&',
        proc_macro2::TokenTree::Group(g) => g.stream().into_iter().any(|t| is_reference_token(&t)),
        _ => false,
    }
}

/// Whether `ty` names `Self` anywhere: such a type means something else in the handle.
fn mentions_self(ty: &TokenStream) -> bool {
    ty.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "Self",
        proc_macro2::TokenTree::Group(g) => mentions_self(&g.stream()),
        _ => false,
    })
}

/// The text of a method's `///` comments, a line each.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// One entry of `#[actions(events(name = Type, ...))]`: an event and its payload type.
struct EventDecl {
    name: LitStr,
    ty: Type,
}

impl syn::parse::Parse for EventDecl {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let name = if input.peek(LitStr) {
            input.parse::<LitStr>()?
        } else {
            let ident = input.call(syn::Ident::parse_any)?;
            LitStr::new(&ident.to_string(), ident.span())
        };
        input.parse::<syn::Token![=]>()?;
        let ty = input.parse()?;
        Ok(Self { name, ty })
    }
}

/// The arguments of `#[actions(...)]`: nothing, or `events(name = Type, ...)`.
fn parse_events(attr: TokenStream) -> syn::Result<Vec<EventDecl>> {
    if attr.is_empty() {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("events") {
            let content;
            syn::parenthesized!(content in meta.input);
            let list = content.parse_terminated(EventDecl::parse, syn::Token![,])?;
            events.extend(list);
            Ok(())
        } else {
            Err(meta.error(
                "#[actions] takes only `events(name = PayloadType, ...)`, the events the actor broadcasts",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(events)
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let events = parse_events(attr)?;
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
    let mut handle_methods = Vec::new();
    let mut ts_actions = Vec::new();
    let mut ts_bounds = Vec::new();
    let mut all_typed = true;
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
        let name_lit = LitStr::new(&name, f.sig.ident.span());
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
        let mut params = Vec::new();
        let mut ts_params = Vec::new();
        let mut encoded = Vec::new();
        let mut bounds = Vec::new();
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
            if mentions_self(&quote!(#ty)) {
                all_typed = false;
            }
            let param = match &*typed.pat {
                Pat::Ident(p) => p.ident.clone(),
                _ => format_ident!("arg{}", i),
            };
            let param_lit = LitStr::new(&param.to_string(), param.span());
            ts_params.push(quote! {
                (#param_lit, <#ty as #krate::__private::Described<'__a>>::name(&mut __d))
            });
            ts_bounds.push(quote!(#ty: #krate::__private::Described<'__a>));
            params.push(quote!(#param: #ty));
            bounds.push(quote!(#ty: #krate::__private::Argument<'__a>));
            encoded.push(quote!(#krate::__private::Argument::to_argument(&#param, #name_lit)?));
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
        let output = output_type(&f.sig.output);
        if mentions_self(&output) {
            all_typed = false;
        }
        ts_bounds.push(quote!(#output: #krate::__private::Described<'__a>));
        let docs = doc_text(&f.attrs);
        ts_actions.push(quote! {
            {
                let __params = [#(#ts_params),*];
                let __output = <#output as #krate::__private::Described<'__a>>::name(&mut __d);
                __d.action(#docs, #name_lit, &__params, &__output);
            }
        });
        let doc = format!("Calls the action `{name}`.");
        handle_methods.push(quote! {
            #[doc = #doc]
            ///
            /// # Errors
            ///
            /// The action's error, or the actor system's (`actor_not_found`,
            /// `actor_destroyed`, `unavailable`), as a [`CallError`](#krate::CallError).
            #[allow(clippy::too_many_arguments)]
            ///
            /// (The lifetime `'__a` only defers the `Serialize`/`Deserialize` checks of the
            /// types to where this method is called.)
            pub async fn #method<'__a>(&self, #(#params),*) -> ::core::result::Result<#output, #krate::CallError>
            where
                #(#bounds,)*
                #output: #krate::__private::Output<'__a>,
            {
                let __args = ::std::vec![#(#encoded),*];
                let __out = self.0.call_json(#name_lit, __args).await?;
                <#output as #krate::__private::Output<'__a>>::from_output(#name_lit, __out)
            }
        });
        names.push(name);
    }
    let event_types: Vec<&Type> = events.iter().map(|e| &e.ty).collect();
    let event_bounds: Vec<TokenStream> = event_types
        .iter()
        .map(|ty| quote!(#ty: #krate::__private::Described<'__a>))
        .collect();
    let ts_events: Vec<TokenStream> = events
        .iter()
        .map(|EventDecl { name, ty }| {
            quote! {
                {
                    let __payload = <#ty as #krate::__private::Described<'__a>>::name(&mut __d);
                    __d.event(#name, &__payload);
                }
            }
        })
        .collect();
    // Without the `typescript` feature the event types are still named, so a typo in one is
    // an error either way.
    let events_named = quote! {
        const _: ::core::marker::PhantomData<(#(#event_types,)*)> = ::core::marker::PhantomData;
    };
    let self_ty = &block.self_ty;
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let handle = match &**self_ty {
        Type::Path(p) if all_typed && block.generics.params.is_empty() && p.qself.is_none() => {
            p.path.segments.last().map(|last| {
                let actor = &last.ident;
                let handle_ty = format_ident!("{}Handle", actor);
                let actor_lit = LitStr::new(&actor.to_string(), actor.span());
                let ts_doc = format!(
                    "The TypeScript declarations of this actor for the JavaScript client: a \
                     `.d.ts` module exporting `type {actor}` (its actions and events) and every \
                     type they name. Each type implements `ts_rs::TS`."
                );
                let doc = format!(
                    "A typed handle to one `{actor}`: one method per action, with its own \
                     argument and return types. Made by [`{actor}::handle`]."
                );
                quote! {
                    #[doc = #doc]
                    #[derive(Debug, Clone)]
                    #[allow(unreachable_pub)]
                    pub struct #handle_ty(#krate::Handle<#self_ty>);

                    #[allow(unreachable_pub)]
                    impl #self_ty {
                        /// A typed handle to the instance `key` in `system` (the kind this
                        /// type was registered under), called by
                        /// [`LocalCaller`](#krate::LocalCaller) unless
                        /// `with_caller` says otherwise.
                        pub fn handle(
                            system: &#krate::ActorSystem,
                            key: impl ::core::convert::Into<::std::sync::Arc<str>>,
                        ) -> #handle_ty {
                            #handle_ty(#krate::Handle::new(system, key))
                        }
                    }

                    #[allow(unreachable_pub)]
                    impl #handle_ty {
                        /// The same instance, called by `caller` (in a handler, `c.actor()`).
                        #[must_use]
                        pub fn with_caller(
                            self,
                            caller: ::std::sync::Arc<dyn #krate::__private::Actor>,
                        ) -> Self {
                            Self(self.0.with_caller(caller))
                        }

                        /// The untyped handle under this one.
                        pub fn untyped(&self) -> &#krate::Handle<#self_ty> {
                            &self.0
                        }

                        #(#handle_methods)*
                    }

                    #krate::__typescript! {
                        #[allow(unreachable_pub)]
                        impl #self_ty {
                            #[doc = #ts_doc]
                            ///
                            /// (The lifetime `'__a` only defers the `TS` checks of the types
                            /// to where this function is called.)
                            pub fn typescript<'__a>() -> ::std::string::String
                            where
                                <#self_ty as #krate::StatefulActor>::ConnParams: #krate::__private::Described<'__a>,
                                #(#ts_bounds,)*
                                #(#event_bounds,)*
                            {
                                let mut __d = #krate::__private::Declarations::default();
                                let __params = <<#self_ty as #krate::StatefulActor>::ConnParams as #krate::__private::Described<'__a>>::name(&mut __d);
                                __d.params(__params);
                                #(#ts_actions)*
                                #(#ts_events)*
                                __d.finish(#actor_lit)
                            }
                        }
                    }
                }
            })
        }
        _ => None,
    };
    Ok(quote! {
        #block

        #handle

        #events_named

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
