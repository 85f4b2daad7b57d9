use std::rc::Rc;

#[flame_core::handler]
fn index(counter: Rc<u8>) -> String {
    counter.to_string()
}

fn main() {}
