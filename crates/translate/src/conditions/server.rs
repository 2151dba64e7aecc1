//! Server conditions: `StatefulSetOrDeploymentReady` from scaling
//! validation, from the reconcile steps and from the workload's replica
//! counts (docs/seldon-compat.md#server-controller, docs/seldon-compat.md#server-workloads).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{SERVER_CONDITIONS, STATEFUL_SET_OR_DEPLOYMENT_READY, WorkloadReadiness};
use switchyard_api::Condition;

/// Reason when the Server's replicas/minReplicas/maxReplicas are invalid.
pub const REASON_INVALID_SCALING: &str = "InvalidScaling";
/// Reason when building or applying the workload, or notifying the
/// scheduler, failed.
pub const REASON_RECONCILE_FAILED: &str = "ReconcileFailed";

/// Scaling validation failed (docs/seldon-compat.md#scaling-rules): the condition (and `Ready`)
/// False with reason [`REASON_INVALID_SCALING`] and the validation error as
/// message. The user has to fix the Server; nothing is retried.
///
/// Deviation from Go (docs/seldon-compat.md#server-controller): Go writes the error text as
/// the reason with an empty message.
pub fn scaling_invalid(conditions: &mut Vec<Condition>, now: Time, error: &str) {
    SERVER_CONDITIONS.manage(conditions, now).mark_false(
        STATEFUL_SET_OR_DEPLOYMENT_READY,
        REASON_INVALID_SCALING,
        error,
    );
}

/// A reconcile step failed (ServerConfig lookup, applying Services or the
/// workload, ServerNotify): the condition (and `Ready`) False with reason
/// [`REASON_RECONCILE_FAILED`] and the error as message.
///
/// Deviation from Go (docs/seldon-compat.md#server-controller): Go writes the error text
/// as the reason with an empty message.
pub fn reconcile_failed(conditions: &mut Vec<Condition>, now: Time, error: &str) {
    SERVER_CONDITIONS.manage(conditions, now).mark_false(
        STATEFUL_SET_OR_DEPLOYMENT_READY,
        REASON_RECONCILE_FAILED,
        error,
    );
}

/// Reason when no StatefulSet or Deployment runs the Server.
pub const REASON_WORKLOAD_NOT_FOUND: &str = "WorkloadNotFound";

/// No StatefulSet or Deployment of the Server's name exists (switchyard
/// does not create them): the condition (and `Ready`) Unknown with reason
/// [`REASON_WORKLOAD_NOT_FOUND`]. Not in Go, which creates the workload.
pub fn workload_missing(conditions: &mut Vec<Condition>, now: Time, message: &str) {
    SERVER_CONDITIONS.manage(conditions, now).mark_unknown(
        STATEFUL_SET_OR_DEPLOYMENT_READY,
        REASON_WORKLOAD_NOT_FOUND,
        message,
    );
}

/// The workload was applied: the condition True iff at least the desired
/// replicas are ready ([`WorkloadReadiness::is_ready`]); `Ready` follows.
/// Reason [`super::REASON_REPLICAS_READY`] /
/// [`super::REASON_REPLICAS_NOT_READY`],
/// message "StatefulSet replicas matches desired replicas" / "StatefulSet
/// replicas does not match desired replicas" (or "Deployment ...").
///
/// Deviation from Go (docs/seldon-compat.md#server-workloads): Go writes those
/// sentences as the *reason* with an empty message. The message carries no
/// replica counts on purpose: counts would change the message, and with it
/// `lastTransitionTime`, every time one more pod becomes ready.
pub fn workload_observed(conditions: &mut Vec<Condition>, now: Time, workload: &WorkloadReadiness) {
    super::mark_workload(
        &SERVER_CONDITIONS,
        conditions,
        now,
        STATEFUL_SET_OR_DEPLOYMENT_READY,
        workload,
    );
}

#[cfg(test)]
mod tests {
    use super::super::WorkloadKind;
    use super::super::test_support::{assert_cond, at, cond, types};
    use super::*;
    use switchyard_api::ConditionStatus::{False, True};

    const TYPE: &str = "StatefulSetOrDeploymentReady";

    fn workload(kind: WorkloadKind, desired: i32, ready: i32) -> WorkloadReadiness {
        WorkloadReadiness {
            kind,
            desired_replicas: desired,
            ready_replicas: ready,
        }
    }

    #[test]
    fn scaling_validation_failure() {
        let mut conditions = vec![];
        let error = "number of replicas 5 must be <= max replicas 3";
        scaling_invalid(&mut conditions, at(1), error);
        assert_eq!(types(&conditions), ["Ready", TYPE]);
        assert_cond(&conditions, TYPE, False, "InvalidScaling", error);
        assert_cond(&conditions, "Ready", False, "InvalidScaling", error);
    }

    #[test]
    fn reconcile_failure() {
        let mut conditions = vec![];
        reconcile_failed(
            &mut conditions,
            at(1),
            "failed to get ServerConfig: mlserver not found",
        );
        assert_cond(
            &conditions,
            TYPE,
            False,
            "ReconcileFailed",
            "failed to get ServerConfig: mlserver not found",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ReconcileFailed",
            "failed to get ServerConfig: mlserver not found",
        );
    }

    #[test]
    fn statefulset_ready_and_not_ready() {
        let mut conditions = vec![];
        workload_observed(
            &mut conditions,
            at(1),
            &workload(WorkloadKind::StatefulSet, 3, 1),
        );
        assert_cond(
            &conditions,
            TYPE,
            False,
            "ReplicasNotReady",
            "StatefulSet replicas does not match desired replicas",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ReplicasNotReady",
            "StatefulSet replicas does not match desired replicas",
        );

        // One more pod ready: same message, timestamps kept.
        workload_observed(
            &mut conditions,
            at(2),
            &workload(WorkloadKind::StatefulSet, 3, 2),
        );
        assert_eq!(cond(&conditions, TYPE).last_transition_time, Some(at(1)));

        workload_observed(
            &mut conditions,
            at(3),
            &workload(WorkloadKind::StatefulSet, 3, 3),
        );
        assert_cond(
            &conditions,
            TYPE,
            True,
            "ReplicasReady",
            "StatefulSet replicas matches desired replicas",
        );
        assert_cond(&conditions, "Ready", True, "", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(3)));
    }

    #[test]
    fn deployment_messages_and_zero_replicas() {
        let mut conditions = vec![];
        workload_observed(
            &mut conditions,
            at(1),
            &workload(WorkloadKind::Deployment, 0, 0),
        );
        assert_cond(
            &conditions,
            TYPE,
            True,
            "ReplicasReady",
            "Deployment replicas matches desired replicas",
        );
        workload_observed(
            &mut conditions,
            at(2),
            &workload(WorkloadKind::Deployment, 2, 0),
        );
        assert_cond(
            &conditions,
            TYPE,
            False,
            "ReplicasNotReady",
            "Deployment replicas does not match desired replicas",
        );
    }

    #[test]
    fn fixed_scaling_then_ready_clears_the_failure() {
        let mut conditions = vec![];
        scaling_invalid(&mut conditions, at(1), "bad");
        workload_observed(
            &mut conditions,
            at(2),
            &workload(WorkloadKind::StatefulSet, 1, 1),
        );
        assert_cond(&conditions, "Ready", True, "", "");
    }
}
