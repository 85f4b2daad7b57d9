#[flame_core::handler]
fn index<T: Clone + Send + Sync + 'static>(value: T) {
    let _ = value;
}

fn main() {}
