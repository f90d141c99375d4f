use isolated_test::isolated_test;

#[isolated_test(leak_limit = 64, allow_leaks)]
fn test() {}

isolated_test::main!();
