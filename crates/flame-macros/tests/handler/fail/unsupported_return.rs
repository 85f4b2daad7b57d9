struct Report;

#[flame_core::handler]
fn index() -> Report {
    Report
}

fn main() {}
