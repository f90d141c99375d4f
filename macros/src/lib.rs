//! The `#[isolated_test]` attribute of [isolated-test](https://docs.rs/isolated-test).
//!
//! Use it through the `isolated-test` crate, which re-exports it; this crate only turns a test
//! function into a registration that the harness finds at run time.

mod suite;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, ExprLit, ItemFn, Lit, LitStr, Meta, Result, ReturnType, Token};

/// Marks a function as a test that runs in its own forked child process.
///
/// Arguments, all optional: `timeout = "2s"`, `leak_limit = 4096`, `allow_leaks`,
/// `strict_leaks`, `signal = "SIGSEGV"`, `exit_code = 3`, `stderr = "regex"`, `retries = 2`,
/// `memory_limit = "64MiB"`, `max_peak = "8MiB"`, `serial = "group"`,
/// `runtime = path::to::block_on` (for an `async fn`). `#[should_panic]` and `#[ignore]`
/// work as with `#[test]`. See the `isolated-test` crate.
#[proc_macro_attribute]
pub fn isolated_test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into(), for_editor()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The test target's `main`: installs the counting allocator and runs the harness, with the
/// suite's defaults. Use it through the `isolated-test` crate: `isolated_test::main!();`.
#[proc_macro]
pub fn main(args: TokenStream) -> TokenStream {
    match suite::expand(args.into(), for_editor()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Arguments {
    timeout: Option<(Span, std::time::Duration)>,
    leak_limit: Option<(Span, u64)>,
    allow_leaks: Option<Span>,
    strict_leaks: Option<Span>,
    signal: Option<(Span, TokenStream2)>,
    exit_code: Option<(Span, i32)>,
    stderr: Option<(Span, LitStr)>,
    retries: Option<(Span, u32)>,
    memory_limit: Option<(Span, u64)>,
    max_peak: Option<(Span, u64)>,
    serial: Option<(Span, LitStr)>,
    runtime: Option<(Span, syn::Path)>,
    setup: Option<(Span, syn::Path)>,
}

const EXPECTED: &str = "expected `timeout = \"...\"`, `leak_limit = N`, `allow_leaks`, `strict_leaks`, \
                        `signal = \"SIGSEGV\"`, `exit_code = N`, `stderr = \"regex\"`, `retries = N`, \
                        `memory_limit = \"64MiB\"`, `max_peak = \"8MiB\"`, `serial = \"group\"`, \
                        `runtime = path::to::block_on` or `setup = path::to::warm_up`";

/// Signal names as `kill -l` lists them, without `SIG`. Each becomes `libc::SIG...`, so a name
/// the target lacks is still a compile error, at the attribute.
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "EMT", "FPE", "KILL", "USR1",
    "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "INFO", "SYS",
];

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
        match &meta {
            Meta::NameValue(pair) if VALUED.contains(&name.as_str()) => {
                parse_valued(&mut parsed, &name, &meta, &pair.value)?
            }
            Meta::Path(_) if FLAGS.contains(&name.as_str()) => {
                parse_flag(&mut parsed, &name, &meta)?
            }
            _ if VALUED.contains(&name.as_str()) => {
                return Err(Error::new(meta.span(), format!("write `{name} = ...`")));
            }
            _ if FLAGS.contains(&name.as_str()) => {
                return Err(Error::new(meta.span(), format!("`{name}` takes no value")));
            }
            _ => {
                return Err(Error::new(
                    meta.path().span(),
                    format!("unknown argument `{name}`; {EXPECTED}"),
                ))
            }
        }
    }
    reject_contradictions(&parsed)?;
    Ok(parsed)
}

/// The arguments written `name = value`.
const VALUED: &[&str] = &[
    "timeout",
    "leak_limit",
    "signal",
    "exit_code",
    "stderr",
    "retries",
    "memory_limit",
    "max_peak",
    "serial",
    "runtime",
    "setup",
];
/// The arguments written as a bare name.
const FLAGS: &[&str] = &["allow_leaks", "strict_leaks"];

