#[derive(Clone)]
struct Db(String);

#[flame_core::service]
fn db(url: String) -> Db {
    Db(url)
}

fn main() {}
