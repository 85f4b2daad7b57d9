//! Cluster mode's internal endpoint: `POST {prefix}/_cluster/call`, where the other nodes
//! forward the calls of actors this node owns. Only a request with the cluster secret as
//! its bearer token is heard (401 otherwise); the caller's identity comes in the body and
//! is decoded by the system's `IdentityCodec`, so the action sees the actor the first node
//! resolved. A call for an actor this node does not own is answered `421 Misdirected
//! Request`: it ran nowhere, and the first node asks the directory again.

use std::sync::Arc;

use flame_core::{Context, HttpError, Reply};

use super::State;
use super::relay::{FORWARD_HEADER, ForwardedConnect, from_hex};
use crate::cluster::secret_matches;
use crate::forward::{Answer, ForwardedCall, NOT_THE_OWNER};
use crate::protocol::{ErrorCode, WireError};

fn refuse(status: http::StatusCode, message: &str) -> Reply {
    let code = if status == http::StatusCode::UNAUTHORIZED {
        ErrorCode::Unauthorized
    } else {
        ErrorCode::MalformedMessage
    };
    Reply::json(&WireError::new(code, message)).with_status(status)
}

/// Whether the request carries the cluster secret as its bearer token.
fn authorized(c: &Context, secret: &str) -> bool {
    let given = c
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    secret_matches(secret, given)
}

/// `GET {prefix}/_cluster/connect`: a WebSocket connection another node relays, as the
/// caller it names; never relayed again.
pub(super) async fn connect(c: Context, state: Arc<State>) -> Result<Reply, HttpError> {
    let system = &state.system;
    let (Some(secret), Some(identity)) = (system.cluster_secret(), system.identity_codec()) else {
        return Ok(refuse(
            http::StatusCode::NOT_FOUND,
            "this node is not in cluster mode",
        ));
    };
    if !authorized(&c, secret) {
        tracing::warn!(peer = %c.remote_addr(), "a relayed connection without the cluster secret was refused");
        return Ok(refuse(
            http::StatusCode::UNAUTHORIZED,
            "the cluster secret is missing or wrong",
        ));
    }
    let forward = c
        .headers()
        .get(FORWARD_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(from_hex)
        .and_then(|bytes| serde_json::from_slice::<ForwardedConnect>(&bytes).ok());
    let Some(forward) = forward else {
        return Ok(refuse(
            http::StatusCode::BAD_REQUEST,
            "the x-flame-forward header is missing or malformed",
        ));
    };
    let caller = identity.decode(&forward.caller);
    super::ws::upgrade_as(
        c,
        state.clone(),
        forward.name,
        forward.key,
        forward.params,
        caller,
        false,
    )
    .await
}

/// `POST {prefix}/_cluster/call`.
pub(super) async fn call(c: Context, state: Arc<State>) -> Reply {
    let system = &state.system;
    let (Some(secret), Some(identity)) = (system.cluster_secret(), system.identity_codec()) else {
        return refuse(
            http::StatusCode::NOT_FOUND,
            "this node is not in cluster mode",
        );
    };
    if !authorized(&c, secret) {
        tracing::warn!(peer = %c.remote_addr(), "a forwarded call without the cluster secret was refused");
        return refuse(
            http::StatusCode::UNAUTHORIZED,
            "the cluster secret is missing or wrong",
        );
    }
    let body = match c.request().body_bytes().await {
        Ok(body) => body,
        Err(e) => return refuse(http::StatusCode::BAD_REQUEST, e.message()),
    };
    let call: ForwardedCall = match serde_json::from_slice(&body) {
        Ok(call) => call,
        Err(e) => return refuse(http::StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let caller = identity.decode(&call.caller);
    let result = system
        .call_from(&call.name, &call.key, &call.method, call.args, caller, true)
        .await;
    match result {
        Err(e) if e.is(ErrorCode::Unavailable) && e.message == NOT_THE_OWNER => {
            Reply::json(&Answer::Err(e)).with_status(http::StatusCode::MISDIRECTED_REQUEST)
        }
        Ok(value) => Reply::json(&Answer::Ok(value)),
        Err(e) => Reply::json(&Answer::Err(e)),
    }
}
