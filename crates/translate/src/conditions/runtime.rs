//! SeldonRuntime conditions: one `<Component>Ready` condition per runtime
//! component, from the component workload's replica counts (docs/seldon-compat.md#runtime-conditions).

use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    DATAFLOW_ENGINE_READY, ENVOY_READY, HODOMETER_READY, MODEL_GATEWAY_READY,
    PIPELINE_GATEWAY_READY, SCHEDULER_READY, SELDON_RUNTIME_CONDITIONS, WorkloadReadiness,
};
use switchyard_api::Condition;

/// A SeldonRuntime component that has a readiness condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeComponent {
    /// `seldon-scheduler`.
    Scheduler,
    /// `seldon-dataflow-engine`.
    DataflowEngine,
    /// `seldon-modelgateway`.
    ModelGateway,
    /// `seldon-pipelinegateway`.
    PipelineGateway,
    /// `seldon-envoy`.
    Envoy,
    /// `hodometer`.
    Hodometer,
}

impl RuntimeComponent {
    /// Every component, in the order of [`SELDON_RUNTIME_CONDITIONS`].
    pub const ALL: [RuntimeComponent; 6] = [
        RuntimeComponent::Scheduler,
        RuntimeComponent::DataflowEngine,
        RuntimeComponent::ModelGateway,
        RuntimeComponent::PipelineGateway,
        RuntimeComponent::Envoy,
        RuntimeComponent::Hodometer,
    ];

    /// The component name used in SeldonConfig `components[].name` and
    /// SeldonRuntime `overrides[].name`.
    pub const fn name(self) -> &'static str {
        match self {
            RuntimeComponent::Scheduler => "seldon-scheduler",
            RuntimeComponent::DataflowEngine => "seldon-dataflow-engine",
            RuntimeComponent::ModelGateway => "seldon-modelgateway",
            RuntimeComponent::PipelineGateway => "seldon-pipelinegateway",
            RuntimeComponent::Envoy => "seldon-envoy",
            RuntimeComponent::Hodometer => "hodometer",
        }
    }

    /// The condition type that reports this component.
    pub const fn condition_type(self) -> &'static str {
        match self {
            RuntimeComponent::Scheduler => SCHEDULER_READY,
            RuntimeComponent::DataflowEngine => DATAFLOW_ENGINE_READY,
            RuntimeComponent::ModelGateway => MODEL_GATEWAY_READY,
            RuntimeComponent::PipelineGateway => PIPELINE_GATEWAY_READY,
            RuntimeComponent::Envoy => ENVOY_READY,
            RuntimeComponent::Hodometer => HODOMETER_READY,
        }
    }
}

impl fmt::Display for RuntimeComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A component name that has no readiness condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown SeldonRuntime component {0:?}: expected one of seldon-scheduler, \
     seldon-dataflow-engine, seldon-modelgateway, seldon-pipelinegateway, seldon-envoy, hodometer"
)]
pub struct UnknownComponent(pub String);

impl FromStr for RuntimeComponent {
    type Err = UnknownComponent;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        RuntimeComponent::ALL
            .into_iter()
            .find(|component| component.name() == name)
            .ok_or_else(|| UnknownComponent(name.to_string()))
    }
}

/// Reason of a component condition when the component is not deployed.
pub const REASON_DISABLED: &str = "ComponentDisabled";

/// A component's workload was applied: its condition True iff at least the
/// desired replicas are ready; `Ready` follows.
///
/// Deviation from Go (docs/seldon-compat.md#runtime-conditions): Go compares
/// `status.readyReplicas` with `status.replicas`, which is true for a
/// Deployment that has not created any pod yet; the caller passes the
/// desired (spec) replicas in [`WorkloadReadiness`]. Reasons and messages
/// are the Server ones (see [`super::server::workload_observed`]).
pub fn component_observed(
    conditions: &mut Vec<Condition>,
    now: Time,
    component: RuntimeComponent,
    workload: &WorkloadReadiness,
) {
    super::mark_workload(
        &SELDON_RUNTIME_CONDITIONS,
        conditions,
        now,
        component.condition_type(),
        workload,
    );
}