/// One `name = value` argument, one of [`VALUED`].
fn parse_valued(parsed: &mut Arguments, name: &str, meta: &Meta, value: &Expr) -> Result<()> {
    let span = meta.span();
    match name {
        "timeout" => {
            reject_duplicate(parsed.timeout.is_some(), meta, name)?;
            parsed.timeout = Some((span, timeout_argument(value)?));
        }
        "leak_limit" => {
            reject_duplicate(parsed.leak_limit.is_some(), meta, name)?;
            let message = "leak_limit takes a number of bytes, like `leak_limit = 4096`";
            parsed.leak_limit = Some((span, int_argument(value, message)?));
        }
        "signal" => {
            reject_duplicate(parsed.signal.is_some(), meta, name)?;
            parsed.signal = Some((span, signal_number(value)?));
        }
        "exit_code" => {
            reject_duplicate(parsed.exit_code.is_some(), meta, name)?;
            parsed.exit_code = Some((span, exit_code_argument(value)?));
        }
        "memory_limit" => {
            reject_duplicate(parsed.memory_limit.is_some(), meta, name)?;
            parsed.memory_limit = Some((span, size_argument(value, name)?));
        }
        "max_peak" => {
            reject_duplicate(parsed.max_peak.is_some(), meta, name)?;
            parsed.max_peak = Some((span, size_argument(value, name)?));
        }
        "retries" => {
            reject_duplicate(parsed.retries.is_some(), meta, name)?;
            let message =
                "retries takes how many times to run a failing test again, like `retries = 2`";
            parsed.retries = Some((span, int_argument(value, message)?));
        }
        "serial" => {
            reject_duplicate(parsed.serial.is_some(), meta, name)?;
            parsed.serial = Some((span, serial_argument(value)?));
        }
        "runtime" => {
            reject_duplicate(parsed.runtime.is_some(), meta, name)?;
            let Expr::Path(path) = value else {
                return Err(Error::new(
                    value.span(),
                    "runtime takes the path of a function that runs a future to completion, like `runtime = my_executor::block_on`",
                ));
            };
            parsed.runtime = Some((span, path.path.clone()));
        }
        "setup" => {
            reject_duplicate(parsed.setup.is_some(), meta, name)?;
            parsed.setup = Some((span, setup_argument(value)?));
        }
        _ => {
            reject_duplicate(parsed.stderr.is_some(), meta, name)?;
            parsed.stderr = Some((span, stderr_argument(value)?));
        }
    }
    Ok(())
}

/// One bare-name argument, one of [`FLAGS`].
fn parse_flag(parsed: &mut Arguments, name: &str, meta: &Meta) -> Result<()> {
    let slot = match name {
        "allow_leaks" => &mut parsed.allow_leaks,
        _ => &mut parsed.strict_leaks,
    };
    reject_duplicate(slot.is_some(), meta, name)?;
    *slot = Some(meta.span());
    Ok(())
}

/// `timeout = "2s"`: longer than zero.
fn timeout_argument(value: &Expr) -> Result<std::time::Duration> {
    let text = string_literal(value, "timeout = \"2s\"")?;
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
    Ok(duration)
}

/// An integer literal; `message` where the value is something else.
fn int_argument<T>(value: &Expr, message: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<T>(),
        other => Err(Error::new(other.span(), message)),
    }
}

/// `exit_code = 3`: a status from 0 to 255.
fn exit_code_argument(value: &Expr) -> Result<i32> {
    let message = "exit_code takes the status the test must exit with, like `exit_code = 3`";
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = value
    else {
        return Err(Error::new(value.span(), message));
    };
    let code = int
        .base10_parse::<u8>()
        .map_err(|_| Error::new(int.span(), "an exit status is a number from 0 to 255"))?;
    Ok(i32::from(code))
}

/// `setup = warm_up`: the path of a `fn()`.
fn setup_argument(value: &Expr) -> Result<syn::Path> {
    match value {
        Expr::Path(path) => Ok(path.path.clone()),
        _ => Err(Error::new(
            value.span(),
            "setup takes the path of a `fn()` that fills the statics the tests need, like `setup = warm_up`",
        )),
    }
}

/// The `Setup` a `setup = path` argument names, as an expression of type `Option<Setup>`.
fn setup_value(setup: Option<&syn::Path>) -> TokenStream2 {
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

/// `serial = "database"`: the group's name, not empty.
fn serial_argument(value: &Expr) -> Result<LitStr> {
    let group = string_literal(value, "serial = \"database\"")?;
    if group.value().trim().is_empty() {
        return Err(Error::new(
            group.span(),
            "serial takes the name of a group of tests that must not run at the same time, like `serial = \"database\"`",
        ));
    }
    Ok(group.clone())
}

/// `stderr = "regex"`: a regex that compiles.
fn stderr_argument(value: &Expr) -> Result<LitStr> {
    let pattern = string_literal(value, "stderr = \"out of memory\"")?;
    if let Err(error) = regex_syntax::Parser::new().parse(&pattern.value()) {
        return Err(Error::new(
            pattern.span(),
            format!("invalid stderr regex: {error}"),
        ));
    }
    Ok(pattern.clone())
}

/// Arguments that cannot go together, each a compile error at the one that contradicts.
fn reject_contradictions(parsed: &Arguments) -> Result<()> {
    if let (Some(_), Some(span)) = (parsed.leak_limit, parsed.allow_leaks) {
        return Err(Error::new(
            span,
            "`allow_leaks` and `leak_limit` contradict each other; keep one",
        ));
    }
    if let (Some(_), Some(span)) = (parsed.allow_leaks, parsed.strict_leaks) {
        return Err(Error::new(
            span,
            "`strict_leaks` has no effect with `allow_leaks`, which never fails for leaks; keep one",
        ));
    }
    if let (Some(_), Some((span, _))) = (&parsed.signal, parsed.exit_code) {
        return Err(Error::new(
            span,
            "`signal` and `exit_code` contradict each other: a process is killed or exits, not both",
        ));
    }
    let dies = parsed
        .signal
        .as_ref()
        .map(|(span, _)| *span)
        .or(parsed.exit_code.map(|(span, _)| span));
    if let (Some(_), Some(span)) = (
        dies,
        parsed
            .leak_limit
            .map(|(span, _)| span)
            .or(parsed.allow_leaks)
            .or(parsed.strict_leaks),
    ) {
        return Err(Error::new(
            span,
            "a test that must die sends no heap report: leak settings have no effect on it",
        ));
    }
    if let (Some(_), Some((span, _))) = (dies, parsed.max_peak) {
        return Err(Error::new(
            span,
            "a test that must die sends no heap report: `max_peak` has no effect on it",
        ));
    }
    Ok(())
}

/// `"64MiB"`, `"1.5 GB"` or `"4096"`: bytes, more than zero.
fn size_argument(value: &Expr, name: &str) -> Result<u64> {
    let example = format!("{name} = \"64MiB\"");
    let text = string_literal(value, &example)?;
    match text.value().trim().parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() > 0 => Ok(size.as_u64()),
        Ok(_) => Err(Error::new(
            text.span(),
            format!("{name} must be more than zero"),
        )),
        Err(why) => Err(Error::new(
            text.span(),
            format!(
                "invalid size {:?}: {why} (try \"64MiB\" or \"512KiB\")",
                text.value()
            ),
        )),
    }
}

