use isolated_test::isolated_test;

#[isolated_test(memory_limit = "lots")]
fn not_a_size() {}

#[isolated_test(memory_limit = "0")]
fn zero_limit() {}

#[isolated_test(max_peak = 4096)]
fn peak_not_a_string() {}

#[isolated_test(signal = "SIGSEGV", max_peak = "1MiB")]
fn peak_of_a_test_that_dies() {}

isolated_test::main!();
