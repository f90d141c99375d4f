use isolated_test::isolated_test;

fn returns_a_value() -> u32 {
    7
}

#[isolated_test(setup = "warm_up")]
fn setup_is_not_a_path() {}

#[isolated_test(setup = returns_a_value)]
fn setup_of_another_signature() {}

isolated_test::main!();
