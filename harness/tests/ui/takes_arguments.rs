use isolated_test::isolated_test;

#[isolated_test]
fn test(input: u32) {
    let _ = input;
}

isolated_test::main!();
