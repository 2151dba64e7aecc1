//! The gateway's RPCs and the Kubernetes permissions each one needs
//! (docs/access.md has the table).

use super::{Resource, Verb};

/// An RPC the gateway serves on behalf of a namespace's scheduler (or
/// switchyard's own `switchyard.v1.Gateway`). Paths outside these
/// (health, reflection) need no authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
    LoadModel,
    UnloadModel,
    LoadPipeline,
    UnloadPipeline,
    StartExperiment,
    StopExperiment,
    ServerNotify,
    ServerStatus,
    ModelStatus,
    PipelineStatus,
    ExperimentStatus,
    SchedulerStatus,
    SubscribeServerStatus,
    SubscribeModelStatus,
    SubscribeExperimentStatus,
    SubscribePipelineStatus,
    PipelineStatusEvent,
    ModelStatusEvent,
    SubscribeControlPlane,
    ListRuntimes,
    WatchRuntimes,
}

use Resource::{Experiments, Models, Pipelines, SeldonRuntimes, Servers};
use Verb::{Create, Delete, List, Operate, Update, Watch};

impl Rpc {
    pub const SCHEDULER_SERVICE: &'static str = "seldon.mlops.scheduler.Scheduler";
    pub const GATEWAY_SERVICE: &'static str = "switchyard.v1.Gateway";

    pub const ALL: [Rpc; 21] = [
        Rpc::LoadModel,
        Rpc::UnloadModel,
        Rpc::LoadPipeline,
        Rpc::UnloadPipeline,
        Rpc::StartExperiment,
        Rpc::StopExperiment,
        Rpc::ServerNotify,
        Rpc::ServerStatus,
        Rpc::ModelStatus,
        Rpc::PipelineStatus,
        Rpc::ExperimentStatus,
        Rpc::SchedulerStatus,
        Rpc::SubscribeServerStatus,
        Rpc::SubscribeModelStatus,
        Rpc::SubscribeExperimentStatus,
        Rpc::SubscribePipelineStatus,
        Rpc::PipelineStatusEvent,
        Rpc::ModelStatusEvent,
        Rpc::SubscribeControlPlane,
        Rpc::ListRuntimes,
        Rpc::WatchRuntimes,
    ];

