use isolated_test::isolated_test;

#[isolated_test(allow_leaks = true)]
fn test() {}

isolated_test::main!();
