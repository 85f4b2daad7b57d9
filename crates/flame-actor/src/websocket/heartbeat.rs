//! [`Heartbeat`]: when to ping a WebSocket client, and when it counts as gone.

use tokio::time::{Duration, Instant};

use super::WebSocketConfig;

/// The heartbeat of one WebSocket connection, as a clock-driven state machine with no task,
/// timer or socket of its own, so every endpoint (plain or actor) follows the same rule:
///
/// - every frame from the client ([`seen`](Self::seen)) proves it alive;
/// - after `ping_interval` of silence the server pings it;
/// - a ping unanswered for `ping_timeout` (no pong, no other frame) means the client is
///   gone: the connection is closed with 1001, reason `heartbeat timeout`.
///
/// The engine sleeps until [`deadline`](Self::deadline) and then asks [`poll`](Self::poll)
/// what to do; a frame only records the time, so a busy connection costs no timer update
/// per message.
///
/// ```
/// use std::time::Duration;
/// use flame_actor::websocket::{Heartbeat, HeartbeatStep, WebSocketConfig};
/// use tokio::time::Instant;
///
/// let config = WebSocketConfig {
///     ping_interval: Duration::from_secs(10),
///     ping_timeout: Duration::from_secs(5),
///     ..WebSocketConfig::default()
/// };
/// let start = Instant::now();
/// let mut heartbeat = Heartbeat::new(&config, start);
/// let secs = |s| start + Duration::from_secs(s);
///
/// assert_eq!(heartbeat.poll(secs(3)), HeartbeatStep::Wait(secs(10)));
/// heartbeat.seen(secs(4)); // a message: silence starts again
/// assert_eq!(heartbeat.poll(secs(10)), HeartbeatStep::Wait(secs(14)));
/// assert_eq!(heartbeat.poll(secs(14)), HeartbeatStep::Ping);
/// assert_eq!(heartbeat.deadline(), secs(19));
/// assert_eq!(heartbeat.poll(secs(19)), HeartbeatStep::Dead);
/// ```
#[derive(Clone, Debug)]
pub struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    last_seen: Instant,
    ping_sent: Option<Instant>,
}

/// What the engine does at a [`Heartbeat::poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeartbeatStep {
    /// Nothing yet: poll again at this instant (unless a frame comes first).
    Wait(Instant),
    /// Send a ping now, then poll again at [`Heartbeat::deadline`].
    Ping,
    /// The client is gone: close the connection (1001, `heartbeat timeout`).
    Dead,
}

impl Heartbeat {
    /// The reason sent in the close frame of a connection whose client stopped answering.
    pub const CLOSE_REASON: &'static str = "heartbeat timeout";

    /// A heartbeat for a connection that opened at `now`.
    ///
    /// ```
    /// use flame_actor::websocket::{Heartbeat, WebSocketConfig};
    /// use tokio::time::Instant;
    ///
    /// let now = Instant::now();
    /// let heartbeat = Heartbeat::new(&WebSocketConfig::default(), now);
    /// assert_eq!(heartbeat.deadline(), now + WebSocketConfig::DEFAULT_PING_INTERVAL);
    /// ```
    pub fn new(config: &WebSocketConfig, now: Instant) -> Self {
        Self {
            // a zero interval would ping in a busy loop
            interval: config.ping_interval.max(Duration::from_millis(1)),
            timeout: config.ping_timeout,
            last_seen: now,
            ping_sent: None,
        }
    }

    /// A frame (any frame: a message, a pong, a ping) arrived at `now`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_actor::websocket::{Heartbeat, WebSocketConfig};
    /// use tokio::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut heartbeat = Heartbeat::new(&WebSocketConfig::default(), now);
    /// heartbeat.seen(now + Duration::from_secs(1));
    /// assert_eq!(heartbeat.deadline(), now + Duration::from_secs(16));
    /// ```
    pub fn seen(&mut self, now: Instant) {
        self.last_seen = now;
        self.ping_sent = None;
    }

    /// When [`poll`](Self::poll) has something to decide next.
    ///
    /// ```
    /// use flame_actor::websocket::{Heartbeat, WebSocketConfig};
    /// use tokio::time::Instant;
    ///
    /// let now = Instant::now();
    /// assert!(Heartbeat::new(&WebSocketConfig::default(), now).deadline() > now);
    /// ```
    pub fn deadline(&self) -> Instant {
        match self.ping_sent {
            Some(sent) => sent + self.timeout,
            None => self.last_seen + self.interval,
        }
    }

    /// What to do at `now`; see [`HeartbeatStep`].
    ///
    /// ```
    /// use flame_actor::websocket::{Heartbeat, HeartbeatStep, WebSocketConfig};
    /// use tokio::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut heartbeat = Heartbeat::new(&WebSocketConfig::default(), now);
    /// assert!(matches!(heartbeat.poll(now), HeartbeatStep::Wait(_)));
    /// ```
    pub fn poll(&mut self, now: Instant) -> HeartbeatStep {
        let deadline = self.deadline();
        if now < deadline {
            return HeartbeatStep::Wait(deadline);
        }
        if self.ping_sent.is_some() {
            return HeartbeatStep::Dead;
        }
        self.ping_sent = Some(now);
        HeartbeatStep::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(interval_ms: u64, timeout_ms: u64) -> WebSocketConfig {
        WebSocketConfig {
            ping_interval: Duration::from_millis(interval_ms),
            ping_timeout: Duration::from_millis(timeout_ms),
            ..WebSocketConfig::default()
        }
    }

    #[test]
    fn a_silent_client_is_dead_interval_plus_timeout_after_its_last_frame() {
        let start = Instant::now();
        let ms = |m| start + Duration::from_millis(m);
        let mut heartbeat = Heartbeat::new(&config(100, 50), start);
        heartbeat.seen(ms(30));
        assert_eq!(heartbeat.poll(ms(100)), HeartbeatStep::Wait(ms(130)));
        assert_eq!(heartbeat.poll(ms(130)), HeartbeatStep::Ping);
        assert_eq!(heartbeat.poll(ms(150)), HeartbeatStep::Wait(ms(180)));
        assert_eq!(heartbeat.poll(ms(180)), HeartbeatStep::Dead);
        // a late poll (a busy scheduler) still says dead, never pings twice
        assert_eq!(heartbeat.poll(ms(500)), HeartbeatStep::Dead);
    }

    #[test]
    fn an_answer_to_the_ping_keeps_the_client() {
        let start = Instant::now();
        let ms = |m| start + Duration::from_millis(m);
        let mut heartbeat = Heartbeat::new(&config(100, 50), start);
        assert_eq!(heartbeat.poll(ms(100)), HeartbeatStep::Ping);
        heartbeat.seen(ms(120)); // the pong
        assert_eq!(heartbeat.poll(ms(150)), HeartbeatStep::Wait(ms(220)));
        assert_eq!(heartbeat.poll(ms(220)), HeartbeatStep::Ping);
    }

    #[test]
    fn a_zero_interval_does_not_ping_in_a_loop() {
        let start = Instant::now();
        let heartbeat = Heartbeat::new(&config(0, 0), start);
        assert!(heartbeat.deadline() > start);
    }
}
