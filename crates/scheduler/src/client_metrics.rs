//! The pool's gRPC client metrics (`grpc_client_started_total`,
//! `grpc_client_handled_total{grpc_code}`, `grpc_client_handling_seconds`,
//! labelled with the namespace), as [`crate::upstream::UpstreamChannel`]
//! records them: labels are static strings for the Scheduler's methods,
//! and a unary call that ends OK records on handles kept per namespace.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use metrics::{Counter, Histogram, SharedString};

use switchyard_core::metrics as m;

/// The Scheduler service and its methods, so that the labels of every call
/// the pool makes are static strings, not an allocation per call.
const SCHEDULER_SERVICE: &str = "seldon.mlops.scheduler.Scheduler";
pub(crate) const SCHEDULER_METHODS: [&str; 19] = [
    // Unary (the first `UNARY_METHODS`): spread over the connections.
    "ServerNotify",
    "LoadModel",
    "UnloadModel",
    "LoadPipeline",
    "UnloadPipeline",
    "StartExperiment",
    "StopExperiment",
    "SchedulerStatus",
    "PipelineStatusEvent",
    "ModelStatusEvent",
    // Server streams: on the primary connection.
    "ServerStatus",
    "ModelStatus",
    "PipelineStatus",
    "ExperimentStatus",
    "SubscribeServerStatus",
    "SubscribeModelStatus",
    "SubscribeExperimentStatus",
    "SubscribePipelineStatus",
    "SubscribeControlPlane",
];
/// How many of `SCHEDULER_METHODS` are unary.
pub(crate) const UNARY_METHODS: usize = 10;

/// A label value: static when known, else owned.
fn label(value: &str, known: &[&'static str]) -> SharedString {
    match known.iter().find(|k| **k == value) {
        Some(k) => SharedString::const_str(k),
        None => SharedString::from(value.to_owned()),
    }
}

/// One unary method's handles for the calls that end OK, registered with
/// the recorder on first use and kept: such a call records without
/// building keys or looking them up. Other calls (streams, errors) look
/// their series up.
#[derive(Default)]
struct UnaryHandles {
    started: OnceLock<Counter>,
    handling: OnceLock<Histogram>,
    ok: OnceLock<Counter>,
}

/// The client metrics of one namespace: its label, and the unary methods'
/// handles, allocated on the first unary call (a runtime that only
/// streams pays for none).
pub(crate) struct ClientMetrics {
    namespace: SharedString,
    unary: OnceLock<Box<[UnaryHandles; UNARY_METHODS]>>,
}

impl ClientMetrics {
    pub(crate) fn new(namespace: &Arc<str>) -> Arc<Self> {
        Arc::new(ClientMetrics {
            namespace: SharedString::from_shared(namespace.clone()),
            unary: OnceLock::new(),
        })
    }

    fn unary(&self, index: usize) -> &UnaryHandles {
        &self.unary.get_or_init(Box::default)[index]
    }
}

/// Labels of one call: service, method, namespace.
pub(crate) struct CallLabels {
    /// The method's place in `SCHEDULER_METHODS`, when unary.
    unary: Option<usize>,
    service: SharedString,
    method: SharedString,
    metrics: Arc<ClientMetrics>,
    start: Instant,
}

impl CallLabels {
    pub(crate) fn new(path: &str, metrics: &Arc<ClientMetrics>) -> Self {
        let path = path.trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or(("unknown", path));
        let service = label(service, &[SCHEDULER_SERVICE]);
        let unary = (*service == *SCHEDULER_SERVICE)
            .then(|| {
                SCHEDULER_METHODS[..UNARY_METHODS]
                    .iter()
                    .position(|m| *m == method)
            })
            .flatten();
        let labels = CallLabels {
            unary,
            method: label(method, &SCHEDULER_METHODS),
            service,
            metrics: metrics.clone(),
            start: Instant::now(),
        };
        let started = || {
            metrics::counter!(m::GRPC_CLIENT_STARTED_TOTAL,
                "grpc_service" => labels.service.clone(),
                "grpc_method" => labels.method.clone(),
                "namespace" => labels.metrics.namespace.clone())
        };
        match unary {
            Some(i) => metrics.unary(i).started.get_or_init(started).increment(1),
            None => started().increment(1),
        }
        labels
    }

    /// Records the call's end with `code`.
    pub(crate) fn handled(&self, code: tonic::Code) {
        let handled = || {
            metrics::counter!(m::GRPC_CLIENT_HANDLED_TOTAL,
                "grpc_service" => self.service.clone(),
                "grpc_method" => self.method.clone(),
                "grpc_code" => code_label(code),
                "namespace" => self.metrics.namespace.clone())
        };
        let handling = || {
            metrics::histogram!(m::GRPC_CLIENT_HANDLING_SECONDS,
                "grpc_service" => self.service.clone(),
                "grpc_method" => self.method.clone(),
                "namespace" => self.metrics.namespace.clone())
        };
        let seconds = self.start.elapsed().as_secs_f64();
        match self.unary.map(|i| self.metrics.unary(i)) {
            Some(kept) => {
                if code == tonic::Code::Ok {
                    kept.ok.get_or_init(handled).increment(1);
                } else {
                    handled().increment(1);
                }
                kept.handling.get_or_init(handling).record(seconds);
            }
            None => {
                handled().increment(1);
                handling().record(seconds);
            }
        }
    }
}

/// A gRPC status code as go-grpc-prometheus spells it (`OK`, `Canceled`,
/// `Unavailable`, ...): the `grpc_code` label of the client metrics here and
/// of the gateway's server metrics.
pub fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}
