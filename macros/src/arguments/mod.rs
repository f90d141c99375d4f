//! The attribute's own arguments, `#[isolated_test(timeout = "2s", ...)]`: parsed into
//! [`Arguments`], each mistake a compile error at the argument that made it.

mod values;

use proc_macro2::{Span, TokenStream as TokenStream2};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Expr, LitStr, Meta, Result, Token};

use values::{
    exit_code_argument, int_argument, serial_argument, signal_number, size_argument,
    stderr_argument, timeout_argument,
};
pub(crate) use values::{setup_argument, string_literal};

#[derive(Default)]
pub(crate) struct Arguments {
    pub(crate) timeout: Option<(Span, std::time::Duration)>,
    pub(crate) leak_limit: Option<(Span, u64)>,
    pub(crate) allow_leaks: Option<Span>,
    pub(crate) strict_leaks: Option<Span>,
    pub(crate) signal: Option<(Span, TokenStream2)>,
    pub(crate) exit_code: Option<(Span, i32)>,
    pub(crate) stderr: Option<(Span, LitStr)>,
    pub(crate) retries: Option<(Span, u32)>,
    pub(crate) memory_limit: Option<(Span, u64)>,
    pub(crate) max_peak: Option<(Span, u64)>,
    pub(crate) serial: Option<(Span, LitStr)>,
    pub(crate) runtime: Option<(Span, syn::Path)>,
    pub(crate) setup: Option<(Span, syn::Path)>,
}

const EXPECTED: &str = "expected `timeout = \"...\"`, `leak_limit = N`, `allow_leaks`, `strict_leaks`, \
                        `signal = \"SIGSEGV\"`, `exit_code = N`, `stderr = \"regex\"`, `retries = N`, \
                        `memory_limit = \"64MiB\"`, `max_peak = \"8MiB\"`, `serial = \"group\"`, \
                        `runtime = path::to::block_on` or `setup = path::to::warm_up`";

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

pub(crate) fn parse_arguments(args: TokenStream2) -> Result<Arguments> {
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

pub(crate) fn reject_duplicate(seen: bool, meta: &Meta, name: &str) -> Result<()> {
    if seen {
        return Err(Error::new(meta.span(), format!("`{name}` is given twice")));
    }
    Ok(())
}
