//! Benchmarks of the injector (see benches/README.md).

fn main() {}
