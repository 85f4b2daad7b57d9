//! Membership and single activation in the database: the SQL behind [`lease`](crate::lease)'s
//! decisions. Every judgement of liveness uses the database's clock (`now()`), so node clocks
//! are never compared with each other.
//!
//! The runtime reaches these through [`PgCluster`](crate::PgCluster), the actor system's
//! [`Directory`](flame_stateful::cluster::Directory) in cluster mode.

use std::time::Duration;

use flame_stateful::store::{ActorId, ActorWrite, Alarm, StoreError};

use crate::PgStore;
use crate::lease::{Activation, Member, Owner, decide_activation};
use crate::store::write_in;

/// A membership or ownership operation failed.
///
/// ```
/// use flame_postgres::cluster::ClusterError;
/// let e = ClusterError::Fenced { actor: "counter/a".into(), epoch: 3 };
/// assert!(e.to_string().contains("fenced"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// Another live node is registered under this id or at this address.
    #[error("node {id} at {address}: the id or the address is taken by a live node")]
    NodeTaken {
        /// The id asked for.
        id: String,
        /// The address asked for.
        address: String,
    },
    /// The node's lease lapsed (or it was never registered): it must register again, and
    /// its activations are void.
    #[error("the lease of node {0} lapsed")]
    LeaseLapsed(String),
    /// A commit was refused: the activation's epoch is no longer the actor's, or its node
    /// is not alive. Nothing of the commit was written.
    #[error("commit of {actor} at epoch {epoch} fenced: the actor has another owner")]
    Fenced {
        /// Whose write.
        actor: String,
        /// The epoch it carried.
        epoch: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster settings are incomplete or wrong.
    #[error("cluster configuration: {0}")]
    Config(String),
}

fn db(e: impl std::error::Error + Send + Sync + 'static) -> ClusterError {
    ClusterError::Store(StoreError::backend(e))
}

