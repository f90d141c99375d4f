use isolated_test::isolated_test;

#[isolated_test(serial = "")]
fn empty_group() {}

#[isolated_test(serial = 3)]
fn not_a_name() {}

#[isolated_test(serial)]
fn no_value() {}

isolated_test::main!(serial = "database");
