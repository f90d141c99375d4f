use isolated_test::isolated_test;

#[isolated_test]
#[test]
fn registered_twice() {}

#[isolated_test(timeout = "1s")]
#[tokio::test]
fn with_another_harness() {}

isolated_test::main!();
