//! The standard test attributes on an `#[isolated_test]` function: `#[should_panic]` and
//! `#[ignore]` are taken off it and become the registration's; another harness's test
//! attribute (`#[test]`, `#[tokio::test]`) is refused, since rustc would drop the item.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Attribute, Error, LitStr, Meta, Result};

use crate::arguments::{string_literal, Arguments};
use crate::private;

/// `#[should_panic]` and `#[ignore]`, taken off the function: they mean something to us only.
pub(crate) struct StandardAttributes {
    pub(crate) should_panic: TokenStream2,
    /// Where `#[should_panic]` was written, if it was.
    pub(crate) should_panic_span: Option<Span>,
    pub(crate) ignore: TokenStream2,
}

pub(crate) fn take_standard_attributes(attrs: &mut Vec<Attribute>) -> Result<StandardAttributes> {
    let mut should_panic = None;
    let mut should_panic_span = None;
    let mut ignore = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        if attr.path().is_ident("should_panic") {
            if should_panic.is_some() {
                return Err(Error::new(attr.span(), "`#[should_panic]` is given twice"));
            }
            should_panic = Some(parse_should_panic(&attr)?);
            should_panic_span = Some(attr.meta.span());
        } else if attr.path().is_ident("ignore") {
            if ignore.is_some() {
                return Err(Error::new(attr.span(), "`#[ignore]` is given twice"));
            }
            ignore = Some(parse_ignore(&attr)?);
        } else if is_test_attribute(&attr) {
            return Err(test_attribute_error(&attr));
        } else {
            kept.push(attr);
        }
    }
    *attrs = kept;
    let private = private();
    Ok(StandardAttributes {
        should_panic: should_panic.unwrap_or_else(|| quote!(#private::ShouldPanic::No)),
        should_panic_span,
        ignore: ignore.unwrap_or_else(|| quote!(#private::Ignore::No)),
    })
}

/// `#[test]`, `#[tokio::test]`, `#[core::prelude::v1::test]`: another harness's test attribute.
fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
}

/// Another test attribute below `#[isolated_test]` (one above it expands first, and is the
/// other macro's to take: rustc drops a `#[test]` item outside libtest, so the user guide (docs/guide.md) says to put
/// `#[isolated_test]` alone).
fn test_attribute_error(attr: &Attribute) -> Error {
    let path = attr.path();
    let written = quote!(#path).to_string().replace(' ', "");
    let message = if written == "test" {
        "remove `#[test]`: `#[isolated_test]` registers and runs the test itself".to_owned()
    } else {
        format!(
            "remove `#[{written}]`: `#[isolated_test]` registers and runs the test itself, in its own process, and runs an `async fn` on a current-thread tokio runtime there (isolated-test's `tokio` feature) or on the one `runtime = path::to::block_on` names"
        )
    };
    Error::new(attr.meta.span(), message)
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

/// Arguments that contradict the function's `#[should_panic]`, or its absence.
pub(crate) fn reject_contradictions_with(
    arguments: &Arguments,
    standard: &StandardAttributes,
) -> Result<()> {
    if let Some(span) = standard.should_panic_span {
        if arguments.signal.is_some() || arguments.exit_code.is_some() {
            return Err(Error::new(
                span,
                "`#[should_panic]` contradicts `signal` and `exit_code`: a test that must die cannot also have to panic",
            ));
        }
    }
    if let Some((span, _)) = &arguments.stderr {
        if standard.should_panic_span.is_none()
            && arguments.signal.is_none()
            && arguments.exit_code.is_none()
        {
            return Err(Error::new(
                *span,
                "`stderr` checks the output of a test that dies or panics: add `signal = \"...\"`, `exit_code = N` or `#[should_panic]`",
            ));
        }
    }
    Ok(())
}
