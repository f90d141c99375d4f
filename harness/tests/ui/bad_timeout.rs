use isolated_test::isolated_test;

#[isolated_test(timeout = "soon")]
fn test() {}

isolated_test::main!();
