//! The `#[isolated_test]` attribute of [isolated-test](https://docs.rs/isolated-test).
//!
//! Use it through the `isolated-test` crate, which re-exports it; this crate only turns a test
//! function into a registration that the harness finds at run time.

// The modules, for whoever works on this crate:
// - `arguments`: the attribute's own arguments (`timeout = "2s"`, ...), each checked at its span.
// - `standard_attributes`: `#[should_panic]` and `#[ignore]`, taken off the function, and
//   another harness's test attribute refused.
// - `test_case`: `#[isolated_test]` above test-case's `#[test_case(...)]`s.
// - `expansion`: the function kept, and its registration with the harness.
// - `suite`: `isolated_test::main!()`, the target's `fn main`.

mod arguments;
mod expansion;
mod standard_attributes;
mod suite;
mod test_case;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;

/// Marks a function as a test that runs in its own forked child process.
///
/// Arguments, all optional: `timeout = "2s"`, `leak_limit = 4096`, `allow_leaks`,
/// `strict_leaks`, `signal = "SIGSEGV"`, `exit_code = 3`, `stderr = "regex"`, `retries = 2`,
/// `memory_limit = "64MiB"`, `max_peak = "8MiB"`, `serial = "group"`,
/// `runtime = path::to::block_on` (for an `async fn`). `#[should_panic]` and `#[ignore]`
/// work as with `#[test]`. See the `isolated-test` crate.
#[proc_macro_attribute]
pub fn isolated_test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expansion::expand(args.into(), item.into(), for_editor()) {
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

fn private() -> TokenStream2 {
    quote!(::isolated_test::__private)
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
