//! Membership and single activation in the database: the SQL behind [`lease`](crate::lease)'s
//! decisions. Every judgement of liveness uses the database's clock (`now()`), so node clocks
//! are never compared with each other.
//!
//! Not wired into the runtime: the actor system does not call these yet (see the docs page
//! "Actors on PostgreSQL" for what it would need).

use std::time::Duration;

use flame_stateful::store::{ActorId, ActorWrite, StoreError};

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
}

fn db(e: impl std::error::Error + Send + Sync + 'static) -> ClusterError {
    ClusterError::Store(StoreError::backend(e))
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
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        // Dead registrations of this id or address make way; live ones block.
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
        tx.commit().await.map_err(db)?;
        Ok(Member {
            id: id.into(),
            address: address.into(),
            started_at_ms: row.get(0),
            expires_at_ms: row.get(1),
        })
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
        let (name, key) = (&*actor.name, &*actor.key);
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
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
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
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
        let check = tx
            .prepare(
                "SELECT 1 FROM flame_actor_owners \
                 WHERE name = $1 AND key = $2 AND node = $3 AND epoch = $4 FOR SHARE",
            )
            .await
            .map_err(db)?;
        for (write, epoch) in &writes {
            let (name, key) = (&*write.actor.name, &*write.actor.key);
            let owned = tx
                .query_opt(&check, &[&name, &key, &me, epoch])
                .await
                .map_err(db)?;
            if owned.is_none() {
                return Err(ClusterError::Fenced {
                    actor: write.actor.to_string(),
                    epoch: *epoch,
                });
            }
        }
        let writes: Vec<ActorWrite> = writes.into_iter().map(|(write, _)| write).collect();
        write_in(&tx, &writes).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
