//! Sets `isolated_test_coverage` when this crate is built with `-C instrument-coverage`: a child
//! then writes its coverage profile itself, since the `_exit` that ends it skips the profiler
//! runtime's exit hook.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(isolated_test_coverage)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags
        .split('\x1f')
        .any(|flag| flag.contains("instrument-coverage"))
    {
        println!("cargo::rustc-cfg=isolated_test_coverage");
    }
}
