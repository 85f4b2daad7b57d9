//! A flame app served on a loopback port for one test: the one helper every crate's tests use.
//!
//! It needs only flame-core and tokio (no `stateful` feature), so flame-core's and
//! flame-actor's own tests can use it without compiling the stateful runtime.

use std::net::SocketAddr;

use flame_core::{Flame, ServeError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server started for one test on `127.0.0.1`; [`stop`](TestServer::stop)ped, it shuts down
/// gracefully and reports how serving ended; dropped, it is told to shut down.
///
/// ```
/// use flame_test_support::TestServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut f = flame_core::Flame::new();
/// f.get("/hello", || "hello");
/// let server = TestServer::start(f).await;
/// assert_eq!(server.get("/hello").await, (200, "hello".to_owned()));
/// assert!(server.url("/hello").starts_with("http://127.0.0.1:"));
/// server.stop().await;
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Serves `f` on a free loopback port.
    pub async fn start(f: Flame) -> Self {
        Self::start_on(f, "127.0.0.1:0").await
    }

    /// Serves `f` on `addr` (a fixed port, or the bridge address of a namespace test).
    pub async fn start_on(f: Flame, addr: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(f.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `ws://<addr><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// GETs `path`, returning the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(self.url(path)).await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Shuts the server down gracefully and waits for it; panics if serving failed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A test that panics before `stop` must not leave its server serving the next one.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
