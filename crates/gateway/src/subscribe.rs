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

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tonic::{Request, Response, Status};

use super::guard::{Pass, hold, permitted};
use super::locate::authority_namespace;
use super::namespace;
use super::scheduler::Shared;
use super::status::unknown_namespace;
use super::streams::{ResponseStream, until_shutdown};
use super::tagging::TagNamespace;
use switchyard_access::Gatekeeper;
use switchyard_core::access::Rpc;
use switchyard_core::bus::{
    Filter, StatusBus, StatusEvent, StatusKind, StatusPayload, Subscription,
};
use switchyard_scheduler::SchedulerPool;

/// The message of one status kind inside a bus payload.
pub(super) type Extract<T> = fn(&StatusPayload) -> Option<&T>;

impl Shared {
    /// Subscribes a client to `kind` events, filtered by the namespace its
    /// metadata names, if any; without one, by the namespaces it may
    /// watch, re-checked while the stream lives.
    pub(super) async fn subscribe<Req, T>(
        &self,
        rpc: Rpc,
        request: Request<Req>,
        kind: StatusKind,
        extract: Extract<T>,
    ) -> Result<Response<ResponseStream<T>>, Status>
    where
        T: Clone + TagNamespace + Send + Sync + 'static,
    {
        let authority = authority_namespace(request.extensions(), self.authority_suffix.as_deref());
        let namespace = namespace::from_metadata(request.metadata())?.or(authority);
        let pass = self
            .admit(rpc, &request, namespace.as_deref(), None, true)
            .await?;
        if let Some(namespace) = &namespace {
            self.pool.get(namespace).map_err(unknown_namespace)?;
        }
        tracing::debug!(
            kind = kind.as_str(),
            namespace = namespace.as_deref().unwrap_or("*"),
            "status subscriber joined"
        );
        let filtered = namespace.is_none() && self.access.keeper.enabled();
        let subscription = self.bus.subscribe(Filter {
            kind,
            namespace: namespace.map(Arc::from),
        });
        if filtered {
            let permitted = Permitted {
                keeper: self.access.keeper.clone(),
                pass,
                pool: self.pool.clone(),
                bus: self.bus.clone(),
                kind,
                every: self.access.recheck_interval,
                allowed: None,
                next_check: Instant::now(),
                pending: VecDeque::new(),
            };
            let stream = futures_util::stream::unfold(
                (subscription, permitted),
                move |(mut subscription, mut permitted)| async move {
                    loop {
                        let event = permitted.next(&mut subscription).await?;
                        if let Some(message) = tagged(&event, extract) {
                            return Some((Ok(message), (subscription, permitted)));
                        }
                    }
                },
            );
            return Ok(Response::new(until_shutdown(stream, self.shutdown.clone())));
        }
        let stream =
            futures_util::stream::unfold(subscription, move |mut subscription| async move {
                loop {
                    let event = subscription.recv().await?;
                    // The filter admits only `kind`; anything else is skipped.
                    if let Some(message) = tagged(&event, extract) {
                        return Some((Ok(message), subscription));
                    }
                }
            });
        Ok(Response::new(until_shutdown(
            hold(stream, pass),
            self.shutdown.clone(),
        )))
    }
}

fn tagged<T: Clone + TagNamespace>(event: &StatusEvent, extract: Extract<T>) -> Option<T> {
    let mut message = extract(&event.payload)?.clone();
    message.tag_namespace(&event.namespace);
    Some(message)
}

/// An aggregated subscription's view of where its caller may watch:
/// re-checked every `every` (decisions are cached by the gatekeeper). A
/// namespace that becomes allowed starts with its current state; one no
/// longer allowed sends nothing more.
struct Permitted {
    keeper: Arc<Gatekeeper>,
    pass: Pass,
    pool: SchedulerPool,
    bus: StatusBus,
    kind: StatusKind,
    every: Duration,
    /// `None` until the first check.
    allowed: Option<BTreeSet<String>>,
    next_check: Instant,
    /// Current state of namespaces just allowed, sent before anything else.
    pending: VecDeque<StatusEvent>,
}

impl Permitted {
    /// The next event the caller may see.
    async fn next(&mut self, subscription: &mut Subscription) -> Option<StatusEvent> {
        loop {
            if Instant::now() >= self.next_check {
                self.recheck().await;
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            tokio::select! {
                event = subscription.recv() => {
                    let event = event?;
                    if self.allowed.as_ref().is_some_and(|a| a.contains(&*event.namespace)) {
                        return Some(event);
                    }
                }
                () = tokio::time::sleep_until(self.next_check) => {}
            }
        }
    }

    async fn recheck(&mut self) {
        let namespaces = self.pool.namespaces();
        let now: BTreeSet<String> = permitted(&self.keeper, &self.pass, namespaces)
            .await
            .into_iter()
            .collect();
        // The subscription's own snapshot covers the first check.
        if let Some(before) = &self.allowed {
            for added in now.difference(before) {
                tracing::debug!(namespace = %added, kind = self.kind.as_str(), "subscriber may now watch");
                self.pending.extend(self.bus.snapshot(&Filter {
                    kind: self.kind,
                    namespace: Some(Arc::from(added.as_str())),
                }));
            }
        }
        self.allowed = Some(now);
        self.next_check = Instant::now() + self.every;
    }
}
