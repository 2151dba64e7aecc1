//! The condition engine: how `status.conditions` of the Seldon kinds is
//! written, and the per-kind writers that turn what switchyard observes
//! (a failed scheduler call, a status-stream event, a workload's replica
//! counts) into conditions.
//!
//! Everything here is pure: a writer takes the current condition list, the
//! current time and a plain observation, and edits the list in place. No I/O,
//! no async, no kube client and no generated proto types; the wiring module
//! maps proto enums and Kubernetes objects onto the small inputs defined here
//! and writes the resulting status with the status writer.
//!
//! [`ConditionManager`] reproduces knative's "living condition set" (see
//! docs/seldon-compat.md#condition-engine) so that statuses written by switchyard look exactly like the ones
//! the Go operator writes, except where the Go operator is wrong: those
//! deviations are commented where they happen and cite docs/seldon-compat.md#conditions / docs/seldon-compat.md#conditions.
//!
//! Data in: `&mut Vec<Condition>` (from the CR status), `now`, observations.
//! Data out: the same vector, edited.

mod manager;

pub mod experiment;
pub mod model;
pub mod pipeline;
pub mod runtime;
pub mod server;

pub use manager::ConditionManager;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use switchyard_api::{Condition, ConditionStatus, Severity};

/// The happy condition every kind derives from its dependents.
pub const READY: &str = "Ready";

/// Model: the scheduler reports the model as available.
pub const MODEL_READY: &str = "ModelReady";

/// Pipeline: the dataflow engine runs the pipeline.
pub const PIPELINE_READY: &str = "PipelineReady";
/// Pipeline: the pipeline gateway serves the pipeline.
pub const PIPELINE_GW_READY: &str = "PipelineGwReady";
/// Pipeline: every model the pipeline uses is available.
pub const MODELS_READY: &str = "ModelsReady";

/// Experiment: the scheduler has the experiment active.
pub const EXPERIMENT_READY: &str = "ExperimentReady";
/// Experiment: every candidate is ready.
pub const CANDIDATES_READY: &str = "CandidatesReady";
/// Experiment: the mirror is ready (or there is none).
pub const MIRROR_READY: &str = "MirrorReady";

/// Server: the StatefulSet (or Deployment) has the desired ready replicas.
pub const STATEFUL_SET_OR_DEPLOYMENT_READY: &str = "StatefulSetOrDeploymentReady";

/// SeldonRuntime: `seldon-scheduler` is ready.
pub const SCHEDULER_READY: &str = "SchedulerReady";
/// SeldonRuntime: `seldon-dataflow-engine` is ready.
pub const DATAFLOW_ENGINE_READY: &str = "DataflowEngineReady";
/// SeldonRuntime: `seldon-modelgateway` is ready.
pub const MODEL_GATEWAY_READY: &str = "ModelGatewayReady";
/// SeldonRuntime: `seldon-pipelinegateway` is ready.
pub const PIPELINE_GATEWAY_READY: &str = "PipelineGatewayReady";
/// SeldonRuntime: `seldon-envoy` is ready.
pub const ENVOY_READY: &str = "EnvoyReady";
/// SeldonRuntime: `hodometer` is ready.
pub const HODOMETER_READY: &str = "HodometerReady";

/// The conditions of one kind: the happy condition [`READY`] plus the
/// dependent (terminal) conditions it is derived from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionSet {
    dependents: &'static [&'static str],
}

/// Model conditions (docs/seldon-compat.md#conditions).
pub const MODEL_CONDITIONS: ConditionSet = ConditionSet::new(&[MODEL_READY]);
/// Pipeline conditions (docs/seldon-compat.md#conditions).
pub const PIPELINE_CONDITIONS: ConditionSet =
    ConditionSet::new(&[PIPELINE_READY, PIPELINE_GW_READY, MODELS_READY]);
/// Experiment conditions (docs/seldon-compat.md#conditions).
pub const EXPERIMENT_CONDITIONS: ConditionSet =
    ConditionSet::new(&[EXPERIMENT_READY, CANDIDATES_READY, MIRROR_READY]);