/// A component is disabled by the SeldonRuntime overrides or absent from
/// the SeldonConfig: its condition True with reason [`REASON_DISABLED`].
///
/// Deviation from Go (docs/seldon-compat.md#runtime-conditions): Go never writes the
/// condition of a component it does not deploy, so `Ready` stays Unknown
/// forever for any runtime that disables, say, hodometer.
pub fn component_disabled(conditions: &mut Vec<Condition>, now: Time, component: RuntimeComponent) {
    SELDON_RUNTIME_CONDITIONS
        .manage(conditions, now)
        .mark_true_with_reason(
            component.condition_type(),
            REASON_DISABLED,
            "Component is disabled or not part of the SeldonConfig",
        );
}

/// Reason of `Ready` when the control plane could not be built or applied.
pub const REASON_UPDATE_FAILED: &str = "UpdateFailed";

/// The control plane could not be built or applied (a missing SeldonConfig,
/// a bad override): `Ready` False saying why, component conditions kept.
pub fn apply_failed(conditions: &mut Vec<Condition>, now: Time, message: &str) {
    SELDON_RUNTIME_CONDITIONS
        .manage(conditions, now)
        .mark_false(super::READY, REASON_UPDATE_FAILED, message);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_cond, at};
    use super::super::{SELDON_RUNTIME_CONDITIONS, WorkloadKind};
    use super::*;
    use switchyard_api::ConditionStatus::{False, True, Unknown};

    fn ready(desired: i32, ready: i32) -> WorkloadReadiness {
        WorkloadReadiness {
            kind: WorkloadKind::Deployment,
            desired_replicas: desired,
            ready_replicas: ready,
        }
    }

    #[test]
    fn components_map_names_to_condition_types_in_set_order() {
        let types: Vec<&str> = RuntimeComponent::ALL
            .into_iter()
            .map(RuntimeComponent::condition_type)
            .collect();
        assert_eq!(types, SELDON_RUNTIME_CONDITIONS.dependents());
        for component in RuntimeComponent::ALL {
            assert_eq!(component.name().parse(), Ok(component));
        }
        assert_eq!(
            "seldon-envoy".parse::<RuntimeComponent>(),
            Ok(RuntimeComponent::Envoy)
        );
        assert_eq!(
            "kafka".parse::<RuntimeComponent>(),
            Err(UnknownComponent("kafka".to_string()))
        );
        assert!(
            UnknownComponent("kafka".to_string())
                .to_string()
                .starts_with("unknown SeldonRuntime component \"kafka\": expected one of")
        );
    }

    #[test]
    fn ready_only_when_all_six_components_are_ready() {
        let mut conditions = vec![];
        for component in &RuntimeComponent::ALL[..5] {
            component_observed(&mut conditions, at(1), *component, &ready(1, 1));
        }
        assert_cond(&conditions, "Ready", Unknown, "", "");

        component_observed(
            &mut conditions,
            at(2),
            RuntimeComponent::Hodometer,
            &ready(1, 0),
        );
        assert_cond(
            &conditions,
            "HodometerReady",
            False,
            "ReplicasNotReady",
            "Deployment replicas does not match desired replicas",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ReplicasNotReady",
            "Deployment replicas does not match desired replicas",
        );

        component_observed(
            &mut conditions,
            at(3),
            RuntimeComponent::Hodometer,
            &ready(1, 1),
        );
        assert_cond(
            &conditions,
            "HodometerReady",
            True,
            "ReplicasReady",
            "Deployment replicas matches desired replicas",
        );
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn disabled_component_does_not_block_ready() {
        let mut conditions = vec![];
        for component in &RuntimeComponent::ALL[..5] {
            component_observed(&mut conditions, at(1), *component, &ready(1, 1));
        }
        component_disabled(&mut conditions, at(1), RuntimeComponent::Hodometer);
        assert_cond(
            &conditions,
            "HodometerReady",
            True,
            "ComponentDisabled",
            "Component is disabled or not part of the SeldonConfig",
        );
        assert_cond(&conditions, "Ready", True, "", "");
    }
}
