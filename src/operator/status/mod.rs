//! Status write-back: from the status bus to the status of Model, Pipeline,
//! Experiment and Server CRs (reference 4.3), leader-gated through
//! [`ApiWriter`].
//!
//! Per kind, one task reads the bus (every namespace) into a keyed
//! latest-wins [`queue::WorkQueue`], drained by a small bounded pool of
//! workers. A slow API server therefore makes writes conflate per object;
//! nothing grows without bound (the bus conflates upstream of a full queue).
//! Each event is checked against the namespace of the scheduler it came
//! from (reference 8.2 #4), applied only to the CR's current generation
//! (finalizer removal excepted), and written only when the status changes.

pub mod experiment;
pub mod model;
pub mod pipeline;
pub mod queue;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::writer::{ApiWriter, WriteError};
use crate::bus::{Filter, StatusBus, StatusEvent, StatusKind};
use crate::metrics as m;
use crate::proto::scheduler::KubernetesMeta;
use queue::{Push, WorkQueue};

/// Finalizer the Model controller adds; removed here on the terminal event.
pub const MODEL_FINALIZER: &str = "seldon.model.finalizer";
/// Finalizer the Pipeline controller adds.
pub const PIPELINE_FINALIZER: &str = "seldon.pipeline.finalizer";
/// Finalizer the Experiment controller adds.
pub const EXPERIMENT_FINALIZER: &str = "seldon.experiment.finalizer";

/// Concurrent writes per kind: enough to hide API latency, small enough
/// not to flood the API server (client-go's default QPS is 5-20).
pub const WORKERS_PER_KIND: usize = 4;
/// Objects per kind waiting for a write before the bus reader waits.
pub const QUEUE_CAPACITY: usize = 4096;
/// Attempts of one write that failed for a transient reason (timeout,
/// 5xx, conflicts beyond the writer's own retries).
const WRITE_ATTEMPTS: u32 = 3;
/// First pause between those attempts (doubling).
const WRITE_RETRY_DELAY: Duration = Duration::from_millis(200);

/// Why an event was not applied.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl StatusError {
    fn is_transient(&self) -> bool {
        match self {
            StatusError::Write(WriteError::NotLeader) => false,
            StatusError::Write(e) => !e.is_not_found(),
        }
    }
}

/// The running status writer: one reader and [`WORKERS_PER_KIND`] (or the
/// configured number of) workers per kind. Stops when its token is
/// cancelled or the bus closes.
pub struct StatusWriter {
    tasks: Vec<JoinHandle<()>>,
}

impl StatusWriter {
    /// Subscribes to `bus` for the four kinds and writes what it reads.
    pub fn start(writer: ApiWriter, bus: StatusBus, cancel: CancellationToken) -> StatusWriter {
        Self::start_with(writer, bus, WORKERS_PER_KIND, cancel)
    }

    /// [`StatusWriter::start`] with `workers` concurrent writes per kind
    /// (at least 1).
    pub fn start_with(
        writer: ApiWriter,
        bus: StatusBus,
        workers: usize,
        cancel: CancellationToken,
    ) -> StatusWriter {
        let mut tasks = Vec::new();
        for kind in StatusKind::ALL {
            let queue = Arc::new(WorkQueue::new(QUEUE_CAPACITY));
            tasks.push(tokio::spawn(read_bus(
                kind,
                bus.clone(),
                queue.clone(),
                cancel.clone(),
            )));
            for _ in 0..workers.max(1) {
                tasks.push(tokio::spawn(work(kind, writer.clone(), queue.clone())));
            }
        }
        StatusWriter { tasks }
    }

    /// Waits for every task to end (after cancellation or bus close).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "status writer task failed");
            }
        }
    }
}

/// Identity of one CR in the work queue.
type Key = (Arc<str>, String);

