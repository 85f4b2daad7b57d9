//! Cluster mode: calls for an actor another node owns go to that node's transport over
//! HTTP (`POST {prefix}/_cluster/call`, kept-alive connections), with the cluster secret as
//! a bearer token and the caller's identity in the body.
//!
//! A forwarded call is either *answered* (by the owner: the action's result or error), or
//! *not delivered*: the owner could not be reached at all, or answered `421 Misdirected
//! Request` (it does not own the actor). Only an undelivered call is tried again elsewhere,
//! so no call runs twice.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::{ClusterConfig, IdentityCodec};
use crate::protocol::{ErrorCode, WireError};

/// The internal route of forwarded calls, under the transport's prefix.
pub(crate) const CALL_PATH: &str = "/_cluster/call";

/// The internal route of relayed WebSocket connections, under the transport's prefix.
pub(crate) const CONNECT_PATH: &str = "/_cluster/connect";

/// What the owner answers when the actor is not its own: the caller asks the directory
/// again.
pub(crate) const NOT_THE_OWNER: &str = "this node does not own the actor";

/// The longest answer read back from an owner.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// A forwarded call, as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ForwardedCall {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) method: String,
    pub(crate) args: Vec<Value>,
    pub(crate) caller: Value,
}

/// The owner's answer, as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Answer {
    #[serde(rename = "ok")]
    Ok(Value),
    #[serde(rename = "error")]
    Err(WireError),
}

/// How a forward ended.
#[derive(Debug)]
pub(crate) enum Forwarded {
    Answered(Result<Value, WireError>),
    /// The call did not run anywhere: ask the directory again.
    NotDelivered,
}

pub(crate) struct Forwarder {
    client: Client<HttpConnector, Full<Bytes>>,
    secret: Arc<str>,
    path: String,
    pub(crate) identity: Arc<dyn IdentityCodec>,
    timeout: Duration,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unreachable_owner(detail: impl std::fmt::Display) -> WireError {
    WireError::new(
        ErrorCode::Unavailable,
        format!("the node that owns the actor did not answer: {detail}"),
    )
}

impl Forwarder {
    pub(crate) fn new(config: &ClusterConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
            secret: config.secret.clone(),
            path: format!("{}{CALL_PATH}", config.prefix.trim_end_matches('/')),
            identity: config.identity.clone(),
            timeout: config.forward_timeout,
        }
    }

    /// Sends `call` to the transport at `address` and waits for its answer.
    pub(crate) async fn call(&self, address: &str, call: &ForwardedCall) -> Forwarded {
        let body = match serde_json::to_vec(call) {
            Ok(body) => body,
            Err(e) => {
                return Forwarded::Answered(Err(WireError::new(
                    ErrorCode::InternalError,
                    e.to_string(),
                )));
            }
        };
        let request = http::Request::post(format!("http://{address}{}", self.path))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.secret),
            )
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(request) => request,
            Err(e) => return Forwarded::Answered(Err(unreachable_owner(e))),
        };
        let response = match tokio::time::timeout(self.timeout, self.client.request(request)).await
        {
            Err(_) => return Forwarded::Answered(Err(unreachable_owner("timed out"))),
            Ok(Err(e)) if e.is_connect() => {
                tracing::debug!(address, error = %e, "the owner is unreachable");
                return Forwarded::NotDelivered;
            }
            Ok(Err(e)) => return Forwarded::Answered(Err(unreachable_owner(e))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status == http::StatusCode::MISDIRECTED_REQUEST {
            return Forwarded::NotDelivered;
        }
        let body = match Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(e) => return Forwarded::Answered(Err(unreachable_owner(e))),
        };
        if status != http::StatusCode::OK {
            tracing::error!(address, %status, "the owner refused a forwarded call (is the cluster secret the same on every node?)");
            return Forwarded::Answered(Err(WireError::new(
                ErrorCode::InternalError,
                format!("the owning node refused the forwarded call ({status})"),
            )));
        }
        match serde_json::from_slice::<Answer>(&body) {
            Ok(Answer::Ok(value)) => Forwarded::Answered(Ok(value)),
            Ok(Answer::Err(e)) => Forwarded::Answered(Err(e)),
            Err(e) => Forwarded::Answered(Err(unreachable_owner(e))),
        }
    }
}
