//! Several nodes on one shared store: the seam a clustered store plugs into.
//!
//! An actor system in cluster mode is the same [`ActorSystem`](crate::ActorSystem) with a
//! [`ClusterConfig`]: its [`Directory`] (flame-postgres implements one on PostgreSQL) says
//! where each actor lives, fences every write, and keeps the node's lease.
//!
//! - **Ownership.** Before an instance loads its state (and before `on_start`), it asks the
//!   directory to [activate](Directory::activate) it: either this node takes ownership with a
//!   new epoch ([`Placement::Here`]), or another live node owns it ([`Placement::Elsewhere`])
//!   and the calls are forwarded there.
//! - **Fencing.** Every write of the instance carries its epoch; the directory commits it only
//!   while that epoch is the actor's current one and the node is alive. A refused write is
//!   [`StoreError::Fenced`]: it is never acknowledged, its
//!   callers get `unavailable` (transient, safe to retry), and the instance deactivates.
//! - **The lease.** After every commit the committer asks
//!   [`may_acknowledge`](Directory::may_acknowledge); when the node can no longer vouch for
//!   its lease, nothing is acknowledged and, once [`lease_losses`](Directory::lease_losses)
//!   ticks, every local instance is stopped.
//! - **Forwarding.** A call for an actor owned elsewhere goes to the owner's transport
//!   (`POST {prefix}/_cluster/call`), authenticated by the cluster secret, with the caller's
//!   identity encoded by an [`IdentityCodec`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use flame_actor::{Actor, BackendActor, WebSocketActor};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::store::{ActorId, ActorWrite, Alarm, StoreError};

/// Where an actor lives, as its activation decided.
///
/// ```
/// use flame_stateful::cluster::Placement;
/// let here = Placement::Here { epoch: 3 };
/// assert!(matches!(here, Placement::Here { epoch: 3 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// This node owns the actor now, with this new epoch: every write carries it.
    Here {
        /// The activation's epoch.
        epoch: u64,
    },
    /// Another live node owns it: calls go there.
    Elsewhere {
        /// The owner's node id.
        node: String,
        /// The owner's address (`host:port` of its transport).
        address: String,
    },
}

/// Membership, ownership and fenced commits, for an actor system in cluster mode.
///
/// Implemented by flame-postgres (`PgCluster`); the runtime only calls it. The contract:
///
/// - [`activate`](Self::activate) is serialized per actor: concurrent activations on all
///   nodes agree on one owner; taking ownership gives an epoch above every earlier one.
/// - [`commit`](Self::commit) is atomic: it writes everything, or, when any write's epoch
///   is not its actor's current one (or the node is not alive), nothing, and names the
///   fenced actor ([`StoreError::Fenced`]) or the lost lease ([`StoreError::LeaseLost`]).
/// - [`may_acknowledge`](Self::may_acknowledge) turns false before anyone else may consider
///   this node's lease lapsed.
///
/// ```
/// use flame_stateful::cluster::Directory;
/// fn takes(_: &dyn Directory) {}
/// ```
pub trait Directory: Send + Sync + fmt::Debug + 'static {
    /// This node's id.
    fn node_id(&self) -> &str;

    /// Activates `actor` on this node: takes ownership with a new epoch, or names its live
    /// owner.
    fn activate<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<Placement, StoreError>>;

    /// Commits `writes` atomically, `epochs[i]` being the epoch `writes[i]`'s activation
    /// holds, and only if each is still current.
    fn commit<'a>(
        &'a self,
        writes: &'a [ActorWrite],
        epochs: &'a [u64],
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Whether a commit that completed just now may be acknowledged: the node's own view of
    /// its lease, on its monotonic clock, with a safety margin.
    fn may_acknowledge(&self) -> bool;

    /// Ticks each time the node lost its lease (it then stops every local instance).
    fn lease_losses(&self) -> watch::Receiver<u64>;

    /// The pending alarms of `actor`, read when it is activated here: its previous owner
    /// may have scheduled them.
    fn alarms_of<'a>(&'a self, actor: &'a ActorId)
    -> BoxFuture<'a, Result<Vec<Alarm>, StoreError>>;

    /// Actors with an alarm due by now that no live node owns: this node activates them.
    fn orphaned_alarms(&self) -> BoxFuture<'_, Result<Vec<ActorId>, StoreError>>;

    /// The node leaves (the actor system shut down): others may take its actors at once.
    fn leave(&self) -> BoxFuture<'_, ()>;
}

/// How a caller's identity travels with a forwarded call: encoded to JSON on the node the
/// client reached, decoded on the owner.
///
/// [`BasicIdentity`] carries flame-actor's built-in actors; an application with actors of
/// its own (flame-auth's user actor, say) wraps it.
///
/// ```
/// use std::sync::Arc;
/// use flame_actor::{Actor, BackendActor};
/// use flame_stateful::cluster::{BasicIdentity, IdentityCodec};
/// let codec = BasicIdentity;
/// let value = codec.encode(&BackendActor::new("jobs"));
/// let back = codec.decode(&value);
/// assert_eq!(back.downcast_ref::<BackendActor>().map(|b| b.name()), Some("jobs"));
/// ```
pub trait IdentityCodec: Send + Sync + fmt::Debug + 'static {
    /// The identity as JSON.
    fn encode(&self, actor: &dyn Actor) -> Value;
    /// The identity back from JSON (never fails: an unknown shape becomes a
    /// [`ForwardedActor`]).
    fn decode(&self, value: &Value) -> Arc<dyn Actor>;
}

