use isolated_test::isolated_test;

#[isolated_test]
fn test() -> i32 {
    42
}

isolated_test::main!();
