//! Status write-back: from the status bus to the status of Model, Pipeline,
//! Experiment and Server CRs (docs/seldon-compat.md#status-streams), leader-gated through
//! [`ApiWriter`].
//!
//! Per kind, one task reads the bus (every namespace) into a keyed
//! latest-wins [`queue::WorkQueue`], drained by a small bounded pool of
//! workers. A slow API server therefore makes writes conflate per object;
//! nothing grows without bound (the bus conflates upstream of a full queue).
//! Each event is checked against the namespace of the scheduler it came
//! from (docs/seldon-compat.md#event-namespace-check), applied only to the CR's current generation
//! (finalizer removal excepted), and written only when the status changes.
//!
//! The bus is read only while this replica leads. Each time it becomes the
//! leader it subscribes afresh, and a new subscription starts with the
//! latest state of every object: what the schedulers reported while another
//! replica led, or while none did, is written then. A write that fails for
//! a transient reason (timeout, 5xx, conflicts beyond the writer's own
//! retries, an API server that is down) is retried with a capped backoff
//! until it succeeds, a newer state of the object replaces it, or the
//! lease is lost; no state is dropped because the API server was away.

pub mod experiment;
pub mod model;
pub mod pipeline;
pub mod queue;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;
use switchyard_tasks::TaskGroup;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::leader::{until_leading, until_not_leading};
use super::writer::{ApiWriter, WriteError};
use queue::{Push, WorkQueue};
use switchyard_core::bus::{Filter, StatusBus, StatusEvent, StatusKind};
use switchyard_core::metrics as m;
use switchyard_proto::scheduler::KubernetesMeta;

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
/// First pause before retrying a write that failed for a transient reason
/// (doubling up to [`WRITE_RETRY_MAX_DELAY`]).
const WRITE_RETRY_DELAY: Duration = Duration::from_millis(200);
/// Longest pause between retries of one write: an API server back from an
/// outage gets the latest state within this long.
const WRITE_RETRY_MAX_DELAY: Duration = Duration::from_secs(10);

/// Why an event was not applied.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl StatusError {
    /// Whether the same write may succeed later: not when this replica no
    /// longer leads, the object is gone, or the API server refused the
    /// request itself (a 4xx other than conflict and throttling).
    fn is_transient(&self) -> bool {
        match self {
            StatusError::Write(WriteError::NotLeader) => false,
            StatusError::Write(WriteError::Kube {
                source: kube::Error::Api(status),
                ..
            }) => !(400..500).contains(&status.code) || matches!(status.code, 409 | 429),
            StatusError::Write(_) => true,
        }
    }
}

/// The status writer: one reader and [`WORKERS_PER_KIND`] (or the
/// configured number of) workers per kind, as tasks of the caller's group.
/// They stop when the group is cancelled or the bus closes.
pub struct StatusWriter;

impl StatusWriter {
    /// Subscribes to `bus` for the four kinds and writes what it reads.
    pub fn start(writer: ApiWriter, bus: StatusBus, tasks: &TaskGroup) {
        Self::start_with(writer, bus, WORKERS_PER_KIND, tasks);
    }

    /// [`StatusWriter::start`] with `workers` concurrent writes per kind
    /// (at least 1).
    pub fn start_with(writer: ApiWriter, bus: StatusBus, workers: usize, tasks: &TaskGroup) {
        let cancel = tasks.token();
        let fallen = Arc::new(model::Fallen::default());
        for kind in StatusKind::ALL {
            let depth = metrics::gauge!(m::STATUS_QUEUE_DEPTH, "kind" => kind.as_str());
            let queue = Arc::new(WorkQueue::with_depth_gauge(QUEUE_CAPACITY, depth));
            tasks.spawn(
                format!("status-writer/{}/reader", kind.as_str()),
                read_bus(
                    kind,
                    bus.clone(),
                    queue.clone(),
                    writer.leadership(),
                    cancel.clone(),
                ),
            );
            for i in 0..workers.max(1) {
                tasks.spawn(
                    format!("status-writer/{}/worker-{i}", kind.as_str()),
                    work(
                        kind,
                        writer.clone(),
                        fallen.clone(),
                        queue.clone(),
                        cancel.clone(),
                    ),
                );
            }
        }
    }
}

/// Identity of one CR in the work queue.
type Key = (Arc<str>, String);

