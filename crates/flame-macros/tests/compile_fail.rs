//! Misuses of `#[handler]`, `#[service]` and `#[actions]` (and of handler registration) fail
//! to compile with readable messages, pinned by the `.stderr` snapshots next to each case.
//!
//! Regenerate a snapshot after a deliberate change with
//! `TRYBUILD=overwrite cargo test -p flame-macros --test compile_fail`, then read the diff.

#[test]
fn handler() {
    trybuild::TestCases::new().compile_fail("tests/handler/fail/*.rs");
}

#[test]
fn service() {
    trybuild::TestCases::new().compile_fail("tests/service/fail/*.rs");
}

#[test]
fn actions() {
    trybuild::TestCases::new().compile_fail("tests/actions/fail/*.rs");
}
