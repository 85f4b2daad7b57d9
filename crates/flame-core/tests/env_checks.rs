//! Behaviour that depends on the process-wide environment, and the Logger's events: one test
//! binary of its own, one test, so nothing else sees the environment change.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use flame_core::{Env, Flame};
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone)]
struct Missing;

#[tokio::test]
async fn environment_rules_and_logging() {
    // Default: development, and the check only warns.
    assert_eq!(flame_core::env(), Env::Development);
    let mut f = Flame::new();
    f.get("/", |_: Missing| {});
    assert!(f.startup_check().is_ok());

    // In test, a failed check refuses to start, naming route, handler and type.
    flame_core::set_env(Env::Test);
    let err = f.startup_check().unwrap_err();
    assert!(
        err.to_string().contains("GET /: the 0th handler ["),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("needs env_checks::Missing, which nothing provides"),
        "{err}"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut f = Flame::new();
    f.get("/", |_: Missing| {});
    assert!(matches!(
        f.serve(listener).await,
        Err(flame_core::ServeError::Check(_))
    ));
    flame_core::set_env(Env::Development);

    // The Logger: one event per request with method, path and status.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    f.get("/logged/{id}", || "ok");
    let service = f.into_service();
    for _ in 0..2 {
        let request = http::Request::get("/logged/3").body(Body::empty()).unwrap();
        assert_eq!(
            service.clone().oneshot(request).await.unwrap().status(),
            200
        );
    }
    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("GET /logged/3 -> 200 OK"))
        .collect();
    assert_eq!(lines.len(), 2, "{output}");
    assert!(lines[0].contains("status=200"), "{output}");
    assert!(lines[0].contains("route=/logged/{id}"), "{output}");
}
