//! The env example in development and in production (its own test binary: the environment
//! is process-wide).

mod common;

use common::TestServer;
use flame_core::Env;

#[allow(dead_code)]
#[path = "../env.rs"]
mod env;

#[tokio::test]
async fn recovery_depends_on_the_environment() {
    let server = TestServer::start(env::app()).await;

    flame_core::set_env(Env::Development);
    assert_eq!(
        common::get(&server, "/env").await,
        (200, "development".into())
    );
    let (status, body) = common::get(&server, "/panic").await;
    assert_eq!(status, 500);
    assert!(
        body.starts_with("<html>\n<head><title>PANIC: something went wrong</title>"),
        "Flamego's panic page: {body}"
    );
    assert!(body.contains("env.rs"), "the location is shown: {body}");

    flame_core::set_env(Env::Production);
    assert_eq!(
        common::get(&server, "/env").await,
        (200, "production".into())
    );
    assert_eq!(
        common::get(&server, "/panic").await,
        (500, "Internal Server Error".into())
    );

    flame_core::set_env(Env::Development);
    server.stop().await;
}