    /// The method name, as in the `.proto` file.
    pub fn method(self) -> &'static str {
        match self {
            Rpc::LoadModel => "LoadModel",
            Rpc::UnloadModel => "UnloadModel",
            Rpc::LoadPipeline => "LoadPipeline",
            Rpc::UnloadPipeline => "UnloadPipeline",
            Rpc::StartExperiment => "StartExperiment",
            Rpc::StopExperiment => "StopExperiment",
            Rpc::ServerNotify => "ServerNotify",
            Rpc::ServerStatus => "ServerStatus",
            Rpc::ModelStatus => "ModelStatus",
            Rpc::PipelineStatus => "PipelineStatus",
            Rpc::ExperimentStatus => "ExperimentStatus",
            Rpc::SchedulerStatus => "SchedulerStatus",
            Rpc::SubscribeServerStatus => "SubscribeServerStatus",
            Rpc::SubscribeModelStatus => "SubscribeModelStatus",
            Rpc::SubscribeExperimentStatus => "SubscribeExperimentStatus",
            Rpc::SubscribePipelineStatus => "SubscribePipelineStatus",
            Rpc::PipelineStatusEvent => "PipelineStatusEvent",
            Rpc::ModelStatusEvent => "ModelStatusEvent",
            Rpc::SubscribeControlPlane => "SubscribeControlPlane",
            Rpc::ListRuntimes => "ListRuntimes",
            Rpc::WatchRuntimes => "WatchRuntimes",
        }
    }

    pub fn service(self) -> &'static str {
        match self {
            Rpc::ListRuntimes | Rpc::WatchRuntimes => Rpc::GATEWAY_SERVICE,
            _ => Rpc::SCHEDULER_SERVICE,
        }
    }

    /// The RPC of a gRPC request path (`/seldon.mlops.scheduler.Scheduler/LoadModel`);
    /// `None` for any other service or method.
    pub fn from_path(path: &str) -> Option<Rpc> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        Rpc::ALL
            .into_iter()
            .find(|rpc| rpc.service() == service && rpc.method() == method)
    }

    /// The permissions the same change through Kubernetes would need, all
    /// of which must be allowed.
    pub fn required(self) -> &'static [(Verb, Resource)] {
        match self {
            // Loading is `kubectl apply`: create, or update an existing one.
            Rpc::LoadModel => &[(Create, Models), (Update, Models)],
            Rpc::UnloadModel => &[(Delete, Models)],
            Rpc::LoadPipeline => &[(Create, Pipelines), (Update, Pipelines)],
            Rpc::UnloadPipeline => &[(Delete, Pipelines)],
            Rpc::StartExperiment => &[(Create, Experiments), (Update, Experiments)],
            Rpc::StopExperiment => &[(Delete, Experiments)],
            // A Server's replicas changing (as the operator's scale writes).
            Rpc::ServerNotify => &[(Update, Servers)],
            Rpc::ServerStatus => &[(List, Servers)],
            Rpc::ModelStatus => &[(List, Models)],
            Rpc::PipelineStatus => &[(List, Pipelines)],
            Rpc::ExperimentStatus => &[(List, Experiments)],
            Rpc::SchedulerStatus => &[(List, SeldonRuntimes)],
            Rpc::SubscribeServerStatus => &[(Watch, Servers)],
            Rpc::SubscribeModelStatus => &[(Watch, Models)],
            Rpc::SubscribeExperimentStatus => &[(Watch, Experiments)],
            Rpc::SubscribePipelineStatus => &[(Watch, Pipelines)],
            // The scheduler's own components report here, and the control
            // plane's re-send requests are for whoever operates the
            // runtime: switchyard itself.
            Rpc::PipelineStatusEvent | Rpc::ModelStatusEvent | Rpc::SubscribeControlPlane => {
                &[(Operate, SeldonRuntimes)]
            }
            Rpc::ListRuntimes => &[(List, SeldonRuntimes)],
            Rpc::WatchRuntimes => &[(Watch, SeldonRuntimes)],
        }
    }

    /// A write: the audit log records every one.
    pub fn is_write(self) -> bool {
        self.required()
            .iter()
            .any(|(verb, _)| matches!(verb, Create | Update | Delete | Operate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_round_trips_through_its_path_and_needs_something() {
        for rpc in Rpc::ALL {
            let path = format!("/{}/{}", rpc.service(), rpc.method());
            assert_eq!(Rpc::from_path(&path), Some(rpc), "{path}");
            assert!(!rpc.required().is_empty(), "{rpc:?}");
        }
        assert_eq!(Rpc::from_path("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            Rpc::from_path("/seldon.mlops.scheduler.Scheduler/Nope"),
            None
        );
        assert_eq!(Rpc::from_path("LoadModel"), None);
    }

    #[test]
    fn every_scheduler_rpc_of_the_proto_is_mapped() {
        let proto = include_str!("../../../../proto/mlops/scheduler/scheduler.proto");
        let service = proto
            .split("service Scheduler {")
            .nth(1)
            .expect("the Scheduler service");
        let methods: Vec<&str> = service
            .lines()
            .filter_map(|line| line.trim().strip_prefix("rpc "))
            .filter_map(|rest| rest.split('(').next())
            .collect();
        assert!(methods.len() >= 19, "{methods:?}");
        for method in methods {
            let path = format!("/{}/{method}", Rpc::SCHEDULER_SERVICE);
            assert!(Rpc::from_path(&path).is_some(), "{method} is not mapped");
        }
    }

    #[test]
    fn writes_need_what_kubectl_would() {
        assert_eq!(
            Rpc::LoadModel.required(),
            &[(Create, Models), (Update, Models)]
        );
        assert!(Rpc::UnloadPipeline.is_write());
        assert!(Rpc::SubscribeControlPlane.is_write());
        assert!(!Rpc::SubscribeModelStatus.is_write());
        assert!(!Rpc::ModelStatus.is_write());
    }
}
