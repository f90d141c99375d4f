//! `#[isolated_test]` above test-case's `#[test_case(...)]`s: each case becomes an
//! `#[isolated_test]` of its own.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{Attribute, ItemFn};

use crate::private;

/// test-case's `#[test_case(...)]`, below `#[isolated_test]`.
pub(crate) fn is_test_case_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test_case")
}

/// `#[isolated_test]` above test-case's `#[test_case(...)]`s: the function again, with the
/// `#[test_case]`s first and `#[isolated_test]` after them, made `async`. test-case gives a sync
/// case libtest's `#[test]` (which rustc drops outside libtest, silently), but leaves an async
/// case's test attribute to the function's own attributes: so each case becomes an
/// `#[isolated_test]`, run by a runtime that polls a future that never waits once.
pub(crate) fn under_test_case(
    args: TokenStream2,
    mut function: ItemFn,
    has_runtime: bool,
) -> TokenStream2 {
    let (cases, others): (Vec<Attribute>, Vec<Attribute>) =
        function.attrs.drain(..).partition(is_test_case_attribute);
    let private = private();
    let args = match (function.sig.asyncness.is_some(), has_runtime) {
        (false, _) => {
            function.sig.asyncness = Some(Default::default());
            let separator = (!args.is_empty()).then(|| quote!(,));
            quote!(#args #separator runtime = #private::run_ready)
        }
        (true, _) => args,
    };
    function.attrs = others;
    quote! {
        #(#cases)*
        #[::isolated_test::isolated_test(#args)]
        #function
    }
}
