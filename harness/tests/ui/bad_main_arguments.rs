mod unknown {
    isolated_test::main!(tiemout = "2s");
}

mod test_only {
    isolated_test::main!(signal = "SIGABRT");
}

mod bad_value {
    isolated_test::main!(leak_limit = "lots");
}

mod bad_allocator {
    isolated_test::main!(allocator = "System");
}

mod bad_static {
    isolated_test::main!(allocator = &GLOBAL());
}

mod mutable_static {
    isolated_test::main!(allocator = &mut GLOBAL);
}

fn main() {}
