use isolated_test::isolated_test;

#[isolated_test(signal = "SIGSEGV", exit_code = 3)]
fn killed_or_exits() {}

#[isolated_test(signal = "SIGABRT")]
#[should_panic]
fn dies_or_panics() {}

#[isolated_test(exit_code = 1, leak_limit = 64)]
fn leaks_while_dying() {}

#[isolated_test(stderr = "oops")]
fn stderr_of_a_test_that_finishes() {}

isolated_test::main!();
