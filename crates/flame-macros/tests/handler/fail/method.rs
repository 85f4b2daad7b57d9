struct Site;

impl Site {
    #[flame_core::handler]
    fn index(&self) -> &'static str {
        "home"
    }
}

fn main() {}
