//! `isolated_test::main!(...)`: the test target's `main`, with the counting allocator and the
//! suite's defaults.

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Expr, Meta, Result, Token};

use crate::arguments::Arguments;

/// The arguments `main!` takes: the allocator, and each test argument that has an environment
/// variable.
const EXPECTED: &str =
    "`main!` takes `allocator = Path` (or `= &STATIC`), `timeout = \"...\"`, `leak_limit = N`, \
                        `memory_limit = \"64MiB\"`, `retries = N`, `strict_leaks` and \
                        `setup = path::to::warm_up`";

/// Arguments of a test that no suite-wide default stands for.
const TEST_ONLY: &[&str] = &[
    "allow_leaks",
    "signal",
    "exit_code",
    "stderr",
    "max_peak",
    "serial",
    "runtime",
];

/// `main!`'s arguments, each checked at its span.
struct SuiteArguments {
    allocator: Option<Allocator>,
    setup: Option<syn::Path>,
    /// The suite-wide defaults, checked as a test's own arguments are.
    defaults: Arguments,
}

fn parse_suite_arguments(args: TokenStream2) -> Result<SuiteArguments> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut allocator: Option<Allocator> = None;
    let mut setup: Option<syn::Path> = None;
    let mut defaults = Punctuated::<Meta, Token![,]>::new();
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match (name.as_str(), &meta) {
            ("allocator", Meta::NameValue(pair)) => {
                crate::arguments::reject_duplicate(allocator.is_some(), &meta, "allocator")?;
                allocator = Some(allocator_argument(&pair.value)?);
            }
            ("setup", Meta::NameValue(pair)) => {
                crate::arguments::reject_duplicate(setup.is_some(), &meta, "setup")?;
                setup = Some(crate::arguments::setup_argument(&pair.value)?);
            }
            ("allocator", _) => {
                return Err(Error::new(meta.span(), "write `allocator = ...`"));
            }
            ("timeout" | "leak_limit" | "memory_limit" | "retries" | "strict_leaks", _) => {
                defaults.push(meta)
            }
            (name, _) if TEST_ONLY.contains(&name) => {
                return Err(Error::new(
                    meta.path().span(),
                    format!(
                        "`{name}` is an argument of one test, not a suite-wide default; {EXPECTED}"
                    ),
                ));
            }
            _ => {
                return Err(Error::new(
                    meta.path().span(),
                    format!("unknown argument; {EXPECTED}"),
                ))
            }
        }
    }
    Ok(SuiteArguments {
        allocator,
        setup,
        defaults: crate::arguments::parse_arguments(defaults.to_token_stream())?,
    })
}

/// `for_editor`: rust-analyzer expands it, and gets no `isolated_tests_need_harness_false` test
/// (its lens would offer a runnable that runs no test).
pub(crate) fn expand(args: TokenStream2, for_editor: bool) -> Result<TokenStream2> {
    let SuiteArguments {
        allocator,
        setup,
        defaults: arguments,
    } = parse_suite_arguments(args)?;
    let private = crate::private();
    let some = |value: Option<TokenStream2>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let timeout = some(arguments.timeout.map(|(_, duration)| {
        let (secs, nanos) = (duration.as_secs(), duration.subsec_nanos());
        quote!(#private::Duration::new(#secs, #nanos))
    }));
    let leak_limit = some(arguments.leak_limit.map(|(_, bytes)| quote!(#bytes)));
    let memory_limit = some(arguments.memory_limit.map(|(_, bytes)| quote!(#bytes)));
    let retries = some(arguments.retries.map(|(_, retries)| quote!(#retries)));
    let strict_leaks = arguments.strict_leaks.is_some();
    let setup = crate::expansion::setup_value(setup.as_ref());
    let (allocator, counting) = counting_allocator(allocator);
    // Compiled only by libtest's harness (`rustc --test`), which runs this instead of `main`: a
    // target that forgot `harness = false` fails saying so, rather than running none of its
    // tests and passing. Named by its full path: where `use isolated_test::test;` is in scope
    // (for other crates' macros), a bare `#[test]` here would be ours.
    let harness_missing = (!for_editor).then(|| {
        quote! {
            #[::core::prelude::v1::test]
            fn isolated_tests_need_harness_false() {
                ::core::panic!(
                    "{}",
                    #private::harness_missing(
                        ::core::option_env!("CARGO_TARGET_TMPDIR").is_some(),
                        ::core::option_env!("CARGO_BIN_NAME"),
                        ::core::env!("CARGO_CRATE_NAME"),
                    )
                );
            }
        }
    });
    Ok(quote! {
        #[global_allocator]
        static __ISOLATED_TEST_ALLOCATOR: #allocator = #counting;

        fn main() {
            #private::run_main(#private::SuiteDefaults {
                timeout: #timeout,
                leak_limit: #leak_limit,
                memory_limit: #memory_limit,
                retries: #retries,
                strict_leaks: #strict_leaks,
                setup: #setup,
                root_file: ::core::file!(),
            })
        }

        #harness_missing
    })
}

/// What `allocator = ...` names: a unit struct's type, or a static holding an allocator.
enum Allocator {
    Unit(syn::Path),
    Static(syn::Path),
}

const ALLOCATOR: &str = "allocator takes the path of a unit struct that implements `GlobalAlloc`, like `allocator = std::alloc::System`, or a reference to the static your `#[global_allocator]` was, like `allocator = &GLOBAL`";

fn allocator_argument(value: &Expr) -> Result<Allocator> {
    match value {
        Expr::Path(path) => Ok(Allocator::Unit(path.path.clone())),
        Expr::Reference(reference) if reference.mutability.is_none() => match &*reference.expr {
            Expr::Path(path) => Ok(Allocator::Static(path.path.clone())),
            other => Err(Error::new(other.span(), ALLOCATOR)),
        },
        other => Err(Error::new(other.span(), ALLOCATOR)),
    }
}

/// The counting allocator's type and its constructor. By default the harness's `CountingSystem`,
/// `CountingAllocator::system()` behind a type that is not generic: its code is compiled in the
/// harness crate, at the harness's opt-level, rather than here, at the suite's (0 in a test
/// build); `[profile.dev.package.isolated-test] opt-level = 3` then speeds every allocation.
fn counting_allocator(allocator: Option<Allocator>) -> (TokenStream2, TokenStream2) {
    let private = crate::private();
    match allocator {
        Some(Allocator::Unit(path)) => (
            quote!(::isolated_test::CountingAllocator<#path>),
            quote!(::isolated_test::CountingAllocator::new(#path)),
        ),
        Some(Allocator::Static(path)) => (
            quote!(::isolated_test::CountingAllocator<#private::Forward>),
            quote!(::isolated_test::CountingAllocator::new(#private::Forward::to(&#path))),
        ),
        None => (
            quote!(#private::CountingSystem),
            quote!(#private::CountingSystem),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_the_harness_missing_test(expansion: TokenStream2) -> bool {
        let file: syn::File = syn::parse2(expansion).unwrap();
        file.items.iter().any(|item| {
            matches!(item, syn::Item::Fn(function)
                if function.sig.ident == "isolated_tests_need_harness_false")
        })
    }

    #[test]
    fn rust_analyzer_gets_no_runnable_that_runs_no_test() {
        assert!(has_the_harness_missing_test(
            expand(quote!(), false).unwrap()
        ));
        assert!(!has_the_harness_missing_test(
            expand(quote!(), true).unwrap()
        ));
    }
}