async fn read_bus(
    kind: StatusKind,
    bus: StatusBus,
    queue: Arc<WorkQueue<Key, StatusEvent>>,
    cancel: CancellationToken,
) {
    let mut subscription = bus.subscribe(Filter {
        kind,
        namespace: None,
    });
    let depth = metrics::gauge!(m::STATUS_QUEUE_DEPTH, "kind" => kind.as_str());
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = queue.wait_for_room() => {}
        }
        let event = tokio::select! {
            () = cancel.cancelled() => break,
            event = subscription.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        let key = (event.namespace.clone(), event.payload.name().to_owned());
        if queue.push(key, event) == Push::Conflated {
            metrics::counter!(m::STATUS_WRITES_CONFLATED_TOTAL, "kind" => kind.as_str())
                .increment(1);
        }
        depth.set(queue.len() as f64);
    }
    queue.close();
}

async fn work(kind: StatusKind, writer: ApiWriter, queue: Arc<WorkQueue<Key, StatusEvent>>) {
    while let Some((key, event)) = queue.pop().await {
        apply_with_retries(kind, &writer, &event).await;
        queue.done(&key);
    }
}

async fn apply_with_retries(kind: StatusKind, writer: &ApiWriter, event: &StatusEvent) {
    let mut delay = WRITE_RETRY_DELAY;
    for attempt in 1..=WRITE_ATTEMPTS {
        let result = match kind {
            StatusKind::Model => model::apply(writer, event).await,
            StatusKind::Pipeline => pipeline::apply(writer, event).await,
            StatusKind::Experiment => experiment::apply(writer, event).await,
            StatusKind::Server => server::apply(writer, event).await,
        };
        match result {
            Ok(()) => return written(kind, "success"),
            Err(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                tracing::debug!(kind = kind.as_str(), namespace = %event.namespace, name = event.payload.name(), %error, "status write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(error) => {
                tracing::warn!(kind = kind.as_str(), namespace = %event.namespace, name = event.payload.name(), %error, "status not written");
                return written(kind, "error");
            }
        }
    }
}

/// Counts a status event the writer is done with.
fn written(kind: StatusKind, result: &'static str) {
    metrics::counter!(m::STATUS_WRITES_TOTAL, "kind" => kind.as_str(), "result" => result)
        .increment(1);
}

/// The generation an event is about, if the event may be applied to a CR
/// of `namespace`: it has `kubernetesMeta`, and that names the namespace of
/// the scheduler the event came from. Skipped events are counted.
pub(crate) fn event_generation(
    kind: StatusKind,
    namespace: &str,
    name: &str,
    meta: Option<&KubernetesMeta>,
) -> Option<i64> {
    let Some(meta) = meta else {
        skipped(kind, "no_kubernetes_meta");
        return None;
    };
    if meta.namespace != namespace {
        skipped(kind, "namespace_mismatch");
        tracing::warn!(
            kind = kind.as_str(),
            scheduler_namespace = namespace,
            event_namespace = meta.namespace,
            name,
            "status event names another namespace than its scheduler's; ignored"
        );
        return None;
    }
    Some(meta.generation)
}

/// Counts an event not applied.
pub(crate) fn skipped(kind: StatusKind, reason: &'static str) {
    metrics::counter!(m::STATUS_EVENTS_SKIPPED_TOTAL, "kind" => kind.as_str(), "reason" => reason)
        .increment(1);
}

/// Now, as a condition timestamp.
pub(crate) fn now() -> Time {
    Time(Timestamp::now())
}

/// Reads `namespace/name` (`None`: gone), bounded by the writer's timeout.
pub(crate) async fn read<K>(
    writer: &ApiWriter,
    namespace: &str,
    name: &str,
) -> Result<Option<K>, StatusError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let kind = K::kind(&());
    let api: kube::Api<K> = kube::Api::namespaced(writer.client().clone(), namespace);
    match tokio::time::timeout(super::writer::WRITE_TIMEOUT, api.get_opt(name)).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(source)) => Err(StatusError::Write(WriteError::Kube {
            what: format!("reading {kind} {namespace}/{name}"),
            source,
        })),
        Err(_) => Err(StatusError::Write(WriteError::Timeout {
            what: format!("reading {kind} {namespace}/{name}"),
        })),
    }
}
