//! Development mode on a non-loopback address is warned about loudly at start; on loopback it
//! is not. One test binary of its own: it captures the log of the serving thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flame_core::Flame;

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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Serves `f` on `addr` until it has logged that it listens, then stops it.
async fn serve_briefly(addr: &str, captured: &Captured) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let mut f = Flame::new();
    f.get("/", || "ok");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(f.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !captured.text().contains("flame listening") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn development_on_a_public_address_is_warned_about() {
    assert_eq!(flame_core::env(), flame_core::Env::Development);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // the server task runs on this (current) thread, under this subscriber
    let _guard = tracing::subscriber::set_default(subscriber);

    serve_briefly("127.0.0.1:0", &captured).await;
    assert!(
        !captured.text().contains("DEVELOPMENT mode"),
        "no warning on loopback: {}",
        captured.text()
    );

    serve_briefly("0.0.0.0:0", &captured).await;
    let log = captured.text();
    assert!(log.contains("WARN"), "{log}");
    assert!(
        log.contains("DEVELOPMENT mode on a non-loopback address"),
        "{log}"
    );
    assert!(log.contains("FLAME_ENV=production"), "{log}");
}
