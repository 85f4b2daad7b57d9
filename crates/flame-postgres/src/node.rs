//! [`PgCluster`]: this node's membership in a cluster on PostgreSQL, and the actor system's
//! [`Directory`] in cluster mode. It registers the node, renews its lease in a task of its
//! own, activates actors with epochs and commits their writes fenced; the decisions are
//! [`lease`](crate::lease)'s, the SQL is [`cluster`](crate::cluster)'s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use flame_stateful::cluster::{ClusterConfig, Directory, Placement};
use flame_stateful::store::{ActorId, ActorWrite, Alarm, StoreError};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::PgStore;
use crate::cluster::ClusterError;
use crate::lease::{Activation, LeaseConfig, SelfLease};

/// The settings of one node, each default named.
///
/// ```
/// use std::time::Duration;
/// use flame_postgres::ClusterOptions;
/// let options = ClusterOptions::new("n1", "10.0.0.1:2830", "secret");
/// assert_eq!(options.lease.ttl, Duration::from_secs(3));
/// assert_eq!(options.renew_every, Duration::from_secs(1));
/// ```
#[derive(Clone)]
pub struct ClusterOptions {
    /// The node's id, unique in the cluster.
    pub node_id: String,
    /// The address the other nodes reach this node's transport at (`host:port`).
    pub advertise: String,
    /// Shared by every node: forwarded calls carry it.
    pub secret: String,
    /// How long a renewal keeps the node alive (default 3 s) and how much earlier it stops
    /// acknowledging (default 1 s).
    pub lease: LeaseConfig,
    /// How often the lease is renewed. Default: 1 s.
    pub renew_every: Duration,
}

impl std::fmt::Debug for ClusterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterOptions")
            .field("node_id", &self.node_id)
            .field("advertise", &self.advertise)
            .field("secret", &"..")
            .field("lease", &self.lease)
            .field("renew_every", &self.renew_every)
            .finish()
    }
}

impl ClusterOptions {
    /// The default lease: 3 s.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(3);
    /// The default safety margin: 1 s.
    pub const DEFAULT_MARGIN: Duration = Duration::from_secs(1);
    /// The default renewal period: 1 s.
    pub const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(1);

    /// Options with the defaults.
    pub fn new(
        node_id: impl Into<String>,
        advertise: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self {
            node_id: node_id.into(),
            advertise: advertise.into(),
            secret: secret.into(),
            lease: LeaseConfig::new(Self::DEFAULT_TTL, Self::DEFAULT_MARGIN),
            renew_every: Self::DEFAULT_RENEW_EVERY,
        }
    }

    /// From the environment: `FLAME_NODE_ADDR` (the advertised address; required),
    /// `FLAME_CLUSTER_SECRET` (required), `FLAME_NODE_ID` (default: the address).
    /// `None` when `FLAME_NODE_ADDR` is not set.
    ///
    /// ```
    /// // without FLAME_NODE_ADDR there is no cluster
    /// if std::env::var_os("FLAME_NODE_ADDR").is_none() {
    ///     assert!(flame_postgres::ClusterOptions::from_env().unwrap().is_none());
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `FLAME_NODE_ADDR` is set and `FLAME_CLUSTER_SECRET` is not (or is empty).
    pub fn from_env() -> Result<Option<Self>, ClusterError> {
        let Ok(advertise) = std::env::var("FLAME_NODE_ADDR") else {
            return Ok(None);
        };
        let secret = std::env::var("FLAME_CLUSTER_SECRET").unwrap_or_default();
        if secret.is_empty() {
            return Err(ClusterError::Config(
                "FLAME_NODE_ADDR is set but FLAME_CLUSTER_SECRET is not: every node needs the cluster secret".into(),
            ));
        }
        let node_id = std::env::var("FLAME_NODE_ID").unwrap_or_else(|_| advertise.clone());
        Ok(Some(Self::new(node_id, advertise, secret)))
    }
}

/// This node in a cluster on PostgreSQL: its lease, kept by a renewal task, and the
/// actor system's [`Directory`].
///
/// ```no_run
/// use flame_postgres::{ClusterOptions, PgCluster, PgStore};
/// use flame_stateful::ActorSystem;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::connect("postgres://flame@127.0.0.1/flame").await?;
/// let node = PgCluster::join(store.clone(), ClusterOptions::new("n1", "127.0.0.1:2830", "secret")).await?;
/// let system = ActorSystem::builder()
///     .store(store)
///     .cluster(node.config())
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct PgCluster {
    store: PgStore,
    options: ClusterOptions,
    lease: Mutex<SelfLease>,
    losses: watch::Sender<u64>,
    /// The node left: the renewal task ends, and never joins again.
    left: AtomicBool,
}

impl std::fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCluster")
            .field("options", &self.options)
            .field("lease", &*self.lease.lock())
            .finish_non_exhaustive()
    }
}

impl PgCluster {
    /// Registers this node (voiding whatever an earlier registration of its id held) and
    /// starts renewing its lease. The task ends when the last `Arc` is dropped.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NodeTaken`]: a live node has this id or address; the database
    /// failed.
    pub async fn join(store: PgStore, options: ClusterOptions) -> Result<Arc<Self>, ClusterError> {
        let sent = Instant::now();
        store
            .join_node(&options.node_id, &options.advertise, options.lease.ttl)
            .await?;
        let mut lease = SelfLease::new(options.lease);
        lease.renewed(sent);
        let node = Arc::new(Self {
            store,
            options,
            lease: Mutex::new(lease),
            losses: watch::channel(0).0,
            left: AtomicBool::new(false),
        });
        tokio::spawn(renew(Arc::downgrade(&node)));
        tracing::info!(node = %node.options.node_id, address = %node.options.advertise, "joined the cluster");
        Ok(node)
    }