/// Feeds `queue` from the bus while this replica leads (see the module
/// doc), until `cancel` fires or the bus closes.
async fn read_bus(
    kind: StatusKind,
    bus: StatusBus,
    queue: Arc<WorkQueue<Key, StatusEvent>>,
    mut leadership: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    'leading: loop {
        let leading = tokio::select! {
            () = cancel.cancelled() => break,
            leading = until_leading(&mut leadership) => leading,
        };
        if !leading {
            // Leadership can never come: wait for the stop.
            cancel.cancelled().await;
            break;
        }
        let mut subscription = bus.subscribe(Filter {
            kind,
            namespace: None,
        });
        loop {
            // Room first: while the queue is full the bus conflates.
            let next = async {
                queue.wait_for_room().await;
                subscription.recv().await
            };
            let event = tokio::select! {
                () = cancel.cancelled() => break 'leading,
                () = until_not_leading(&mut leadership) => continue 'leading,
                event = next => match event {
                    Some(event) => event,
                    None => break 'leading,
                },
            };
            let key = (event.namespace.clone(), event.payload.name().to_owned());
            if queue.push(key, event) == Push::Conflated {
                metrics::counter!(m::STATUS_WRITES_CONFLATED_TOTAL, "kind" => kind.as_str())
                    .increment(1);
            }
        }
    }
    queue.close();
}

async fn work(
    kind: StatusKind,
    writer: ApiWriter,
    fallen: Arc<model::Fallen>,
    queue: Arc<WorkQueue<Key, StatusEvent>>,
    cancel: CancellationToken,
) {
    while let Some((key, event)) = queue.pop().await {
        let target = Target {
            kind,
            writer: &writer,
            fallen: &fallen,
        };
        apply_until_done(target, &queue, &key, &event, &cancel).await;
        queue.done(&key);
    }
}

/// Applies `event`, retrying transient failures with a capped backoff
/// until it is written, a newer state of the same object is waiting (that
/// one is written instead), the failure is final, or `cancel` fires.
/// Where a worker writes: its kind, the writer, the Models' fallen set.
#[derive(Clone, Copy)]
struct Target<'a> {
    kind: StatusKind,
    writer: &'a ApiWriter,
    fallen: &'a model::Fallen,
}

async fn apply_until_done(
    target: Target<'_>,
    queue: &WorkQueue<Key, StatusEvent>,
    key: &Key,
    event: &StatusEvent,
    cancel: &CancellationToken,
) {
    let Target {
        kind,
        writer,
        fallen,
    } = target;
    let mut delay = WRITE_RETRY_DELAY;
    loop {
        let result = match kind {
            StatusKind::Model => model::apply(writer, fallen, event).await,
            StatusKind::Pipeline => pipeline::apply(writer, event).await,
            StatusKind::Experiment => experiment::apply(writer, event).await,
            StatusKind::Server => server::apply(writer, event).await,
        };
        let error = match result {
            Ok(()) => return written(kind, "success"),
            // The lease went: the next leader writes the latest state.
            Err(StatusError::Write(WriteError::NotLeader)) => return written(kind, "not_leader"),
            // The object is gone: nothing left to write.
            Err(StatusError::Write(error)) if error.is_not_found() => {
                return written(kind, "success");
            }
            Err(error) if error.is_transient() => error,
            Err(error) => {
                tracing::warn!(kind = kind.as_str(), namespace = %event.namespace, name = event.payload.name(), %error, "status not written");
                if let StatusError::Write(WriteError::Kube { .. }) = error {
                    update_failed(writer, kind, event, &error).await;
                }
                return written(kind, "error");
            }
        };
        tracing::debug!(kind = kind.as_str(), namespace = %event.namespace, name = event.payload.name(), %error, ?delay, "status write failed; retrying");
        metrics::counter!(m::STATUS_WRITE_RETRIES_TOTAL, "kind" => kind.as_str()).increment(1);
        tokio::select! {
            () = cancel.cancelled() => return written(kind, "error"),
            () = tokio::time::sleep(delay) => {}
        }
        if queue.has_newer(key) {
            metrics::counter!(m::STATUS_WRITES_CONFLATED_TOTAL, "kind" => kind.as_str())
                .increment(1);
            return;
        }
        delay = (delay * 2).min(WRITE_RETRY_MAX_DELAY);
    }
}

/// Records the Warning `UpdateFailed` event on the CR whose status the API
/// server refused (docs/seldon-compat.md#events, with the right kind in the message).
async fn update_failed(
    writer: &ApiWriter,
    kind: StatusKind,
    event: &StatusEvent,
    error: &StatusError,
) {
    let kind_name = match kind {
        StatusKind::Model => "Model",
        StatusKind::Pipeline => "Pipeline",
        StatusKind::Experiment => "Experiment",
        StatusKind::Server => "Server",
    };
    let name = event.payload.name();
    let reference = ObjectReference {
        api_version: Some(format!(
            "{}/{}",
            switchyard_api::GROUP,
            switchyard_api::VERSION
        )),
        kind: Some(kind_name.to_owned()),
        namespace: Some(event.namespace.to_string()),
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let note = format!("Failed to update status for {kind_name} {name:?}: {error}");
    writer
        .event_about(
            kind_name,
            reference,
            EventType::Warning,
            "UpdateFailed",
            note,
            "UpdateStatus",
        )
        .await;
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
