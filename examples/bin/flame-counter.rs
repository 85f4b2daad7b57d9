//! The `counter` example as a binary target, so that its restart test can start it as a
//! separate process (`CARGO_BIN_EXE_flame-counter`) built by the same cargo invocation.

#[path = "../counter.rs"]
mod counter;

fn main() -> anyhow::Result<()> {
    counter::main()
}