    /// The actor system's cluster mode on this node: pass it to
    /// [`ActorSystemBuilder::cluster`](flame_stateful::ActorSystemBuilder::cluster).
    pub fn config(self: &Arc<Self>) -> ClusterConfig {
        ClusterConfig::new(self.clone(), self.options.secret.clone())
    }

    /// The options it runs with.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    /// How many times the node lost its lease so far.
    pub fn lease_loss_count(&self) -> u64 {
        *self.losses.borrow()
    }

    fn note_loss(&self) {
        self.losses.send_modify(|n| *n += 1);
    }
}

/// The renewal task: renews every `renew_every` (each attempt bounded by it); when the
/// node can no longer vouch for its lease, tells the actor system once; when the database
/// says the lease lapsed, joins again (voiding what the node held).
async fn renew(node: Weak<PgCluster>) {
    let every = match node.upgrade() {
        Some(node) => node.options.renew_every.max(Duration::from_millis(10)),
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut announced = false;
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        if node.left.load(Ordering::Acquire) {
            return;
        }
        let (id, ttl) = (node.options.node_id.clone(), node.options.lease.ttl);
        let sent = Instant::now();
        let renewed = tokio::time::timeout(every, node.store.renew_node(&id, ttl)).await;
        match renewed {
            Ok(Ok(())) => {
                node.lease.lock().renewed(sent);
                announced = false;
            }
            Ok(Err(ClusterError::LeaseLapsed(_))) => {
                if !announced {
                    node.note_loss();
                }
                let sent = Instant::now();
                let joined = tokio::time::timeout(
                    every,
                    node.store.join_node(&id, &node.options.advertise, ttl),
                )
                .await;
                match joined {
                    Ok(Ok(_)) => {
                        tracing::warn!(node = %id, "the lease had lapsed; joined the cluster again");
                        node.lease.lock().renewed(sent);
                        announced = false;
                    }
                    Ok(Err(e)) => tracing::warn!(node = %id, error = %e, "could not join again"),
                    Err(_) => tracing::warn!(node = %id, "joining again timed out"),
                }
                continue;
            }
            Ok(Err(e)) => tracing::warn!(node = %id, error = %e, "could not renew the lease"),
            Err(_) => tracing::warn!(node = %id, "renewing the lease timed out"),
        }
        if !announced && !node.lease.lock().may_acknowledge(Instant::now()) {
            tracing::error!(node = %id, "the lease can no longer be vouched for: acknowledging nothing, stopping every local actor");
            node.note_loss();
            announced = true;
        }
    }
}

fn store_error(e: ClusterError) -> StoreError {
    match e {
        ClusterError::Fenced { actor, .. } => StoreError::Fenced { actor },
        ClusterError::LeaseLapsed(_) => StoreError::LeaseLost,
        ClusterError::Store(e) => e,
        other => StoreError::backend(other),
    }
}

impl Directory for PgCluster {
    fn node_id(&self) -> &str {
        &self.options.node_id
    }

    fn activate<'a>(&'a self, actor: &'a ActorId) -> BoxFuture<'a, Result<Placement, StoreError>> {
        Box::pin(async move {
            let me = &self.options.node_id;
            let hold = Some(self.options.lease.ttl);
            match self
                .store
                .activate_within(actor, me, hold)
                .await
                .map_err(store_error)?
            {
                Activation::Take { epoch } => Ok(Placement::Here {
                    epoch: u64::try_from(epoch).unwrap_or_default(),
                }),
                Activation::OwnedBy(owner) => {
                    let address = self
                        .store
                        .node_address(&owner.node)
                        .await
                        .map_err(store_error)?
                        // the owner's lease lapsed between the two reads: try again later
                        .ok_or(StoreError::Fenced {
                            actor: actor.to_string(),
                        })?;
                    Ok(Placement::Elsewhere {
                        node: owner.node,
                        address,
                    })
                }
            }
        })
    }

    fn commit<'a>(
        &'a self,
        writes: &'a [ActorWrite],
        epochs: &'a [u64],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let epochs: Vec<i64> = epochs
                .iter()
                .map(|e| i64::try_from(*e).unwrap_or(i64::MAX))
                .collect();
            self.store
                .commit_fenced_slices(
                    &self.options.node_id,
                    writes,
                    &epochs,
                    Some(self.options.lease.ttl),
                )
                .await
                .map_err(store_error)
        })
    }

    fn may_acknowledge(&self) -> bool {
        self.lease.lock().may_acknowledge(Instant::now())
    }

    fn lease_losses(&self) -> watch::Receiver<u64> {
        self.losses.subscribe()
    }

    fn alarms_of<'a>(
        &'a self,
        actor: &'a ActorId,
    ) -> BoxFuture<'a, Result<Vec<Alarm>, StoreError>> {
        Box::pin(async move { self.store.alarms_of(actor).await.map_err(store_error) })
    }

    fn orphaned_alarms(&self) -> BoxFuture<'_, Result<Vec<ActorId>, StoreError>> {
        Box::pin(async move {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            self.store
                .orphaned_alarms(now_ms, 100)
                .await
                .map_err(store_error)
        })
    }

    fn leave(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.left.store(true, Ordering::Release);
            // nothing more is acknowledged from here on
            *self.lease.lock() = SelfLease::new(self.options.lease);
            if let Err(e) = self.store.leave_node(&self.options.node_id).await {
                tracing::warn!(node = %self.options.node_id, error = %e, "could not leave the cluster");
            }
        })
    }
}
