//! Testing flame apps over a real loopback socket.
//!
//! ```
//! use flame_core::{Flame, Json};
//! use flame_test::TestServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut f = Flame::new();
//! f.get("/hello", || "Hello, flame!");
//! f.post("/echo", |Json(v): Json<serde_json::Value>| Json(v));
//!
//! let server = TestServer::start(f).await; // fails the test if a service is missing
//! let answer = server.get("/hello").await;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(answer.text(), "Hello, flame!");
//! let answer = server.post("/echo").json(&serde_json::json!({"n": 1})).await;
//! assert_eq!(answer.json::<serde_json::Value>()["n"], 1);
//! server.stop().await;
//! # }
//! ```
//!
//! # Contents
//!
//! - [`TestServer`] (`server.rs`): the app on `127.0.0.1:0`, its base URL, a client, and
//!   an [`ActorClient`] for stateful actors; the startup check is enforced when it starts.
//! - [`TestRequest`] (`request.rs`): a request being built; awaiting it sends it.
//! - [`TestResponse`] (`response.rs`): status, headers and body, read in one call.
//! - [`call`] and [`assert_checked`] (`in_process.rs`): calling an app without a socket, and
//!   the startup check on its own.
//!
//! It panics, with the answer in the message, where a test would `unwrap`: a test kit's
//! failures are test failures.

mod in_process;
mod request;
mod response;
mod server;

pub use flame_client::{ActorClient, ClientConfig, ClientError};
pub use in_process::{assert_checked, call};
pub use request::TestRequest;
pub use response::TestResponse;
pub use server::TestServer;
