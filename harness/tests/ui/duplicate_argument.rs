use isolated_test::isolated_test;

#[isolated_test(timeout = "1s", timeout = "2s")]
fn test() {}

isolated_test::main!();
