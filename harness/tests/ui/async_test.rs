use isolated_test::isolated_test;

#[isolated_test]
async fn test() {}

isolated_test::main!();