/// `"SIGSEGV"`, `"SEGV"`, `"11"` or `11`, as the tokens of an `i32` expression.
fn signal_number(value: &Expr) -> Result<TokenStream2> {
    const HOW: &str =
        "expected a signal name as `kill -l` lists it (\"SIGSEGV\" or \"SEGV\") or its number";
    let in_range = |number: i64, span: Span| {
        if (1..=64).contains(&number) {
            let number = number as i32;
            Ok(quote!(#number))
        } else {
            Err(Error::new(
                span,
                format!("signal numbers run from 1 to 64; {HOW}"),
            ))
        }
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => in_range(int.base10_parse::<i64>()?, int.span()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => {
            let name = text.value();
            if let Ok(number) = name.parse::<i64>() {
                return in_range(number, text.span());
            }
            let bare = name.strip_prefix("SIG").unwrap_or(&name);
            if !SIGNALS.contains(&bare) {
                return Err(Error::new(
                    text.span(),
                    format!("unknown signal {name:?}; {HOW}"),
                ));
            }
            let constant = syn::Ident::new(&format!("SIG{bare}"), text.span());
            let private = private();
            Ok(quote_spanned!(text.span()=> #private::libc::#constant))
        }
        other => Err(Error::new(other.span(), HOW)),
    }
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
    /// Where `#[should_panic]` was written, if it was.
    should_panic_span: Option<Span>,
    ignore: TokenStream2,
}

fn take_standard_attributes(attrs: &mut Vec<Attribute>) -> Result<StandardAttributes> {
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

/// test-case's `#[test_case(...)]`, below `#[isolated_test]`.
fn is_test_case_attribute(attr: &Attribute) -> bool {
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
fn under_test_case(args: TokenStream2, mut function: ItemFn, has_runtime: bool) -> TokenStream2 {
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

/// `#[test]`, `#[tokio::test]`, `#[core::prelude::v1::test]`: another harness's test attribute.
fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
}

/// Another test attribute below `#[isolated_test]` (one above it expands first, and is the
/// other macro's to take: rustc drops a `#[test]` item outside libtest, so the README says to put
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

fn private() -> TokenStream2 {
    quote!(::isolated_test::__private)
}

fn check_signature(function: &ItemFn) -> Result<()> {
    let signature = &function.sig;
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

/// Whether rust-analyzer is expanding this (its proc-macro server runs the macro): it offers its
/// Run/Debug lens only on a function whose expansion carries a test attribute, so there the
/// function gets one. rustc never sees it: a `#[test]` item outside libtest would be dropped.
/// (A `cfg(rust_analyzer)` would do the same, but rustc warns of a cfg it does not know on every
/// test.)
fn for_editor() -> bool {
    std::env::current_exe().is_ok_and(|exe| {
        exe.file_name()
            .is_some_and(|name| name.to_string_lossy().contains("rust-analyzer"))
    })
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

/// Arguments that contradict the function's `#[should_panic]`, or its absence.
fn reject_contradictions_with(arguments: &Arguments, standard: &StandardAttributes) -> Result<()> {
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

/// The expansion; `for_editor` gives the function the test attribute rust-analyzer looks for.
fn expand(args: TokenStream2, item: TokenStream2, for_editor: bool) -> Result<TokenStream2> {
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
