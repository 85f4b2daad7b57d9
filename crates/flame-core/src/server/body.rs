//! The request body as the accept loop hands it to the app: hyper's body with a read timeout.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

/// The error a request body gives when the client sent nothing of it for the server's
/// [`body_read_timeout`](crate::server::ServerConfig::body_read_timeout) while the app was
/// reading it. [`Request::body_bytes`](crate::Request::body_bytes) answers it with
/// `408 Request Timeout`; a handler that reads the raw body finds it in the error's
/// source chain.
///
/// ```
/// use std::time::Duration;
/// use flame_core::server::BodyReadTimeout;
///
/// let error = BodyReadTimeout { timeout: Duration::from_secs(30) };
/// assert_eq!(error.to_string(), "the client sent none of the request body for 30s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client sent none of the request body for {timeout:?}")]
pub struct BodyReadTimeout {
    /// The timeout that ran out.
    pub timeout: Duration,
}

impl BodyReadTimeout {
    /// Finds a `BodyReadTimeout` in `error` or its sources.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flame_core::server::BodyReadTimeout;
    ///
    /// let error = axum::Error::new(BodyReadTimeout { timeout: Duration::from_secs(1) });
    /// assert!(BodyReadTimeout::find(&error).is_some());
    /// assert!(BodyReadTimeout::find(&std::fmt::Error).is_none());
    /// ```
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(timeout) = error.downcast_ref::<Self>() {
                return Some(timeout);
            }
            current = error.source();
        }
        None
    }
}

pin_project! {
    /// A body whose every wait for the next frame is bounded by `timeout`: the clock runs
    /// only while the app waits on the client, and starts again after each frame.
    pub(crate) struct TimeoutBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Option<Sleep>,
        timeout: Duration,
    }
}

impl<B> TimeoutBody<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: None,
            timeout,
        }
    }
}

impl<B> Body for TimeoutBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            // the next wait gets the whole timeout again
            this.sleep.set(None);
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        let expired = this
            .sleep
            .as_pin_mut()
            .is_some_and(|sleep| sleep.poll(cx).is_ready());
        if expired {
            return Poll::Ready(Some(Err(Box::new(BodyReadTimeout {
                timeout: *this.timeout,
            }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use http_body_util::StreamBody;

    #[tokio::test]
    async fn a_body_that_stalls_fails_with_the_timeout_and_one_that_flows_does_not() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut body = std::pin::pin!(TimeoutBody::new(
            StreamBody::new(stream),
            Duration::from_secs(1)
        ));
        let feeder = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                tx.send(Ok(Frame::data(Bytes::from_static(b"x"))))
                    .await
                    .expect("send");
            }
            // then stall for good, holding the sender
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(tx);
        });
        for _ in 0..3 {
            let frame = body.frame().await.expect("a frame").expect("not an error");
            assert_eq!(frame.into_data().expect("data"), "x");
        }
        let error = body.frame().await.expect("an item").expect_err("timed out");
        assert_eq!(
            BodyReadTimeout::find(&*error),
            Some(&BodyReadTimeout {
                timeout: Duration::from_secs(1)
            })
        );
        feeder.abort();
    }
}