/// Carries [`BackendActor`] (its name) and [`WebSocketActor`] (connection id, peer
/// address, when it connected, metadata; not its extensions); any other actor arrives as a
/// [`ForwardedActor`] with its type.
///
/// ```
/// use flame_actor::{Actor, WebSocketActor};
/// use flame_stateful::cluster::{BasicIdentity, IdentityCodec};
/// let ws = WebSocketActor::builder("c1").metadata("user", "ada").build();
/// let back = BasicIdentity.decode(&BasicIdentity.encode(&ws));
/// let back = back.downcast_ref::<WebSocketActor>().unwrap();
/// assert_eq!((back.connection_id(), back.metadata("user")), ("c1", Some("ada")));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicIdentity;

impl IdentityCodec for BasicIdentity {
    fn encode(&self, actor: &dyn Actor) -> Value {
        if let Some(backend) = actor.downcast_ref::<BackendActor>() {
            return json!({ "type": "backend", "name": backend.name() });
        }
        if let Some(ws) = actor.downcast_ref::<WebSocketActor>() {
            let at = ws
                .connected_at()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            return json!({
                "type": "websocket",
                "connection_id": ws.connection_id(),
                "peer": ws.peer_addr().map(|a| a.to_string()),
                "connected_at_ms": at,
                "metadata": ws.metadata_map(),
            });
        }
        json!({ "type": actor.actor_type(), "id": actor.actor_id(), "forwarded": true })
    }

    fn decode(&self, value: &Value) -> Arc<dyn Actor> {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let forwarded = value.get("forwarded").is_some();
        match kind {
            "backend" if !forwarded => Arc::new(BackendActor::new(
                value
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("backend")
                    .to_owned(),
            )),
            "websocket" if !forwarded => {
                let id = value
                    .get("connection_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut builder = WebSocketActor::builder(id);
                if let Some(peer) = value
                    .get("peer")
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse().ok())
                {
                    builder = builder.peer_addr(peer);
                }
                if let Some(ms) = value.get("connected_at_ms").and_then(Value::as_u64) {
                    builder = builder.connected_at(UNIX_EPOCH + Duration::from_millis(ms));
                }
                if let Some(map) = value.get("metadata").and_then(Value::as_object) {
                    for (k, v) in map {
                        if let Some(v) = v.as_str() {
                            builder = builder.metadata(k.clone(), v.to_owned());
                        }
                    }
                }
                Arc::new(builder.build())
            }
            other => Arc::new(ForwardedActor {
                actor_type: other.to_owned(),
                actor_id: value.get("id").and_then(Value::as_str).map(str::to_owned),
            }),
        }
    }
}

/// An identity of a type the [`IdentityCodec`] does not know, as it arrives on the owner:
/// its type and its id ([`Actor::actor_type`], [`Actor::actor_id`]).
///
/// ```
/// use flame_actor::{Actor, BackendActor};
/// use flame_stateful::cluster::{BasicIdentity, ForwardedActor, IdentityCodec};
///
/// #[derive(Debug)]
/// struct ApiToken;
/// impl Actor for ApiToken {
///     fn actor_type(&self) -> &str { "api_token" }
///     fn actor_id(&self) -> Option<String> { Some("t-7".into()) }
/// }
///
/// let back = BasicIdentity.decode(&BasicIdentity.encode(&ApiToken));
/// assert_eq!((back.actor_type(), back.actor_id().as_deref()), ("api_token", Some("t-7")));
/// assert!(back.downcast_ref::<ForwardedActor>().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedActor {
    /// The original actor's type.
    pub actor_type: String,
    /// The original actor's id, if it had one.
    pub actor_id: Option<String>,
}

impl Actor for ForwardedActor {
    fn actor_type(&self) -> &str {
        &self.actor_type
    }

    fn actor_id(&self) -> Option<String> {
        self.actor_id.clone()
    }
}

