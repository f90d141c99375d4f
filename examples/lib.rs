//! The demo suite lives in `demo.rs`; run it with `cargo test -p isolated-test-examples --test demo`.
