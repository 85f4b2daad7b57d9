#[derive(Clone)]
struct Db;

#[flame_core::service]
async fn db() -> Db {
    Db
}

fn main() {}
