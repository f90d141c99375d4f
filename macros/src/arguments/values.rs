//! One argument's value: checked for what it must be (a duration, a size, a signal's name, a
//! regex that compiles, ...) and turned into what the expansion writes.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Error, Expr, ExprLit, Lit, LitStr, Result};

use crate::private;

/// Signal names as `kill -l` lists them, without `SIG`. Each becomes `libc::SIG...`, so a name
/// the target lacks is still a compile error, at the attribute.
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "EMT", "FPE", "KILL", "USR1",
    "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "INFO", "SYS",
];

/// `timeout = "2s"`: longer than zero.
pub(crate) fn timeout_argument(value: &Expr) -> Result<std::time::Duration> {
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
pub(crate) fn int_argument<T>(value: &Expr, message: &str) -> Result<T>
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
pub(crate) fn exit_code_argument(value: &Expr) -> Result<i32> {
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
pub(crate) fn setup_argument(value: &Expr) -> Result<syn::Path> {
    match value {
        Expr::Path(path) => Ok(path.path.clone()),
        _ => Err(Error::new(
            value.span(),
            "setup takes the path of a `fn()` that fills the statics the tests need, like `setup = warm_up`",
        )),
    }
}

/// `serial = "database"`: the group's name, not empty.
pub(crate) fn serial_argument(value: &Expr) -> Result<LitStr> {
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
pub(crate) fn stderr_argument(value: &Expr) -> Result<LitStr> {
    let pattern = string_literal(value, "stderr = \"out of memory\"")?;
    // Checked by the engine the harness matches with.
    if let Err(error) = regex_lite::Regex::new(&pattern.value()) {
        return Err(Error::new(
            pattern.span(),
            format!("invalid stderr regex: {error}"),
        ));
    }
    Ok(pattern.clone())
}

/// `"64MiB"`, `"1.5 GB"` or `"4096"`: bytes, more than zero.
pub(crate) fn size_argument(value: &Expr, name: &str) -> Result<u64> {
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
pub(crate) fn signal_number(value: &Expr) -> Result<TokenStream2> {
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

pub(crate) fn string_literal<'a>(expr: &'a Expr, example: &str) -> Result<&'a LitStr> {
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
