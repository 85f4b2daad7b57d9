//! [`WebSocketActor`]: a live WebSocket connection.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::identity::Actor;

/// A live WebSocket connection acting: every message it sends runs as this actor.
///
/// It carries the connection id, the peer address, when it connected, string metadata (a
/// client name, a protocol version) and typed [`extensions`](WebSocketActor::extensions)
/// where plugins put what they learn about the connection: flame-auth puts the authenticated
/// user there, which makes an authenticated connection usable as a user actor while staying a
/// `WebSocketActor`.
///
/// The actor is an immutable snapshot: build it with [`WebSocketActor::builder`], share it as
/// an `Arc<dyn Actor>`, and when the connection learns something new (it authenticates),
/// derive a new actor with [`WebSocketActor::to_builder`] and swap it in for the messages that
/// follow. Work already running keeps the identity it started with.
///
/// ```
/// use flame_actor::{Actor, WebSocketActor};
///
/// let conn = WebSocketActor::builder("conn-1")
///     .peer_addr("127.0.0.1:50000".parse().unwrap())
///     .metadata("client", "web")
///     .build();
/// assert_eq!(conn.actor_type(), "websocket");
/// assert_eq!(conn.actor_id().as_deref(), Some("conn-1"));
/// assert_eq!(conn.metadata("client"), Some("web"));
/// ```
#[derive(Clone)]
pub struct WebSocketActor {
    connection_id: String,
    peer_addr: Option<SocketAddr>,
    connected_at: SystemTime,
    metadata: BTreeMap<String, String>,
    extensions: http::Extensions,
}

impl WebSocketActor {
    /// The actor type string of every WebSocket actor.
    pub const TYPE: &'static str = "websocket";

    /// Starts a connection actor with its connection id; it connected now.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c1").build();
    /// assert_eq!(conn.connection_id(), "c1");
    /// assert!(conn.peer_addr().is_none());
    /// ```
    pub fn builder(connection_id: impl Into<String>) -> WebSocketActorBuilder {
        WebSocketActorBuilder {
            actor: Self {
                connection_id: connection_id.into(),
                peer_addr: None,
                connected_at: SystemTime::now(),
                metadata: BTreeMap::new(),
                extensions: http::Extensions::new(),
            },
        }
    }

    /// A builder holding a copy of this actor, to derive a new snapshot of the same
    /// connection (same id, address and connection time).
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let anonymous = WebSocketActor::builder("c1").build();
    /// let named = anonymous.to_builder().metadata("name", "ada").build();
    /// assert_eq!(named.connection_id(), "c1");
    /// assert_eq!(named.connected_at(), anonymous.connected_at());
    /// assert_eq!(anonymous.metadata("name"), None);
    /// ```
    pub fn to_builder(&self) -> WebSocketActorBuilder {
        WebSocketActorBuilder {
            actor: self.clone(),
        }
    }

    /// The connection's id, unique within the process.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// assert_eq!(WebSocketActor::builder("c9").build().connection_id(), "c9");
    /// ```
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The peer's address, when known.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let addr = "10.0.0.1:4000".parse().unwrap();
    /// assert_eq!(WebSocketActor::builder("c").peer_addr(addr).build().peer_addr(), Some(addr));
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// When the connection was accepted.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").build();
    /// assert!(conn.connected_at() <= SystemTime::now());
    /// ```
    pub fn connected_at(&self) -> SystemTime {
        self.connected_at
    }

    /// One metadata value.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").metadata("v", "2").build();
    /// assert_eq!(conn.metadata("v"), Some("2"));
    /// ```
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// All metadata, sorted by key.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").metadata("b", "2").metadata("a", "1").build();
    /// let keys: Vec<_> = conn.metadata_map().keys().map(String::as_str).collect();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    pub fn metadata_map(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The typed values attached to this connection.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Tenant(u32);
    ///
    /// let conn = WebSocketActor::builder("c").extension(Tenant(3)).build();
    /// assert_eq!(conn.extensions().get::<Tenant>(), Some(&Tenant(3)));
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }
}

impl fmt::Debug for WebSocketActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketActor")
            .field("connection_id", &self.connection_id)
            .field("peer_addr", &self.peer_addr)
            .field("connected_at", &self.connected_at)
            .field("metadata", &self.metadata)
            .field("extensions", &self.extensions.len())
            .finish()
    }
}

