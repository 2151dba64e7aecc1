//! The response stream type every streaming RPC of the gateway returns,
//! and the rule that ends them all when the gateway stops: a graceful
//! shutdown waits for open streams, and subscriptions never end on their
//! own, so each stream watches the gateway's shutdown token and ends with
//! UNAVAILABLE (clients reconnect elsewhere) when it fires.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::status;

/// A boxed stream of responses, as tonic's generated traits want them.
pub(crate) type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `stream`, ended with UNAVAILABLE as soon as `shutdown` is cancelled.
pub(crate) fn until_shutdown<T, S>(stream: S, shutdown: CancellationToken) -> ResponseStream<T>
where
    T: Send + 'static,
    S: Stream<Item = Result<T, Status>> + Send + 'static,
{
    let state = Some((Box::pin(stream), shutdown));
    Box::pin(futures_util::stream::unfold(state, |state| async move {
        let (mut stream, shutdown) = state?;
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => Some((Err(status::shutting_down()), None)),
            item = stream.next() => item.map(|item| (item, Some((stream, shutdown)))),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_pending_stream_with_unavailable() {
        let token = CancellationToken::new();
        let mut stream = until_shutdown(
            futures_util::stream::pending::<Result<(), Status>>(),
            token.clone(),
        );
        token.cancel();
        let item = stream.next().await.expect("an error item");
        assert_eq!(item.unwrap_err().code(), tonic::Code::Unavailable);
        assert!(stream.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn items_pass_until_the_inner_stream_ends() {
        let token = CancellationToken::new();
        let inner = futures_util::stream::iter([Ok(1), Ok(2)]);
        let items: Vec<_> = until_shutdown::<i32, _>(inner, token).collect().await;
        assert_eq!(items.len(), 2);
    }
}