/// Inside `tx`: the server ends the transaction if its client stays silent for `hold`.
async fn limit_hold(
    tx: &deadpool_postgres::Transaction<'_>,
    hold: Option<Duration>,
) -> Result<(), ClusterError> {
    if let Some(hold) = hold {
        // a plain integer (ms): no injection possible
        let ms = ttl_ms(hold).max(1);
        tx.batch_execute(&format!(
            "SET LOCAL idle_in_transaction_session_timeout = {ms}"
        ))
        .await
        .map_err(db)?;
    }
    Ok(())
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Registers node `id` at `address` with a lease of `ttl`. A registration of the same id
    /// or address whose lease lapsed is replaced; a live one is [`ClusterError::NodeTaken`].
    ///
    /// # Errors
    ///
    /// [`ClusterError::NodeTaken`], or the database failed.
    pub async fn register_node(
        &self,
        id: &str,
        address: &str,
        ttl: Duration,
    ) -> Result<Member, ClusterError> {
        self.insert_node(id, address, ttl, false).await
    }

    /// Extends node `id`'s lease to `ttl` from the database's now, if it has not lapsed.
    /// Record the instant the call was *made* in [`SelfLease::renewed`](crate::lease::SelfLease::renewed)
    /// when it succeeds.
    ///
    /// # Errors
    ///
    /// [`ClusterError::LeaseLapsed`]: too late, others may have taken its actors.
    pub async fn renew_node(&self, id: &str, ttl: Duration) -> Result<(), ClusterError> {
        let client = self.pool.get().await.map_err(db)?;
        let renewed = client
            .execute(
                "UPDATE flame_nodes SET expires_at = now() + $2::bigint * interval '1 millisecond' \
                 WHERE id = $1 AND expires_at > now()",
                &[&id, &ttl_ms(ttl)],
            )
            .await
            .map_err(db)?;
        if renewed == 0 {
            return Err(ClusterError::LeaseLapsed(id.into()));
        }
        Ok(())
    }

    /// The live nodes, by the database's clock.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn live_nodes(&self) -> Result<Vec<Member>, ClusterError> {
        let client = self.pool.get().await.map_err(db)?;
        let rows = client
            .query(
                "SELECT id, address, (extract(epoch FROM started_at) * 1000)::bigint, \
                        (extract(epoch FROM expires_at) * 1000)::bigint \
                 FROM flame_nodes WHERE expires_at > now() ORDER BY id",
                &[],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|row| Member {
                id: row.get(0),
                address: row.get(1),
                started_at_ms: row.get(2),
                expires_at_ms: row.get(3),
            })
            .collect())
    }

    /// Activates `actor` on node `me`: takes ownership with a new epoch when nobody owns it
    /// or its owner is dead (or is `me`), else names the live owner. Serialized per actor by
    /// a row lock, so concurrent activations agree.
    ///
    /// # Errors
    ///
    /// [`ClusterError::LeaseLapsed`] when `me` itself is not alive; the database failed.
    pub async fn activate(&self, actor: &ActorId, me: &str) -> Result<Activation, ClusterError> {
        self.activate_within(actor, me, None).await
    }

    /// [`activate`](Self::activate), its row lock held at most `hold` past the client's last
    /// statement: a node cut off mid-activation does not block the others for longer.
    ///
    /// # Errors
    ///
    /// As [`activate`](Self::activate).
    pub async fn activate_within(
        &self,
        actor: &ActorId,
        me: &str,
        hold: Option<Duration>,
    ) -> Result<Activation, ClusterError> {
        let (name, key) = (&*actor.name, &*actor.key);
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        limit_hold(&tx, hold).await?;
        let alive: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM flame_nodes WHERE id = $1 AND expires_at > now())",
                &[&me],
            )
            .await
            .map_err(db)?
            .get(0);
        if !alive {
            return Err(ClusterError::LeaseLapsed(me.into()));
        }
        // A placeholder row to lock when there is no owner yet: concurrent first activations
        // then queue on it instead of both inserting.
        tx.execute(
            "INSERT INTO flame_actor_owners (name, key, node, epoch) VALUES ($1, $2, '', 0) \
             ON CONFLICT DO NOTHING",
            &[&name, &key],
        )
        .await
        .map_err(db)?;
        let row = tx
            .query_one(
                "SELECT o.node, o.epoch, \
                        EXISTS (SELECT 1 FROM flame_nodes n WHERE n.id = o.node AND n.expires_at > now()) \
                 FROM flame_actor_owners o WHERE o.name = $1 AND o.key = $2 FOR UPDATE",
                &[&name, &key],
            )
            .await
            .map_err(db)?;
        let (node, epoch, owner_alive): (String, i64, bool) = (row.get(0), row.get(1), row.get(2));
        let current = (epoch > 0).then_some(Owner { node, epoch });
        let decision = decide_activation(me, current.as_ref(), owner_alive);
        if let Activation::Take { epoch } = decision {
            tx.execute(
                "UPDATE flame_actor_owners SET node = $3, epoch = $4 WHERE name = $1 AND key = $2",
                &[&name, &key, &me, &epoch],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(decision)
    }

    /// Commits `writes`, each with the epoch of its actor's activation on node `me`, in one
    /// transaction that first checks, under row locks, that `me` is alive and owns every
    /// actor at that epoch. One fenced write refuses the whole commit: nothing is written.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`], [`ClusterError::LeaseLapsed`], or the database failed.
    pub async fn commit_fenced(
        &self,
        me: &str,
        writes: Vec<(ActorWrite, i64)>,
    ) -> Result<(), ClusterError> {
        let (writes, epochs): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        self.commit_fenced_slices(me, &writes, &epochs, None).await
    }

    /// [`commit_fenced`](Self::commit_fenced) without taking the writes: `epochs[i]` is
    /// `writes[i]`'s. The ownership of every actor is checked (and share-locked, so no
    /// takeover can slip in before the commit) in one round trip. With `hold`, the server
    /// aborts the transaction (and lets go of its locks) when the client stays silent that
    /// long inside it: a node cut off mid-commit then blocks no takeover for longer.
    ///
    /// # Errors
    ///
    /// As [`commit_fenced`](Self::commit_fenced).
    pub async fn commit_fenced_slices(
        &self,
        me: &str,
        writes: &[ActorWrite],
        epochs: &[i64],
        hold: Option<Duration>,
    ) -> Result<(), ClusterError> {
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        limit_hold(&tx, hold).await?;
        // FOR SHARE on the node's row: a concurrent takeover cannot delete it mid-commit;
        // expiry is judged at this statement, before anything is written.
        let alive = tx
            .query_opt(
                "SELECT 1 FROM flame_nodes WHERE id = $1 AND expires_at > now() FOR SHARE",
                &[&me],
            )
            .await
            .map_err(db)?;
        if alive.is_none() {
            return Err(ClusterError::LeaseLapsed(me.into()));
        }
        let names: Vec<&str> = writes.iter().map(|w| &*w.actor.name).collect();
        let keys: Vec<&str> = writes.iter().map(|w| &*w.actor.key).collect();
        // The owner rows this node holds at the writes' epochs, share-locked: an activation
        // elsewhere (FOR UPDATE) waits until this transaction ends, and then sees its writes.
        let rows = tx
            .query(
                "SELECT o.name, o.key, o.epoch FROM flame_actor_owners o \
                 JOIN unnest($1::text[], $2::text[]) AS w(name, key) \
                   ON o.name = w.name AND o.key = w.key \
                 WHERE o.node = $3 FOR SHARE OF o",
                &[&names, &keys, &me],
            )
            .await
            .map_err(db)?;
        let owned: std::collections::HashMap<(String, String), i64> = rows
            .into_iter()
            .map(|row| ((row.get(0), row.get(1)), row.get(2)))
            .collect();
        for (write, epoch) in writes.iter().zip(epochs) {
            let current = owned.get(&(write.actor.name.to_string(), write.actor.key.to_string()));
            if current != Some(epoch) {
                return Err(ClusterError::Fenced {
                    actor: write.actor.to_string(),
                    epoch: *epoch,
                });
            }
        }
        write_in(&tx, writes).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Registers node `id` at `address` as [`register_node`](Self::register_node) does,
    /// and, in the same transaction, voids every activation an earlier registration of the
    /// same id held (their epochs move on): a node that comes back after its lease lapsed
    /// can never commit with what it held before.
    ///
    /// # Errors
    ///
    /// As [`register_node`](Self::register_node).
    pub async fn join_node(
        &self,
        id: &str,
        address: &str,
        ttl: Duration,
    ) -> Result<Member, ClusterError> {
        self.insert_node(id, address, ttl, true).await
    }

    /// Registers node `id` at `address` in one transaction: dead registrations of the id or
    /// the address make way, a live one is [`ClusterError::NodeTaken`]; with `void_epochs`,
    /// every activation an earlier registration of `id` held moves to a new epoch too.
    async fn insert_node(
        &self,
        id: &str,
        address: &str,
        ttl: Duration,
        void_epochs: bool,
    ) -> Result<Member, ClusterError> {
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute(
            "DELETE FROM flame_nodes WHERE (id = $1 OR address = $2) AND expires_at <= now()",
            &[&id, &address],
        )
        .await
        .map_err(db)?;
        let row = tx
            .query_opt(
                "INSERT INTO flame_nodes (id, address, started_at, expires_at) \
                 SELECT $1, $2, now(), now() + $3::bigint * interval '1 millisecond' \
                 WHERE NOT EXISTS (SELECT 1 FROM flame_nodes WHERE address = $2) \
                 ON CONFLICT (id) DO NOTHING \
                 RETURNING (extract(epoch FROM started_at) * 1000)::bigint, \
                           (extract(epoch FROM expires_at) * 1000)::bigint",
                &[&id, &address, &ttl_ms(ttl)],
            )
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Err(ClusterError::NodeTaken {
                id: id.into(),
                address: address.into(),
            });
        };
        if void_epochs {
            tx.execute(
                "UPDATE flame_actor_owners SET epoch = epoch + 1 WHERE node = $1",
                &[&id],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Member {
            id: id.into(),
            address: address.into(),
            started_at_ms: row.get(0),
            expires_at_ms: row.get(1),
        })
    }

    /// Node `id` leaves: its lease ends now, so the others may take its actors at once.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn leave_node(&self, id: &str) -> Result<(), ClusterError> {
        let client = self.pool.get().await.map_err(db)?;
        client
            .execute(
                "UPDATE flame_nodes SET expires_at = now() WHERE id = $1 AND expires_at > now()",
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The address of node `id`, if it is alive.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn node_address(&self, id: &str) -> Result<Option<String>, ClusterError> {
        let client = self.pool.get().await.map_err(db)?;
        let row = client
            .query_opt(
                "SELECT address FROM flame_nodes WHERE id = $1 AND expires_at > now()",
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(row.map(|row| row.get(0)))
    }

    /// The pending alarms of `actor`.
    ///
    /// # Errors
    ///
    /// The database failed, or an alarm does not read back.
    pub async fn alarms_of(&self, actor: &ActorId) -> Result<Vec<Alarm>, ClusterError> {
        let client = self.pool.get().await.map_err(db)?;
        let rows = client
            .query(
                "SELECT alarm FROM flame_actor_alarms WHERE name = $1 AND key = $2 ORDER BY id",
                &[&&*actor.name, &&*actor.key],
            )
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|row| {
                let bytes: Vec<u8> = row.get(0);
                serde_json::from_slice(&bytes).map_err(|e| {
                    ClusterError::Store(StoreError::Corrupt {
                        actor: actor.to_string(),
                        message: format!("alarm: {e}"),
                    })
                })
            })
            .collect()
    }

    /// Up to `limit` actors with an alarm due by `now_ms` (wall clock, ms) whose owner is
    /// not alive (or that nobody ever owned). Skips the owner rows other nodes are
    /// activating right now (`SKIP LOCKED`): those are being claimed already.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn orphaned_alarms(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<ActorId>, ClusterError> {
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        let rows = tx
            .query(
                "SELECT DISTINCT a.name, a.key FROM flame_actor_alarms a \
                 WHERE a.at_ms <= $1 AND NOT EXISTS ( \
                     SELECT 1 FROM flame_actor_owners o JOIN flame_nodes n ON n.id = o.node \
                     WHERE o.name = a.name AND o.key = a.key AND n.expires_at > now()) \
                 LIMIT $2",
                &[&now_ms, &limit],
            )
            .await
            .map_err(db)?;
        let mut orphans = Vec::with_capacity(rows.len());
        for row in rows {
            let (name, key): (String, String) = (row.get(0), row.get(1));
            // one claimant at a time: a row another node locked is its to activate
            let free = tx
                .query_opt(
                    "SELECT 1 FROM flame_actor_owners WHERE name = $1 AND key = $2 \
                     FOR UPDATE SKIP LOCKED",
                    &[&name, &key],
                )
                .await
                .map_err(db)?;
            let unowned_yet = tx
                .query_opt(
                    "SELECT 1 FROM flame_actor_owners WHERE name = $1 AND key = $2",
                    &[&name, &key],
                )
                .await
                .map_err(db)?
                .is_none();
            if free.is_some() || unowned_yet {
                orphans.push(ActorId::new(name, key));
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(orphans)
    }
}
