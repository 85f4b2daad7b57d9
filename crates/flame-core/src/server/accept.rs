//! flame's accept loop: the connection cap, refusals over it, accept errors with backoff,
//! and graceful shutdown.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, Counted, Shared};
use super::{FlameService, ServerConfig, ServerStats, file_limit};

/// How many refused connections may be in the middle of getting their 503 at once; past
/// that, a connection over the cap is closed without an answer.
const MAX_REFUSING: usize = 64;

/// How long a refused connection may take to get its 503 and close.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The answer to a connection over the cap, written before its request is read.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 40\r\n\
\r\n\
the server is at its connection limit.\r\n";

/// The first and the longest pause after an accept error that is not the client's (Go's
/// `net/http` waits 5 ms, doubling up to 1 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// At most one log line per this period for each kind of trouble; the lines in between are
/// counted and the count goes in the next line.
const LOG_PERIOD: Duration = Duration::from_secs(1);

/// Serves `service` on `listener` until `signal`, then closes every connection gracefully
/// and waits for them (WebSocket connections live on in their own tasks, as with
/// `axum::serve`).
pub(crate) async fn serve(
    listener: TcpListener,
    service: FlameService,
    config: ServerConfig,
    stats: ServerStats,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let config = config.bounded();
    let file_limit = if config.raise_file_limit {
        file_limit::raise()
    } else {
        file_limit::current()
    };
    let cap = file_limit::fitting_cap(config.max_connections, file_limit);
    if cap < config.max_connections {
        tracing::warn!(
            wanted = config.max_connections,
            cap,
            open_files_limit = file_limit,
            "the connection cap is lowered to fit the limit on open files"
        );
    }
    stats.started(cap, file_limit);
    let shutdown = CancellationToken::new();
    let shared = Arc::new(Shared::new(service, config, shutdown.clone()));
    let permits = Arc::new(Semaphore::new(cap));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let tracker = TaskTracker::new();
    let mut accept_errors = RateLimitedLog::default();
    let mut over_cap = RateLimitedLog::default();
    let mut backoff = FIRST_BACKOFF;
    let mut signal = pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let (mut stream, remote) = match accepted {
            Ok(accepted) => {
                backoff = FIRST_BACKOFF;
                accepted
            }
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "a connection failed before it was accepted");
                continue;
            }
            Err(error) => {
                stats.accept_failed();
                // EMFILE, ENFILE, ENOBUFS...: retrying at once would spin; the condition
                // passes when connections close
                if let Some(suppressed) = accept_errors.should_log(Instant::now()) {
                    tracing::error!(
                        %error,
                        suppressed,
                        retry_in = ?backoff,
                        "cannot accept connections"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut signal => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        super::accepted(&mut stream);
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tracker.spawn(connection::serve(
                    Counted::new(stream, permit, stats.open(), shared.config.send_timeout),
                    remote,
                    shared.clone(),
                ));
            }
            Err(_) => {
                stats.refused_one();
                if let Some(suppressed) = over_cap.should_log(Instant::now()) {
                    tracing::warn!(
                        cap,
                        suppressed,
                        "connection cap reached: refusing new connections with 503"
                    );
                }
                if let Ok(slot) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream).await;
                        drop(slot);
                    });
                }
                // else: dropped, so closed at once
            }
        }
    }
    drop(listener);
    tracing::debug!(
        connections = tracker.len(),
        "closing connections gracefully"
    );
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Answers 503 and closes. The request is read and thrown away for a moment after the
/// answer: closing a socket with unread data makes the kernel send a reset, which can
/// destroy the answer before the client reads it.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            let n = stream.read(&mut sink).await?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n);
        }
        Ok::<(), io::Error>(())
    })
    .await;
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One log line per [`LOG_PERIOD`] at most.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    /// `Some(lines suppressed since the last one)` when a line may be logged now.
    fn should_log(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|last| now < last + LOG_PERIOD) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(REFUSAL).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .expect("a length")
            .parse()
            .expect("a number");
        assert_eq!(body.len(), length);
    }

    #[test]
    fn trouble_is_logged_once_per_period_with_the_count_in_between() {
        let start = Instant::now();
        let mut log = RateLimitedLog::default();
        assert_eq!(log.should_log(start), Some(0));
        assert_eq!(log.should_log(start), None);
        assert_eq!(log.should_log(start + LOG_PERIOD / 2), None);
        assert_eq!(log.should_log(start + LOG_PERIOD), Some(2));
        assert_eq!(log.should_log(start + LOG_PERIOD), None);
    }
}