impl Actor for WebSocketActor {
    fn actor_type(&self) -> &str {
        Self::TYPE
    }

    fn actor_id(&self) -> Option<String> {
        Some(self.connection_id.clone())
    }

    fn extensions(&self) -> Option<&http::Extensions> {
        Some(&self.extensions)
    }
}

/// Builds a [`WebSocketActor`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use flame_actor::WebSocketActor;
///
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let conn = WebSocketActor::builder("c").connected_at(at).build();
/// assert_eq!(conn.connected_at(), at);
/// ```
#[derive(Clone, Debug)]
pub struct WebSocketActorBuilder {
    actor: WebSocketActor,
}

impl WebSocketActorBuilder {
    /// Sets the peer's address.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").peer_addr("[::1]:9".parse().unwrap()).build();
    /// assert!(conn.peer_addr().is_some());
    /// ```
    pub fn peer_addr(mut self, addr: SocketAddr) -> Self {
        self.actor.peer_addr = Some(addr);
        self
    }

    /// Sets when the connection was accepted (now, unless set).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").connected_at(SystemTime::UNIX_EPOCH).build();
    /// assert_eq!(conn.connected_at(), SystemTime::UNIX_EPOCH);
    /// ```
    pub fn connected_at(mut self, at: SystemTime) -> Self {
        self.actor.connected_at = at;
        self
    }

    /// Sets one metadata value, replacing an earlier one with the same key.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").metadata("k", "1").metadata("k", "2").build();
    /// assert_eq!(conn.metadata("k"), Some("2"));
    /// ```
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.actor.metadata.insert(key.into(), value.into());
        self
    }

    /// Attaches a typed value, replacing an earlier one of the same type.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").extension(1_u8).extension(2_u8).build();
    /// assert_eq!(conn.extensions().get::<u8>(), Some(&2));
    /// ```
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.actor.extensions.insert(value);
        self
    }

    /// Removes a typed value, if one is attached.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let conn = WebSocketActor::builder("c").extension(1_u8).build();
    /// let conn = conn.to_builder().without_extension::<u8>().build();
    /// assert_eq!(conn.extensions().get::<u8>(), None);
    /// ```
    pub fn without_extension<T: Send + Sync + 'static>(mut self) -> Self {
        self.actor.extensions.remove::<T>();
        self
    }

    /// The typed values, for bulk changes (e.g. copying from an upgrade request).
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// let mut builder = WebSocketActor::builder("c");
    /// builder.extensions_mut().insert("from the request");
    /// assert_eq!(builder.build().extensions().get::<&str>(), Some(&"from the request"));
    /// ```
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.actor.extensions
    }

    /// The actor.
    ///
    /// ```
    /// use flame_actor::WebSocketActor;
    ///
    /// assert_eq!(WebSocketActor::builder("c").build().connection_id(), "c");
    /// ```
    pub fn build(self) -> WebSocketActor {
        self.actor
    }
}

/// Turns a new connection's bare [`WebSocketActor`] into the identity it acts with.
///
/// Every WebSocket endpoint of flame (plain `websocket` routes and stateful actor connections)
/// applies the `WebSocketIdentity` found in the upgrade request, if any. Auth middleware maps
/// one, so that a connection opened by an authenticated request carries its user, without
/// flame-actor knowing anything about users.
///
/// ```
/// use flame_actor::{WebSocketActor, WebSocketIdentity};
///
/// let identity = WebSocketIdentity::new(|actor: WebSocketActor| {
///     actor.to_builder().metadata("tenant", "acme").build()
/// });
/// let actor = identity.apply(WebSocketActor::builder("conn-1").build());
/// assert_eq!(actor.metadata("tenant"), Some("acme"));
/// ```
#[derive(Clone)]
pub struct WebSocketIdentity(std::sync::Arc<IdentityFn>);

type IdentityFn = dyn Fn(WebSocketActor) -> WebSocketActor + Send + Sync;

impl WebSocketIdentity {
    /// An identity hook that rewrites the connection's actor with `apply`.
    pub fn new(apply: impl Fn(WebSocketActor) -> WebSocketActor + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(apply))
    }

    /// Applies the hook.
    pub fn apply(&self, actor: WebSocketActor) -> WebSocketActor {
        (self.0)(actor)
    }
}

impl fmt::Debug for WebSocketIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebSocketIdentity")
    }
}
