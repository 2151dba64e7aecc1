//! The labels of the gRPC server metrics (`metrics_layer`): the methods
//! served, as bounded label values, and the metric handles kept per method
//! and code.

use std::sync::{Arc, OnceLock};

use metrics::{Counter, Histogram};

/// The kind of an RPC, as the `grpc_type` label spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrpcType {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl GrpcType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrpcType::Unary => "unary",
            GrpcType::ClientStream => "client_stream",
            GrpcType::ServerStream => "server_stream",
            GrpcType::BidiStream => "bidi_stream",
        }
    }
}

/// One RPC the gateway serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    pub service: &'static str,
    pub method: &'static str,
    pub kind: GrpcType,
}

const SCHEDULER: &str = "seldon.mlops.scheduler.Scheduler";
const GATEWAY: &str = "switchyard.v1.Gateway";
const HEALTH: &str = "seldon.mlops.health.HealthCheckService";

const fn rpc(service: &'static str, method: &'static str, kind: GrpcType) -> Method {
    Method {
        service,
        method,
        kind,
    }
}

/// Every RPC served: the only label values besides `unknown`.
pub const METHODS: &[Method] = &[
    rpc(SCHEDULER, "ServerNotify", GrpcType::Unary),
    rpc(SCHEDULER, "LoadModel", GrpcType::Unary),
    rpc(SCHEDULER, "UnloadModel", GrpcType::Unary),
    rpc(SCHEDULER, "LoadPipeline", GrpcType::Unary),
    rpc(SCHEDULER, "UnloadPipeline", GrpcType::Unary),
    rpc(SCHEDULER, "StartExperiment", GrpcType::Unary),
    rpc(SCHEDULER, "StopExperiment", GrpcType::Unary),
    rpc(SCHEDULER, "ServerStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "ModelStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "PipelineStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "ExperimentStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "SchedulerStatus", GrpcType::Unary),
    rpc(SCHEDULER, "SubscribeServerStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "SubscribeModelStatus", GrpcType::ServerStream),
    rpc(
        SCHEDULER,
        "SubscribeExperimentStatus",
        GrpcType::ServerStream,
    ),
    rpc(SCHEDULER, "SubscribePipelineStatus", GrpcType::ServerStream),
    rpc(SCHEDULER, "PipelineStatusEvent", GrpcType::Unary),
    rpc(SCHEDULER, "ModelStatusEvent", GrpcType::Unary),
    rpc(SCHEDULER, "SubscribeControlPlane", GrpcType::ServerStream),
    rpc(GATEWAY, "ListRuntimes", GrpcType::Unary),
    rpc(GATEWAY, "WatchRuntimes", GrpcType::ServerStream),
    rpc(HEALTH, "HealthCheck", GrpcType::Unary),
];

/// Labels of a request path: a known method, or `unknown` for all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Labels {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
    pub(crate) kind: &'static str,
    /// The method's place in [`METHODS`] (`METHODS.len()`: unknown), where
    /// its metric handles are kept.
    pub(crate) index: usize,
}

const UNKNOWN: &str = "unknown";

impl Labels {
    pub(crate) fn of_path(path: &str) -> Labels {
        let known = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .and_then(|(service, method)| {
                METHODS
                    .iter()
                    .position(|m| m.service == service && m.method == method)
            });
        match known {
            Some(index) => {
                let m = &METHODS[index];
                Labels {
                    service: m.service,
                    method: m.method,
                    kind: m.kind.as_str(),
                    index,
                }
            }
            None => Labels {
                service: UNKNOWN,
                method: UNKNOWN,
                kind: UNKNOWN,
                index: METHODS.len(),
            },
        }
    }
}

/// Every gRPC status code, in `Code` order (`code as usize`).
const CODES: usize = 17;

/// One method's metric handles, each registered with the recorder on its
/// first use (so no series appears before its method is called) and kept:
/// a call records without building keys or looking them up.
pub(crate) struct Handles {
    pub(crate) started: OnceLock<Counter>,
    pub(crate) sent: OnceLock<Counter>,
    pub(crate) handling: OnceLock<Histogram>,
    pub(crate) handled: [OnceLock<Counter>; CODES],
}

impl Handles {
    const fn new() -> Self {
        Handles {
            started: OnceLock::new(),
            sent: OnceLock::new(),
            handling: OnceLock::new(),
            handled: [const { OnceLock::new() }; CODES],
        }
    }
}

/// The handles of every method in [`METHODS`], then of `unknown`: one
/// table per layer, so that a server registers with the recorder in force
/// when it serves (a test's local recorder, say), never with another's.
pub(crate) type Table = [Handles; METHODS.len() + 1];

pub(crate) fn table() -> Arc<Table> {
    Arc::new([const { Handles::new() }; METHODS.len() + 1])
}

/// A gRPC status code as go-grpc-prometheus spells it (`grpc_code`).
pub use switchyard_scheduler::code_label;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_bounded_labels() {
        let l = Labels::of_path("/seldon.mlops.scheduler.Scheduler/LoadModel");
        assert_eq!(
            (l.service, l.method, l.kind),
            (SCHEDULER, "LoadModel", "unary")
        );
        let l = Labels::of_path("/seldon.mlops.scheduler.Scheduler/SubscribeModelStatus");
        assert_eq!(l.kind, "server_stream");
        for odd in [
            "/",
            "",
            "/x.Y/Z",
            "/seldon.mlops.scheduler.Scheduler/Nope",
            "no-slash",
        ] {
            assert_eq!(Labels::of_path(odd).method, UNKNOWN, "{odd:?}");
        }
    }
}
