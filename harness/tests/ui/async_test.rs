use isolated_test::isolated_test;

#[isolated_test(runtime = 3)]
async fn runtime_is_not_a_path() {}

#[isolated_test(runtime = my::block_on)]
fn not_async() {}

isolated_test::main!();
