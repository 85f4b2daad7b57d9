//! How hooks and actions are run: each under a time limit, with panics caught, so a faulty
//! actor restarts instead of taking its task (and its connections) down.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::Sleep;

/// How a guarded hook or action ended.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    Done(T),
    Panicked(String),
    TimedOut,
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("a panic with a non-string payload")
    }
}

/// Runs `fut` with panics caught and at most `limit` long. A future that is ready at its
/// first poll (most actions) never touches the timer; the timer of one that waits is boxed,
/// so it is not part of the size of every instance's task.
pub(crate) async fn guarded<F: Future>(limit: Duration, fut: F) -> Outcome<F::Output> {
    let mut fut = pin!(AssertUnwindSafe(fut).catch_unwind());
    let mut deadline: Option<Pin<Box<Sleep>>> = None;
    let result = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        let deadline = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        deadline.as_mut().poll(cx).map(|()| None)
    })
    .await;
    match result {
        Some(Ok(value)) => Outcome::Done(value),
        Some(Err(payload)) => Outcome::Panicked(panic_message(&*payload)),
        None => Outcome::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_pending_panicking_and_slow() {
        let limit = Duration::from_millis(50);
        assert!(matches!(
            guarded(limit, async { 1 }).await,
            Outcome::Done(1)
        ));
        let yielding = async {
            tokio::task::yield_now().await;
            2
        };
        assert!(matches!(guarded(limit, yielding).await, Outcome::Done(2)));
        let panicking = async { panic!("boom") };
        match guarded::<_>(limit, panicking).await {
            Outcome::Panicked(msg) => assert_eq!(msg, "boom"),
            other => panic!("expected a panic, got {other:?}"),
        }
        let slow = tokio::time::sleep(Duration::from_secs(5));
        assert!(matches!(guarded(limit, slow).await, Outcome::TimedOut));
    }
}