/// [`BasicIdentity`] plus flame-auth's users (feature `auth`): a caller that acts as a user
/// ([`flame_auth::as_user_actor`]: an [`AuthenticatedUser`](flame_auth::AuthenticatedUser),
/// a registered `UserActor`, or a WebSocket connection carrying one in its extensions)
/// arrives on the owner acting as the same [`User`](flame_auth::User), with its id,
/// permissions, claims and expiry, so `RequireActorWithClaims`-style checks and
/// `flame_auth::user_of(rpc.caller())` in an action see what they would have seen on the
/// node the client reached.
///
/// A WebSocket connection arrives as a [`WebSocketActor`] with an `AuthenticatedUser` in
/// its extensions; any other user actor arrives as an `AuthenticatedUser` (type `user`).
/// A session's revocation handle stays on the node that authenticated the request: a
/// forwarded call runs once, and a relayed connection is closed there when its session ends.
///
/// ```
/// use flame_actor::Actor;
/// use flame_auth::{AuthenticatedUser, User};
/// use flame_stateful::cluster::{AuthIdentity, IdentityCodec};
///
/// let mut ada = User::new("u1", "ada");
/// ada.permissions.insert("posts:write".into());
/// let back = AuthIdentity.decode(&AuthIdentity.encode(&AuthenticatedUser::new(ada.clone())));
/// assert_eq!(flame_auth::user_of(&*back), Some(&ada));
/// assert_eq!(back.actor_id().as_deref(), Some("u1"));
/// ```
#[cfg(feature = "auth")]
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthIdentity;

#[cfg(feature = "auth")]
impl IdentityCodec for AuthIdentity {
    fn encode(&self, actor: &dyn Actor) -> Value {
        let mut value = BasicIdentity.encode(actor);
        if let Some(user) = flame_auth::as_user_actor(actor) {
            let expires_at_ms = user.expires_at().map(|at| {
                at.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            });
            value["user"] = json!({ "user": user.user(), "expires_at_ms": expires_at_ms });
        }
        value
    }

    fn decode(&self, value: &Value) -> Arc<dyn Actor> {
        let basic = BasicIdentity.decode(value);
        let Some(user) = value
            .get("user")
            .and_then(|u| u.get("user"))
            .and_then(|u| serde_json::from_value::<flame_auth::User>(u.clone()).ok())
        else {
            return basic;
        };
        let mut authenticated = flame_auth::AuthenticatedUser::new(user);
        if let Some(ms) = value
            .get("user")
            .and_then(|u| u.get("expires_at_ms"))
            .and_then(Value::as_u64)
        {
            authenticated = authenticated.expiring_at(UNIX_EPOCH + Duration::from_millis(ms));
        }
        match basic.downcast_ref::<WebSocketActor>() {
            Some(ws) => Arc::new(ws.to_builder().extension(authenticated).build()),
            None => Arc::new(authenticated),
        }
    }
}

/// Cluster mode for an actor system: set it with
/// [`ActorSystemBuilder::cluster`](crate::ActorSystemBuilder::cluster).
///
/// ```
/// use std::sync::Arc;
/// use flame_stateful::cluster::{BasicIdentity, ClusterConfig, Directory};
/// fn config(directory: Arc<dyn Directory>) -> ClusterConfig {
///     ClusterConfig::new(directory, "a long random secret")
/// }
/// ```
#[derive(Clone)]
pub struct ClusterConfig {
    /// Where actors live, fenced commits, the lease.
    pub directory: Arc<dyn Directory>,
    /// Shared by every node: forwarded calls carry it, and the internal endpoint refuses
    /// any request without it.
    pub secret: Arc<str>,
    /// How callers' identities travel. Default: [`BasicIdentity`].
    pub identity: Arc<dyn IdentityCodec>,
    /// The transport's route prefix on every node. Default: `/actors`.
    pub prefix: String,
    /// How long a forwarded call may take before its caller gets `unavailable`.
    /// Default: 30 s.
    pub forward_timeout: Duration,
    /// How often the node looks for due alarms of actors no live node owns. Default: 1 s.
    pub orphan_scan: Duration,
}

impl ClusterConfig {
    /// A config with the defaults.
    pub fn new(directory: Arc<dyn Directory>, secret: impl Into<Arc<str>>) -> Self {
        Self {
            directory,
            secret: secret.into(),
            identity: Arc::new(BasicIdentity),
            prefix: String::from("/actors"),
            forward_timeout: Duration::from_secs(30),
            orphan_scan: Duration::from_secs(1),
        }
    }
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("directory", &self.directory)
            .field("secret", &"..")
            .field("identity", &self.identity)
            .field("prefix", &self.prefix)
            .field("forward_timeout", &self.forward_timeout)
            .field("orphan_scan", &self.orphan_scan)
            .finish()
    }
}

/// Whether `given` is the secret, in time that does not depend on where they differ.
pub(crate) fn secret_matches(secret: &str, given: &str) -> bool {
    let (a, b) = (secret.as_bytes(), given.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cret", "s3cre"));
        assert!(!secret_matches("s3cret", "s3cret!"));
        assert!(!secret_matches("s3cret", ""));
        assert!(!secret_matches("s3cret", "S3cret"));
    }

    #[test]
    fn an_unknown_identity_arrives_as_its_type() {
        #[derive(Debug)]
        struct Token;
        impl Actor for Token {
            fn actor_type(&self) -> &str {
                "backend"
            }
        }
        // a user type that calls itself "backend" does not become a BackendActor
        let back = BasicIdentity.decode(&BasicIdentity.encode(&Token));
        assert_eq!(back.actor_type(), "backend");
        assert!(back.downcast_ref::<ForwardedActor>().is_some());
    }
}
