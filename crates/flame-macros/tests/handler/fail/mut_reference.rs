#[flame_core::handler]
fn index(count: &mut u64) {
    *count += 1;
}

fn main() {}
