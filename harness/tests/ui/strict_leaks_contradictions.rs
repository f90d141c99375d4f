use isolated_test::isolated_test;

#[isolated_test(allow_leaks, strict_leaks)]
fn allowed_and_strict() {}

#[isolated_test(signal = "SIGABRT", strict_leaks)]
fn dies_and_strict() {
    std::process::abort();
}

#[isolated_test(strict_leaks = true)]
fn strict_with_a_value() {}

isolated_test::main!();
