use isolated_test::isolated_test;

#[isolated_test(timeout = 5)]
fn test() {}

isolated_test::main!();