/// Server conditions (docs/seldon-compat.md#conditions).
pub const SERVER_CONDITIONS: ConditionSet = ConditionSet::new(&[STATEFUL_SET_OR_DEPLOYMENT_READY]);
/// SeldonRuntime conditions, one per component (docs/seldon-compat.md#runtime-conditions).
pub const SELDON_RUNTIME_CONDITIONS: ConditionSet = ConditionSet::new(&[
    SCHEDULER_READY,
    DATAFLOW_ENGINE_READY,
    MODEL_GATEWAY_READY,
    PIPELINE_GATEWAY_READY,
    ENVOY_READY,
    HODOMETER_READY,
]);

impl ConditionSet {
    /// A set whose happy condition is [`READY`], derived from `dependents`.
    pub const fn new(dependents: &'static [&'static str]) -> Self {
        Self { dependents }
    }

    /// The dependent condition types, in declaration order.
    pub fn dependents(&self) -> &'static [&'static str] {
        self.dependents
    }

    /// Whether `type_` is [`READY`] or one of the dependents.
    pub fn is_terminal(&self, type_: &str) -> bool {
        type_ == READY || self.dependents.contains(&type_)
    }

    /// Severity a condition of `type_` is written with: `""` (Error) for
    /// terminal conditions, `Info` for any other type.
    pub fn severity(&self, type_: &str) -> Severity {
        if self.is_terminal(type_) {
            Severity::Error
        } else {
            Severity::Info
        }
    }

    /// A manager that edits `conditions` under this set's rules, stamping
    /// changed conditions with `now`.
    pub fn manage<'a>(
        &'a self,
        conditions: &'a mut Vec<Condition>,
        now: Time,
    ) -> ConditionManager<'a> {
        ConditionManager::new(self, conditions, now)
    }
}

/// The condition of type `type_`, if present.
pub fn get<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the [`READY`] condition is present and True.
pub fn is_ready(conditions: &[Condition]) -> bool {
    get(conditions, READY).is_some_and(|c| c.status == ConditionStatus::True)
}

/// Whether retrying a failed scheduler call could succeed (the Go operator's
/// `checkErrorRetryable`, docs/seldon-compat.md#retry-classification). The classification happens in the
/// scheduler client; writers only pick a reason from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retryability {
    /// The call will be retried with backoff.
    Retryable,
    /// Retrying cannot help (e.g. the scheduler answered FailedPrecondition);
    /// the user has to change the resource.
    NonRetryable,
}

/// Which workload runs a Server or a SeldonRuntime component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    /// An `apps/v1` StatefulSet.
    StatefulSet,
    /// An `apps/v1` Deployment.
    Deployment,
}

impl WorkloadKind {
    /// The Kubernetes kind name, used in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::Deployment => "Deployment",
        }
    }
}

/// Replica counts of a workload switchyard deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadReadiness {
    /// StatefulSet or Deployment; only changes the message.
    pub kind: WorkloadKind,
    /// The replicas switchyard asked for (the workload's `spec.replicas` as
    /// applied). Not `status.replicas`: see docs/seldon-compat.md#runtime-conditions.
    pub desired_replicas: i32,
    /// The workload's `status.readyReplicas` (0 when absent).
    pub ready_replicas: i32,
}

impl WorkloadReadiness {
    /// Ready when at least the desired replicas are ready (so a workload
    /// scaled to 0 is ready, as in the Go operator).
    pub fn is_ready(&self) -> bool {
        self.ready_replicas >= self.desired_replicas
    }
}

/// Reason of a condition written from [`WorkloadReadiness`] when ready.
pub const REASON_REPLICAS_READY: &str = "ReplicasReady";
/// Reason of a condition written from [`WorkloadReadiness`] when not ready.
pub const REASON_REPLICAS_NOT_READY: &str = "ReplicasNotReady";

