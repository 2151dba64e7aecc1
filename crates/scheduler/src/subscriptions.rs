//! The five long-lived streams followed per namespace (model, pipeline,
//! experiment and server status, control plane), each as one task owned by
//! the namespace's entry: open, forward every message, and on failure or
//! end of stream retry with capped exponential backoff, until cancelled.
//! Messages go on in batches (what the stream has ready: one bus lock per
//! batch), and a failing namespace logs one warning per backoff step with
//! the attempt, the next delay and the root cause.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use futures_util::future::Either;
use tokio::sync::mpsc;
use tonic::Streaming;

use super::ControlPlaneEvent;
use super::backoff::Backoff;
use super::entry::NamespaceEntry;
use super::listing;
use super::stream_client::open;
use switchyard_core::bus::{StatusBus, StatusEvent, StatusKind, StatusPayload};
use switchyard_core::metrics as m;
use switchyard_proto::scheduler::{
    ControlPlaneResponse, ControlPlaneSubscriptionRequest, ExperimentSubscriptionRequest,
    ModelSubscriptionRequest, PipelineSubscriptionRequest, ServerSubscriptionRequest,
};

/// The name switchyard gives itself on every upstream subscription.
pub use switchyard_core::schedulers::SUBSCRIBER_NAME;

/// One of the five upstream streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    Status(StatusKind),
    ControlPlane,
}

impl Upstream {
    pub const ALL: [Upstream; 5] = [
        Upstream::Status(StatusKind::Model),
        Upstream::Status(StatusKind::Pipeline),
        Upstream::Status(StatusKind::Experiment),
        Upstream::Status(StatusKind::Server),
        Upstream::ControlPlane,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Upstream::Status(kind) => kind.as_str(),
            Upstream::ControlPlane => "control_plane",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Upstream::Status(kind) => kind as usize,
            Upstream::ControlPlane => 4,
        }
    }
}

/// Where the messages of a namespace's streams go.
#[derive(Clone)]
pub(crate) struct Sinks {
    pub bus: StatusBus,
    pub control_plane: Option<mpsc::Sender<ControlPlaneEvent>>,
    pub live_tasks: Arc<[AtomicUsize; 5]>,
}

/// Counts a live task (gauge and pool counter) for as long as it exists.
struct TaskGuard {
    upstream: Upstream,
    live: Arc<[AtomicUsize; 5]>,
}

impl TaskGuard {
    fn new(upstream: Upstream, live: Arc<[AtomicUsize; 5]>) -> Self {
        live[upstream.index()].fetch_add(1, Ordering::SeqCst);
        metrics::gauge!(m::POOL_TASKS, "kind" => upstream.as_str()).increment(1);
        TaskGuard { upstream, live }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.live[self.upstream.index()].fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(m::POOL_TASKS, "kind" => self.upstream.as_str()).decrement(1);
    }
}

/// How one subscription attempt ended.
pub enum Ended {
    Cancelled,
    /// The scheduler closed the stream cleanly.
    Closed,
    Failed(tonic::Status),
}

