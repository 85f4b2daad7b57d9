use flame_stateful::actions;

/// A plain type: it has no state, no hooks, nothing to dispatch to.
struct Plain;

#[actions]
impl Plain {
    async fn get(&self) -> i64 {
        0
    }
}

fn main() {}
