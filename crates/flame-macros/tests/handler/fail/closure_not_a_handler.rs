use std::rc::Rc;

fn main() {
    let mut f = flame_core::Flame::new();
    f.get("/", |counter: Rc<u8>| counter.to_string());
}
