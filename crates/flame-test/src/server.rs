//! [`TestServer`]: a flame app on a loopback port for one test.

use std::net::SocketAddr;

use flame_client::{ActorClient, ClientConfig, ClientError};
use flame_core::{Flame, Method, ServeError};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::in_process::assert_checked;
use crate::request::TestRequest;

/// A flame app served on `127.0.0.1` on a free port, with a client that sends to it.
///
/// [`start`](TestServer::start) runs the app's startup check first ([`Flame::check`]): a
/// handler that needs a type nothing provides fails the test there, with the route, the
/// handler and the type, instead of a request failing later. [`stop`](TestServer::stop)
/// shuts the server down gracefully; dropping it tells it to.
///
/// The client does not follow redirects (a test sees the `302` and its `Location`) and
/// keeps no cookies.
///
/// ```
/// use flame_core::Flame;
/// use flame_test::TestServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut f = Flame::new();
/// f.get("/", || "home");
/// let server = TestServer::start(f).await;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// let answer = server.get("/").await;
/// assert_eq!(answer.status(), 200);
/// assert_eq!(answer.text(), "home");
/// server.stop().await;
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    base_url: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Checks `f` ([`assert_checked`]) and serves it on a free loopback port.
    ///
    /// ```should_panic
    /// use flame_core::Flame;
    /// use flame_test::TestServer;
    ///
    /// #[derive(Clone)]
    /// struct Db;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut f = Flame::new();
    /// f.get("/users", |_: Db| "users");
    /// // panics: GET /users: the 0th handler [...] needs ...::Db, which nothing provides
    /// TestServer::start(f).await;
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When the startup check fails, or the port cannot be bound.
    pub async fn start(f: Flame) -> Self {
        assert_checked(&f);
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => panic!("cannot bind a loopback port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => panic!("the listener has no address: {e}"),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(f.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(e) => panic!("cannot build the HTTP client: {e}"),
        };
        Self {
            addr,
            base_url: format!("http://{addr}"),
            client,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:<port><path>`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = flame_test::TestServer::start(flame_core::Flame::new()).await;
    /// assert_eq!(server.url("/a"), format!("{}/a", server.base_url()));
    /// assert_eq!(server.ws_url("/a"), format!("ws://{}/a", server.addr()));
    /// # }
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The client the requests go through, for what [`TestRequest`] does not cover
    /// (streaming, multipart).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A request with any method to `path`.
    pub fn request(&self, method: Method, path: &str) -> TestRequest {
        TestRequest::new(self.client.request(method, self.url(path)))
    }

    /// A `GET` to `path`; `.await` it for the answer.
    pub fn get(&self, path: &str) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// A `POST` to `path`.
    pub fn post(&self, path: &str) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// A `PUT` to `path`.
    pub fn put(&self, path: &str) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` to `path`.
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` to `path`.
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request(Method::DELETE, path)
    }

    /// Connects an [`ActorClient`] to the stateful actor (name, key) served by this app
    /// (the transport mounted at `/actors`), with `params` as the connection's params.
    ///
    /// # Errors
    ///
    /// As [`ActorClient::connect`]: the server's refusal (`unauthorized`,
    /// `actor_not_found`, ...) is a [`ClientError::Rejected`].
    pub async fn actor(
        &self,
        name: &str,
        key: &str,
        params: impl Serialize,
    ) -> Result<ActorClient, ClientError> {
        self.actor_with(name, key, params, ClientConfig::default())
            .await
    }

    /// [`actor`](TestServer::actor) with a client config (another prefix, shorter
    /// timeouts, no reconnects).
    ///
    /// # Errors
    ///
    /// As [`ActorClient::connect`].
    pub async fn actor_with(
        &self,
        name: &str,
        key: &str,
        params: impl Serialize,
        config: ClientConfig,
    ) -> Result<ActorClient, ClientError> {
        ActorClient::connect_with(&self.ws_url(""), name, key, params, config).await
    }

    /// Shuts the server down gracefully and waits for it.
    ///
    /// # Panics
    ///
    /// When serving failed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("the server failed: {e}"),
                Err(e) => panic!("the server task failed: {e}"),
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A test that panics before `stop` must not leave its server serving.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
