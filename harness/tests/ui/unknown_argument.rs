use isolated_test::isolated_test;

#[isolated_test(frobnicate)]
fn test() {}

isolated_test::main!();
