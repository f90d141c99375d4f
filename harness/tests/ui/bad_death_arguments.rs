use isolated_test::isolated_test;

#[isolated_test(signal = "SIGFOO")]
fn unknown_signal() {}

#[isolated_test(signal = 99)]
fn signal_out_of_range() {}

#[isolated_test(exit_code = 300)]
fn status_out_of_range() {}

#[isolated_test(signal = "SIGSEGV", stderr = "unclosed (group")]
fn bad_regex() {}

isolated_test::main!();