/// Follows one upstream stream of `entry` until its token is cancelled.
pub(crate) async fn follow(entry: Arc<NamespaceEntry>, upstream: Upstream, sinks: Sinks) {
    let _guard = TaskGuard::new(upstream, sinks.live_tasks.clone());
    let namespace: Arc<str> = Arc::from(entry.namespace());
    let cancel = entry.cancel.clone();
    let mut backoff = Backoff::default();
    // The delay slept before this attempt.
    let mut slept = std::time::Duration::ZERO;
    loop {
        let ended = tokio::select! {
            _ = cancel.cancelled() => Ended::Cancelled,
            ended = attempt(&entry, &namespace, upstream, &sinks, &mut backoff) => ended,
        };
        let delay = backoff.next_delay();
        match ended {
            Ended::Cancelled => return,
            Ended::Closed => {
                tracing::info!(namespace = %namespace, stream = upstream.as_str(), "scheduler closed the stream; resubscribing")
            }
            Ended::Failed(status) => {
                let attempt = backoff.attempts();
                let cause = root_cause(&status);
                // The five streams of a namespace fail together: one
                // warning per backoff step for the namespace, the rest at
                // debug level.
                // A first failure (after a stream worked) starts a step.
                let waited = if attempt == 1 {
                    std::time::Duration::ZERO
                } else {
                    slept
                };
                if entry.warning_due(waited) {
                    tracing::warn!(namespace = %namespace, stream = upstream.as_str(), attempt, next_delay = ?delay, code = ?status.code(), %cause, "upstream scheduler unreachable; retrying")
                } else {
                    tracing::debug!(namespace = %namespace, stream = upstream.as_str(), attempt, next_delay = ?delay, code = ?status.code(), %cause, "stream failed; retrying")
                }
            }
        }
        slept = delay;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// A status's message and the chain of errors under it, without repeats
/// ("transport error: error trying to connect: tcp connect error:
/// Connection refused (os error 111)"), so a log names the root cause.
pub(crate) fn root_cause(status: &tonic::Status) -> String {
    let mut parts: Vec<String> = vec![status.message().to_owned()];
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        let text = error.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = error.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.join(": ")
}

/// Opens the stream and forwards its messages until it ends.
async fn attempt(
    entry: &NamespaceEntry,
    namespace: &Arc<str>,
    upstream: Upstream,
    sinks: &Sinks,
    backoff: &mut Backoff,
) -> Ended {
    let subscriber_name = SUBSCRIBER_NAME.to_owned();
    let publish = |payloads: Vec<StatusPayload>| {
        sinks.bus.publish_batch(
            payloads
                .into_iter()
                .map(|payload| StatusEvent::new(namespace.clone(), payload)),
        );
    };
    let pump = Pump {
        entry,
        namespace,
        upstream,
        backoff,
        bus: &sinks.bus,
    };
    let channel = &entry.channel;
    let max = super::MAX_MESSAGE_BYTES;
    match upstream {
        Upstream::Status(StatusKind::Model) => {
            let req = ModelSubscriptionRequest {
                subscriber_name,
                is_model_gateway: false,
            };
            let opened = open(
                channel,
                max,
                "/seldon.mlops.scheduler.Scheduler/SubscribeModelStatus",
                req,
            )
            .await;
            pump.run(opened, |batch| async move {
                publish(batch.into_iter().map(StatusPayload::Model).collect())
            })
            .await
        }
        Upstream::Status(StatusKind::Pipeline) => {
            let req = PipelineSubscriptionRequest {
                subscriber_name,
                ..Default::default()
            };
            let opened = open(
                channel,
                max,
                "/seldon.mlops.scheduler.Scheduler/SubscribePipelineStatus",
                req,
            )
            .await;
            pump.run(opened, |batch| async move {
                publish(batch.into_iter().map(StatusPayload::Pipeline).collect())
            })
            .await
        }
        Upstream::Status(StatusKind::Experiment) => {
            let req = ExperimentSubscriptionRequest { subscriber_name };
            let opened = open(
                channel,
                max,
                "/seldon.mlops.scheduler.Scheduler/SubscribeExperimentStatus",
                req,
            )
            .await;
            pump.run(opened, |batch| async move {
                publish(batch.into_iter().map(StatusPayload::Experiment).collect())
            })
            .await
        }
        Upstream::Status(StatusKind::Server) => {
            let req = ServerSubscriptionRequest { subscriber_name };
            let opened = open(
                channel,
                max,
                "/seldon.mlops.scheduler.Scheduler/SubscribeServerStatus",
                req,
            )
            .await;
            pump.run(opened, |batch| async move {
                publish(batch.into_iter().map(StatusPayload::Server).collect())
            })
            .await
        }
        Upstream::ControlPlane => {
            let req = ControlPlaneSubscriptionRequest { subscriber_name };
            let opened = open(
                channel,
                max,
                "/seldon.mlops.scheduler.Scheduler/SubscribeControlPlane",
                req,
            )
            .await;
            pump.run(opened, |batch: Vec<ControlPlaneResponse>| {
                let sink = sinks.control_plane.clone();
                let namespace = namespace.clone();
                // Boxed: control-plane events are rare, and inline the
                // send's state would size the stream's task for good.
                Box::pin(async move {
                    for msg in batch {
                        tracing::debug!(namespace = %namespace, event = ?msg.event(), "control-plane event");
                        if let Some(sink) = &sink {
                            // Backpressure here only slows this namespace's
                            // control-plane stream, never the others.
                            let _ = sink
                                .send(ControlPlaneEvent {
                                    namespace: namespace.clone(),
                                    event: msg.event(),
                                })
                                .await;
                        }
                    }
                })
            })
            .await
        }
    }
}

/// Most messages forwarded as one batch (one bus lock).
pub const MAX_BATCH: usize = 256;

/// One subscription attempt of one upstream stream.
struct Pump<'a> {
    entry: &'a NamespaceEntry,
    namespace: &'a Arc<str>,
    upstream: Upstream,
    backoff: &'a mut Backoff,
    bus: &'a StatusBus,
}

impl Pump<'_> {
    /// Forwards the messages of the `opened` stream to `forward`, a batch
    /// at a time (every message the stream has ready, up to
    /// [`MAX_BATCH`]), until the stream ends or fails. A status stream
    /// first has the bus follow the scheduler's listing (`listing`).
    fn run<T, F, Fut>(
        self,
        opened: Result<tonic::Response<Streaming<T>>, tonic::Status>,
        forward: F,
    ) -> impl std::future::Future<Output = Ended>
    where
        F: FnMut(Vec<T>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        // Not an `async fn`: the stream moves into `pump`'s state once,
        // where an async body would hold it twice (as its argument and as
        // the local it is matched into).
        match opened {
            Ok(response) => Either::Left(self.pump(response.into_inner(), forward)),
            Err(status) => Either::Right(std::future::ready(Ended::Failed(status))),
        }
    }

    async fn pump<T, F, Fut>(self, mut stream: Streaming<T>, mut forward: F) -> Ended
    where
        F: FnMut(Vec<T>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        if let Upstream::Status(kind) = self.upstream
            && let Err(status) =
                // Boxed, as the stream's open: a task-long cost otherwise.
                Box::pin(listing::follow_listing(
                    &self.entry.channel,
                    self.bus,
                    self.namespace,
                    kind,
                ))
                .await
        {
            tracing::warn!(namespace = %self.namespace, stream = self.upstream.as_str(), cause = %root_cause(&status), "cannot list the scheduler's objects; objects it lost may stay listed until the next reconnect");
        }
        self.entry.stream_opened();
        let received = metrics::counter!(
            m::UPSTREAM_EVENTS_TOTAL,
            "namespace" => self.namespace.to_string(),
            "kind" => self.upstream.as_str()
        );
        let ended = loop {
            let (batch, ended) = match stream.message().await {
                Ok(Some(first)) => ready_batch(&mut stream, first),
                Ok(None) => break Ended::Closed,
                Err(status) => break Ended::Failed(status),
            };
            self.backoff.reset();
            self.entry.event_seen();
            received.increment(batch.len() as u64);
            forward(batch).await;
            if let Some(ended) = ended {
                break ended;
            }
        };
        self.entry.stream_closed();
        ended
    }
}

/// `first` and every message `stream` already has (up to [`MAX_BATCH`]),
/// and how the stream ended if it did meanwhile.
pub fn ready_batch<T>(stream: &mut Streaming<T>, first: T) -> (Vec<T>, Option<Ended>) {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match stream.message().now_or_never() {
            Some(Ok(Some(message))) => batch.push(message),
            Some(Ok(None)) => return (batch, Some(Ended::Closed)),
            Some(Err(status)) => return (batch, Some(Ended::Failed(status))),
            None => break,
        }
    }
    (batch, None)
}
