//! The `#[isolated_test]` attribute of [isolated-test](https://docs.rs/isolated-test).
//!
//! Use it through the `isolated-test` crate, which re-exports it; this crate only turns a test
//! function into a registration that the harness finds at run time.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, ExprLit, ItemFn, Lit, LitStr, Meta, Result, ReturnType, Token};

/// Marks a function as a test that runs in its own forked child process.
///
/// Arguments, all optional: `timeout = "2s"`, `leak_limit = 4096`, `allow_leaks`.
/// `#[should_panic]` and `#[ignore]` work as with `#[test]`. See the `isolated-test` crate.
#[proc_macro_attribute]
pub fn isolated_test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Arguments {
    timeout: Option<(Span, std::time::Duration)>,
    leak_limit: Option<(Span, u64)>,
    allow_leaks: Option<Span>,
}

const EXPECTED: &str = "expected `timeout = \"...\"`, `leak_limit = N` or `allow_leaks`";

fn parse_arguments(args: TokenStream2) -> Result<Arguments> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut parsed = Arguments::default();
    for meta in metas {
        let Some(name) = meta.path().get_ident().map(ToString::to_string) else {
            return Err(Error::new(
                meta.path().span(),
                format!("unknown argument; {EXPECTED}"),
            ));
        };
        match (name.as_str(), &meta) {
            ("timeout", Meta::NameValue(pair)) => {
                reject_duplicate(parsed.timeout.is_some(), &meta, "timeout")?;
                let text = string_literal(&pair.value, "timeout = \"2s\"")?;
                let duration = humantime::parse_duration(&text.value()).map_err(|error| {
                    Error::new(
                        text.span(),
                        format!(
                            "invalid timeout {:?}: {error} (try \"500ms\", \"2s\" or \"1m 30s\")",
                            text.value()
                        ),
                    )
                })?;
                if duration.is_zero() {
                    return Err(Error::new(text.span(), "timeout must be longer than zero"));
                }
                parsed.timeout = Some((meta.span(), duration));
            }
            ("leak_limit", Meta::NameValue(pair)) => {
                reject_duplicate(parsed.leak_limit.is_some(), &meta, "leak_limit")?;
                let limit = match &pair.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) => int.base10_parse::<u64>()?,
                    other => {
                        return Err(Error::new(
                            other.span(),
                            "leak_limit takes a number of bytes, like `leak_limit = 4096`",
                        ))
                    }
                };
                parsed.leak_limit = Some((meta.span(), limit));
            }
            ("allow_leaks", Meta::Path(_)) => {
                reject_duplicate(parsed.allow_leaks.is_some(), &meta, "allow_leaks")?;
                parsed.allow_leaks = Some(meta.span());
            }
            ("timeout" | "leak_limit", _) => {
                return Err(Error::new(meta.span(), format!("write `{name} = ...`")));
            }
            ("allow_leaks", _) => {
                return Err(Error::new(meta.span(), "`allow_leaks` takes no value"));
            }
            _ => {
                return Err(Error::new(
                    meta.path().span(),
                    format!("unknown argument `{name}`; {EXPECTED}"),
                ))
            }
        }
    }
    if let (Some(_), Some(span)) = (parsed.leak_limit, parsed.allow_leaks) {
        return Err(Error::new(
            span,
            "`allow_leaks` and `leak_limit` contradict each other; keep one",
        ));
    }
    Ok(parsed)
}

fn reject_duplicate(seen: bool, meta: &Meta, name: &str) -> Result<()> {
    if seen {
        return Err(Error::new(meta.span(), format!("`{name}` is given twice")));
    }
    Ok(())
}

fn string_literal<'a>(expr: &'a Expr, example: &str) -> Result<&'a LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text),
        other => Err(Error::new(
            other.span(),
            format!("expected a string literal, like `{example}`"),
        )),
    }
}

/// `#[should_panic]` and `#[ignore]`, taken off the function: they mean something to us only.
struct StandardAttributes {
    should_panic: TokenStream2,
    ignore: TokenStream2,
}

