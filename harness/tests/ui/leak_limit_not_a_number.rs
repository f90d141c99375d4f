use isolated_test::isolated_test;

#[isolated_test(leak_limit = "4k")]
fn test() {}

isolated_test::main!();
