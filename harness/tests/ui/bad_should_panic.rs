use isolated_test::isolated_test;

#[isolated_test]
#[should_panic(expect = "boom")]
fn test() {}

isolated_test::main!();
