//! What `#[isolated_test]` expands to: the function as written, and its registration with the
//! harness (an `inventory` submission of a `TestCase` in the hidden `__private` module).

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Error, ItemFn, Result, ReturnType};

use crate::arguments::{parse_arguments, Arguments};
use crate::private;
use crate::standard_attributes::{reject_contradictions_with, take_standard_attributes};
use crate::test_case::{is_test_case_attribute, under_test_case};

/// The expansion; `for_editor` gives the function the test attribute rust-analyzer looks for.
pub(crate) fn expand(
    args: TokenStream2,
    item: TokenStream2,
    for_editor: bool,
) -> Result<TokenStream2> {
    let arguments = parse_arguments(args.clone())?;
    let mut function: ItemFn = syn::parse2(item)?;
    if function.attrs.iter().any(is_test_case_attribute) {
        return Ok(under_test_case(args, function, arguments.runtime.is_some()));
    }
    check_signature(&function)?;
    let standard = take_standard_attributes(&mut function.attrs)?;

    let private = private();
    let ident = &function.sig.ident;
    let name = ident.to_string();
    // Errors about an unsupported return type point at the return type.
    let return_span = match &function.sig.output {
        ReturnType::Default => ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    // An `async fn` runs to completion on a runtime in the child: the one `runtime = ...`
    // names, or a current-thread tokio runtime (isolated-test's `tokio` feature).
    let run = match (&function.sig.asyncness, &arguments.runtime) {
        (None, Some((span, _))) => {
            return Err(Error::new(
                *span,
                "`runtime` runs an `async fn`; this test is not async",
            ))
        }
        (None, None) => quote_spanned!(return_span=> #ident()),
        (Some(_), Some((_, runtime))) => quote_spanned!(return_span=> #runtime(#ident())),
        (Some(_), None) => quote_spanned!(return_span=> #private::block_on(#ident())),
    };
    let call = quote_spanned! {return_span=>
        #private::TestReturn::into_test_result(#run)
    };
    reject_contradictions_with(&arguments, &standard)?;
    let settings = settings(&arguments);
    let should_panic = standard.should_panic;
    let ignore = standard.ignore;
    let lens = for_editor.then(|| quote!(#[test]));
    // Spanned at the name: `line!()` and `column!()` then say where the name stands.
    let source = quote_spanned! {ident.span()=>
        #private::Source {
            file: ::core::file!(),
            line: ::core::line!(),
            column: ::core::column!(),
        }
    };
    Ok(quote! {
        #lens
        #function

        const _: () = {
            fn __isolated_test_body() -> ::core::result::Result<(), ::std::string::String> {
                #call
            }
            #private::inventory::submit! {
                #private::TestCase {
                    module_path: ::core::module_path!(),
                    name: #name,
                    source: #source,
                    body: __isolated_test_body,
                    ignore: #ignore,
                    should_panic: #should_panic,
                    #settings
                }
            }
        };
    })
}

fn check_signature(function: &ItemFn) -> Result<()> {
    let signature = &function.sig;
    if let syn::Safety::Unsafe(unsafety) = &signature.safety {
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

/// The `TestCase` fields the attribute's arguments set, from `timeout` to `serial`.
fn settings(arguments: &Arguments) -> TokenStream2 {
    let private = private();
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
    let end = match (&arguments.signal, arguments.exit_code) {
        (Some((_, number)), _) => quote!(#private::ExpectedEnd::Signal(#number)),
        (None, Some((_, code))) => quote!(#private::ExpectedEnd::ExitCode(#code)),
        (None, None) => quote!(#private::ExpectedEnd::Finish),
    };
    let stderr = match &arguments.stderr {
        Some((_, pattern)) => quote!(::core::option::Option::Some(#pattern)),
        None => quote!(::core::option::Option::None),
    };
    let retries = match arguments.retries {
        Some((_, retries)) => quote!(::core::option::Option::Some(#retries)),
        None => quote!(::core::option::Option::None),
    };
    let optional = |value: Option<u64>| match value {
        Some(bytes) => quote!(::core::option::Option::Some(#bytes)),
        None => quote!(::core::option::Option::None),
    };
    let memory_limit = optional(arguments.memory_limit.map(|(_, bytes)| bytes));
    let max_peak = optional(arguments.max_peak.map(|(_, bytes)| bytes));
    let strict_leaks = arguments.strict_leaks.is_some();
    let serial = match &arguments.serial {
        Some((_, group)) => quote!(::core::option::Option::Some(#group)),
        None => quote!(::core::option::Option::None),
    };
    let setup = setup_value(arguments.setup.as_ref().map(|(_, path)| path));
    quote! {
        setup: #setup,
        timeout: #timeout,
        leaks: #leaks,
        end: #end,
        stderr: #stderr,
        retries: #retries,
        memory_limit: #memory_limit,
        max_peak: #max_peak,
        strict_leaks: #strict_leaks,
        serial: #serial,
    }
}

/// The `Setup` a `setup = path` argument names, as an expression of type `Option<Setup>`.
pub(crate) fn setup_value(setup: Option<&syn::Path>) -> TokenStream2 {
    let private = private();
    let Some(path) = setup else {
        return quote!(::core::option::Option::None);
    };
    let name = quote!(#path).to_string().replace(' ', "");
    // Spanned at the path: a function of another signature is an error there.
    let run = quote_spanned!(path.span()=> #path as fn());
    quote! {
        ::core::option::Option::Some(#private::Setup {
            name: #name,
            key: ::core::concat!(::core::module_path!(), "::", #name),
            run: #run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The function as it stands in the expansion, with its attributes.
    fn function_in(expansion: TokenStream2) -> ItemFn {
        let file: syn::File = syn::parse2(expansion).expect("the expansion parses");
        file.items
            .into_iter()
            .find_map(|item| match item {
                syn::Item::Fn(function) => Some(function),
                _ => None,
            })
            .expect("the expansion keeps the function")
    }

    fn has_test_attribute(function: &ItemFn) -> bool {
        function
            .attrs
            .iter()
            .any(|attr| attr.path().is_ident("test"))
    }

    #[test]
    fn only_rust_analyzer_sees_a_test_attribute() {
        let item = quote!(
            fn adds() {}
        );
        let for_rustc = expand(quote!(), item.clone(), false).unwrap();
        assert!(!has_test_attribute(&function_in(for_rustc)));
        let for_editor = expand(quote!(), item, true).unwrap();
        assert!(has_test_attribute(&function_in(for_editor)));
    }
}