/// Writes `type_` from workload replica counts (Server and SeldonRuntime);
/// reasons and messages are documented on [`server::workload_observed`].
fn mark_workload(
    set: &ConditionSet,
    conditions: &mut Vec<Condition>,
    now: Time,
    type_: &str,
    workload: &WorkloadReadiness,
) {
    let kind = workload.kind.as_str();
    let is_ready = workload.is_ready();
    let (reason, message) = if is_ready {
        (
            REASON_REPLICAS_READY,
            format!("{kind} replicas matches desired replicas"),
        )
    } else {
        (
            REASON_REPLICAS_NOT_READY,
            format!("{kind} replicas does not match desired replicas"),
        )
    };
    set.manage(conditions, now)
        .mark_true_or_false(type_, is_ready, reason, &message);
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the tests of the condition modules.

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use switchyard_api::{Condition, ConditionStatus, Severity};

    /// `second` seconds after the Unix epoch.
    pub(crate) fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).expect("valid test timestamp"))
    }

    /// The condition of `type_`, or a panic naming what is missing.
    pub(crate) fn cond<'c>(conditions: &'c [Condition], type_: &str) -> &'c Condition {
        super::get(conditions, type_)
            .unwrap_or_else(|| panic!("condition {type_} missing from {conditions:#?}"))
    }

    /// Asserts status, reason and message of `type_`.
    pub(crate) fn assert_cond(
        conditions: &[Condition],
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
    ) {
        let c = cond(conditions, type_);
        assert_eq!(
            (c.status, c.reason.as_str(), c.message.as_str()),
            (status, reason, message),
            "condition {type_}"
        );
    }

    /// A condition as the API server would return it.
    pub(crate) fn stored(
        type_: &str,
        status: ConditionStatus,
        severity: Severity,
        second: i64,
        reason: &str,
        message: &str,
    ) -> Condition {
        Condition {
            type_: type_.to_string(),
            status,
            severity,
            last_transition_time: Some(at(second)),
            reason: reason.to_string(),
            message: message.to_string(),
        }
    }

    /// Condition types in list order.
    pub(crate) fn types(conditions: &[Condition]) -> Vec<&str> {
        conditions.iter().map(|c| c.type_.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use ConditionStatus::{False, True};

    #[test]
    fn sets_declare_the_reference_dependents() {
        assert_eq!(MODEL_CONDITIONS.dependents(), ["ModelReady"]);
        assert_eq!(
            PIPELINE_CONDITIONS.dependents(),
            ["PipelineReady", "PipelineGwReady", "ModelsReady"]
        );
        assert_eq!(
            EXPERIMENT_CONDITIONS.dependents(),
            ["ExperimentReady", "CandidatesReady", "MirrorReady"]
        );
        assert_eq!(
            SERVER_CONDITIONS.dependents(),
            ["StatefulSetOrDeploymentReady"]
        );
        assert_eq!(
            SELDON_RUNTIME_CONDITIONS.dependents(),
            [
                "SchedulerReady",
                "DataflowEngineReady",
                "ModelGatewayReady",
                "PipelineGatewayReady",
                "EnvoyReady",
                "HodometerReady"
            ]
        );
    }

    #[test]
    fn severity_is_error_for_terminal_and_info_otherwise() {
        assert_eq!(MODEL_CONDITIONS.severity("Ready"), Severity::Error);
        assert_eq!(MODEL_CONDITIONS.severity("ModelReady"), Severity::Error);
        assert_eq!(MODEL_CONDITIONS.severity("PipelineReady"), Severity::Info);
        assert!(EXPERIMENT_CONDITIONS.is_terminal("MirrorReady"));
        assert!(!EXPERIMENT_CONDITIONS.is_terminal("ModelReady"));
    }

    #[test]
    fn get_and_is_ready_read_a_plain_slice() {
        let mut conditions = vec![];
        assert!(get(&conditions, READY).is_none());
        assert!(!is_ready(&conditions));

        conditions.push(stored(READY, False, Severity::Error, 1, "", ""));
        assert!(!is_ready(&conditions));
        conditions[0].status = True;
        assert!(is_ready(&conditions));
        assert_eq!(get(&conditions, READY).map(|c| c.status), Some(True));
    }

    #[test]
    fn workload_readiness_compares_ready_with_desired() {
        let sts = |desired, ready| WorkloadReadiness {
            kind: WorkloadKind::StatefulSet,
            desired_replicas: desired,
            ready_replicas: ready,
        };
        assert!(sts(0, 0).is_ready());
        assert!(sts(2, 2).is_ready());
        assert!(sts(2, 3).is_ready());
        assert!(!sts(2, 1).is_ready());
    }
}