fn take_standard_attributes(attrs: &mut Vec<Attribute>) -> Result<StandardAttributes> {
    let mut should_panic = None;
    let mut ignore = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        if attr.path().is_ident("should_panic") {
            if should_panic.is_some() {
                return Err(Error::new(attr.span(), "`#[should_panic]` is given twice"));
            }
            should_panic = Some(parse_should_panic(&attr)?);
        } else if attr.path().is_ident("ignore") {
            if ignore.is_some() {
                return Err(Error::new(attr.span(), "`#[ignore]` is given twice"));
            }
            ignore = Some(parse_ignore(&attr)?);
        } else {
            kept.push(attr);
        }
    }
    *attrs = kept;
    let private = private();
    Ok(StandardAttributes {
        should_panic: should_panic.unwrap_or_else(|| quote!(#private::ShouldPanic::No)),
        ignore: ignore.unwrap_or_else(|| quote!(#private::Ignore::No)),
    })
}

fn parse_should_panic(attr: &Attribute) -> Result<TokenStream2> {
    let private = private();
    let expected = match &attr.meta {
        Meta::Path(_) => None,
        Meta::NameValue(pair) => {
            Some(string_literal(&pair.value, "should_panic = \"boom\"")?.clone())
        }
        Meta::List(list) => {
            let mut expected = None;
            list.parse_nested_meta(|nested| {
                if nested.path.is_ident("expected") && expected.is_none() {
                    expected = Some(nested.value()?.parse::<LitStr>()?);
                    Ok(())
                } else {
                    Err(nested.error("expected `expected = \"...\"`"))
                }
            })?;
            expected
        }
    };
    Ok(match expected {
        Some(text) => quote!(#private::ShouldPanic::WithMessage(#text)),
        None => quote!(#private::ShouldPanic::Yes),
    })
}

fn parse_ignore(attr: &Attribute) -> Result<TokenStream2> {
    let private = private();
    match &attr.meta {
        Meta::Path(_) => Ok(quote!(#private::Ignore::Yes(::core::option::Option::None))),
        Meta::NameValue(pair) => {
            let reason = string_literal(&pair.value, "ignore = \"reason\"")?;
            Ok(quote!(#private::Ignore::Yes(::core::option::Option::Some(#reason))))
        }
        Meta::List(list) => Err(Error::new(
            list.span(),
            "write `#[ignore]` or `#[ignore = \"reason\"]`",
        )),
    }
}

fn private() -> TokenStream2 {
    quote!(::isolated_test::__private)
}

fn check_signature(function: &ItemFn) -> Result<()> {
    let signature = &function.sig;
    if let Some(asyncness) = signature.asyncness {
        return Err(Error::new(
            asyncness.span(),
            "#[isolated_test] functions cannot be async yet; build a runtime in the test and call `block_on`",
        ));
    }
    if let Some(unsafety) = signature.unsafety {
        return Err(Error::new(
            unsafety.span(),
            "#[isolated_test] functions cannot be unsafe; use an unsafe block inside",
        ));
    }
    if !signature.generics.params.is_empty() {
        return Err(Error::new(
            signature.generics.span(),
            "#[isolated_test] functions cannot be generic",
        ));
    }
    if !signature.inputs.is_empty() {
        return Err(Error::new(
            signature.inputs.span(),
            "#[isolated_test] functions take no arguments",
        ));
    }
    Ok(())
}

fn expand(args: TokenStream2, item: TokenStream2) -> Result<TokenStream2> {
    let arguments = parse_arguments(args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    check_signature(&function)?;
    let standard = take_standard_attributes(&mut function.attrs)?;

    let private = private();
    let ident = &function.sig.ident;
    let name = ident.to_string();
    let timeout = match arguments.timeout {
        Some((_, duration)) => {
            let (secs, nanos) = (duration.as_secs(), duration.subsec_nanos());
            quote!(::core::option::Option::Some(#private::Duration::new(#secs, #nanos)))
        }
        None => quote!(::core::option::Option::None),
    };
    let leaks = match (arguments.leak_limit, arguments.allow_leaks) {
        (Some((_, limit)), _) => quote!(#private::LeakPolicy::Limit(#limit)),
        (None, Some(_)) => quote!(#private::LeakPolicy::Allow),
        (None, None) => quote!(#private::LeakPolicy::RunDefault),
    };
    // Errors about an unsupported return type point at the return type.
    let return_span = match &function.sig.output {
        ReturnType::Default => ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let call = quote_spanned! {return_span=>
        #private::TestReturn::into_test_result(#ident())
    };
    let should_panic = standard.should_panic;
    let ignore = standard.ignore;
    Ok(quote! {
        #function

        const _: () = {
            fn __isolated_test_body() -> ::core::result::Result<(), ::std::string::String> {
                #call
            }
            #private::inventory::submit! {
                #private::TestCase {
                    module_path: ::core::module_path!(),
                    name: #name,
                    body: __isolated_test_body,
                    ignore: #ignore,
                    should_panic: #should_panic,
                    timeout: #timeout,
                    leaks: #leaks,
                }
            }
        };
    })
}
