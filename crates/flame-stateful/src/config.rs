//! [`ActorConfig`]: every limit and timeout of the stateful actor runtime, with its default.

use std::path::PathBuf;
use std::time::Duration;

/// Every limit and timeout of the stateful actor runtime, each with its default named here.
///
/// ```
/// use std::time::Duration;
/// use flame_stateful::ActorConfig;
///
/// let config = ActorConfig {
///     idle_timeout: Duration::from_secs(5),
///     ..ActorConfig::default()
/// };
/// assert_eq!(config.max_message_size, 64 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct ActorConfig {
    /// Where the embedded store keeps its file (`actors.redb`) when no store is given.
    /// Default: `./.flame`.
    pub data_dir: PathBuf,
    /// The longest incoming protocol message, in bytes. Default: 64 KiB.
    pub max_message_size: usize,
    /// The longest connection parameters (JSON text), in bytes. Default: 4 KiB.
    pub max_params_size: usize,
    /// How long one action may run before the caller gets `rpc_timeout` (its changes are
    /// discarded). Default: 60 s.
    pub rpc_timeout: Duration,
    /// How long `on_initialize`, `on_start`, `on_state_change` and `on_disconnect` may each run.
    /// Default: 5 s.
    pub hook_timeout: Duration,
    /// How long `on_before_connect` and `on_connect` may each run. Default: 5 s.
    pub connect_timeout: Duration,
    /// How many messages an instance's mailbox holds before senders wait. Default: 1024.
    pub mailbox_capacity: usize,
    /// How many outbound messages a connection buffers (for a WebSocket, beyond what its
    /// socket holds); a connection whose client does not keep up is closed rather than
    /// slowing the actor down. Default: 1024.
    pub outbound_capacity: usize,
    /// The most messages whose changes one write of an instance carries (the per-actor half
    /// of group commit). An instance hands its changes to the committer after at most this
    /// many messages; while one of its writes is in flight, it takes at most this many more
    /// and then waits for the write (its mailbox fills up and senders wait). Default: 256.
    pub max_batch: usize,
    /// The most bytes an instance holds for a write in flight: its next staged state and
    /// the replies and events that wait for the write (roughly measured). Past it, the
    /// instance stops taking messages until the write is acknowledged, so a slow store slows
    /// callers down instead of filling memory. Default: 8 MiB.
    pub max_pending_bytes: usize,
    /// An instance with no connections, no handles and no messages for about this long is
    /// unloaded (its state is already committed) and reloaded on demand; one that still has
    /// connections or handles hibernates (see [`hibernation`](Self::hibernation)).
    /// Default: 60 s.
    pub idle_timeout: Duration,
    /// Hibernate idle actors that still have connections (or handles): after
    /// `idle_timeout` without a message, with everything committed, the actor (its value,
    /// its state, its key-value cache) leaves memory while its connections stay open, with
    /// their params, state and subscriptions; the next message, call or alarm wakes it
    /// (loading the state and running `on_start`, as after any load). Off, such an actor
    /// stays loaded as long as it has a connection. Default: true.
    pub hibernation: bool,
    /// How long the committer waits after the first pending write for more to join the same
    /// transaction. Zero still groups everything that queued up while the previous
    /// transaction was being written, which is usually best. Default: 0.
    pub group_commit_window: Duration,
    /// The most actor writes in one transaction. Default: 4096.
    pub max_commit_batch: usize,
    /// The longest key of an actor's key-value space, in bytes. Default: 2 KiB.
    pub max_kv_key_size: usize,
    /// The longest value of an actor's key-value space, in bytes. Default: 128 KiB.
    pub max_kv_value_size: usize,
    /// The most keys one message may write (put or delete). Default: 1024.
    pub max_kv_writes_per_turn: usize,
    /// The most bytes (keys and values) one message may write. Default: 4 MiB.
    pub max_kv_bytes_per_turn: usize,
    /// The most bytes (keys and values) one actor's key-value space may hold. A message
    /// whose writes would take it past this fails with `storage_limit` and all its changes
    /// are discarded; writes that shrink the space are always allowed. Kept exactly (an
    /// overwrite counts the difference, a delete frees its entry), across restarts.
    /// `u64::MAX` turns the limit off, and with it the one store read a write of a key not
    /// read or written since the actor loaded costs. Default: 1 GiB.
    pub max_kv_bytes_per_actor: u64,
    /// How many bytes of committed key-value entries an actor keeps in memory to answer
    /// reads without the store. Default: 256 KiB.
    pub kv_cache_bytes: usize,
    /// The most events one WebSocket client may be subscribed to at once (distinct names it
    /// subscribed to and has not unsubscribed from); one more is refused with
    /// `limit_exceeded`, and the connection stays. Bounds the memory a client controls.
    /// Subscriptions the actor makes itself (`Connection::subscribe`) do not count.
    /// Default: 256.
    pub max_subscriptions: usize,
    /// The longest event name a WebSocket client may subscribe to, in bytes; a longer one
    /// is refused with `limit_exceeded`. Default: 256.
    pub max_event_name_size: usize,
    /// How many bytes a WebSocket connection may have queued beyond what its socket holds;
    /// a client that falls further behind is closed with `connection_closed`, as for
    /// `outbound_capacity` (whichever is reached first). Counts what a broadcast's frames
    /// would cost if each were the connection's own. Default: 8 MiB.
    pub outbound_byte_budget: usize,
}

impl ActorConfig {
    pub(crate) fn kv_limits(&self) -> crate::kv::KvLimits {
        crate::kv::KvLimits {
            max_key_size: self.max_kv_key_size,
            max_value_size: self.max_kv_value_size,
            max_writes_per_turn: self.max_kv_writes_per_turn,
            max_bytes_per_turn: self.max_kv_bytes_per_turn,
            max_bytes_per_actor: self.max_kv_bytes_per_actor,
            cache_bytes: self.kv_cache_bytes,
        }
    }
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./.flame"),
            max_message_size: 64 * 1024,
            max_params_size: 4 * 1024,
            rpc_timeout: Duration::from_secs(60),
            hook_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            mailbox_capacity: 1024,
            outbound_capacity: 1024,
            max_batch: 256,
            max_pending_bytes: 8 * 1024 * 1024,
            idle_timeout: Duration::from_secs(60),
            hibernation: true,
            group_commit_window: Duration::ZERO,
            max_commit_batch: 4096,
            max_kv_key_size: 2 * 1024,
            max_kv_value_size: 128 * 1024,
            max_kv_writes_per_turn: 1024,
            max_kv_bytes_per_turn: 4 * 1024 * 1024,
            max_kv_bytes_per_actor: 1024 * 1024 * 1024,
            kv_cache_bytes: 256 * 1024,
            max_subscriptions: 256,
            max_event_name_size: 256,
            outbound_byte_budget: 8 * 1024 * 1024,
        }
    }
}
