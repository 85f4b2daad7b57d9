//! Misuses of `#[handler]`, `#[service]` and handler registration fail to compile with
//! readable messages (pinned by the `.stderr` snapshots in `tests/ui`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
