//! The Subscribe*Status RPCs, served from the status bus: however many
//! clients subscribe, each namespace has one upstream subscription per
//! kind (the pool's), never one per client.
//!
//! A client gets the current state of every object it watches, then every
//! change (the bus is snapshot-first). With `seldon-namespace` metadata it
//! watches that namespace, without it every namespace.
//!
//! Backpressure: the response stream reads the client's bus
//! [`Subscription`](switchyard_core::bus::Subscription) directly, only when tonic
//! asks for the next message, and tonic asks only when HTTP/2 flow control
//! lets it send (a window of at most a few MiB per stream). So the
//! per-client buffer is bounded by the HTTP/2 window plus the bus's bounded
//! per-subscriber set of dirty keys: a client that reads slowly gets the
//! latest state of each object (the bus conflates for it), never an
//! unbounded queue, and `publish` never waits on it, so no other client
//! or namespace slows down. There is no task per client: when the client
//! goes away (RST_STREAM, closed connection, or failed keepalive pings),
//! hyper drops the response body, which drops the subscription at once.

use std::sync::Arc;

use tonic::metadata::MetadataMap;
use tonic::{Response, Status};

use super::namespace;
use super::scheduler::Shared;
use super::status::unknown_namespace;
use super::streams::{ResponseStream, until_shutdown};
use super::tagging::TagNamespace;
use switchyard_core::bus::{Filter, StatusKind, StatusPayload};

/// The message of one status kind inside a bus payload.
pub(super) type Extract<T> = fn(&StatusPayload) -> Option<&T>;

impl Shared {
    /// Subscribes a client to `kind` events, filtered by the namespace its
    /// metadata names, if any.
    pub(super) fn subscribe<T>(
        &self,
        metadata: &MetadataMap,
        kind: StatusKind,
        extract: Extract<T>,
    ) -> Result<Response<ResponseStream<T>>, Status>
    where
        T: Clone + TagNamespace + Send + Sync + 'static,
    {
        let namespace = namespace::from_metadata(metadata)?;
        if let Some(namespace) = &namespace {
            self.pool.get(namespace).map_err(unknown_namespace)?;
        }
        tracing::debug!(
            kind = kind.as_str(),
            namespace = namespace.as_deref().unwrap_or("*"),
            "status subscriber joined"
        );
        let subscription = self.bus.subscribe(Filter {
            kind,
            namespace: namespace.map(Arc::from),
        });
        let stream =
            futures_util::stream::unfold(subscription, move |mut subscription| async move {
                loop {
                    let event = subscription.recv().await?;
                    // The filter admits only `kind`; anything else is skipped.
                    if let Some(message) = extract(&event.payload) {
                        let mut message = message.clone();
                        message.tag_namespace(&event.namespace);
                        return Some((Ok(message), subscription));
                    }
                }
            });
        Ok(Response::new(until_shutdown(stream, self.shutdown.clone())))
    }
}
