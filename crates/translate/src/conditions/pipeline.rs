//! Pipeline conditions: `PipelineReady` (dataflow engine), `PipelineGwReady`
//! (pipeline gateway) and `ModelsReady`, from failed scheduler calls and from
//! the pipeline status stream (docs/seldon-compat.md#pipeline-controller, docs/seldon-compat.md#conditions, docs/seldon-compat.md#pipeline-status).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{MODELS_READY, PIPELINE_CONDITIONS, PIPELINE_GW_READY, PIPELINE_READY, Retryability};
use switchyard_api::Condition;

/// A pipeline's state as the scheduler reports it
/// (`PipelineVersionState.PipelineStatus`), for the dataflow engine and the
/// pipeline gateway alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipelineStatus {
    /// `PipelineStatusUnknown` (also what an unset status decodes to).
    Unknown,
    /// `PipelineCreate`.
    Create,
    /// `PipelineCreating`.
    Creating,
    /// `PipelineReady`: the only ready status.
    Ready,
    /// `PipelineFailed`.
    Failed,
    /// `PipelineTerminate`.
    Terminate,
    /// `PipelineTerminating`.
    Terminating,
    /// `PipelineTerminated`.
    Terminated,
    /// `PipelineRebalancing`.
    Rebalancing,
    /// `PipelineFailedTerminating`.
    FailedTerminating,
}

impl PipelineStatus {
    /// The scheduler's enum value name, e.g. `"PipelineReady"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PipelineStatus::Unknown => "PipelineStatusUnknown",
            PipelineStatus::Create => "PipelineCreate",
            PipelineStatus::Creating => "PipelineCreating",
            PipelineStatus::Ready => "PipelineReady",
            PipelineStatus::Failed => "PipelineFailed",
            PipelineStatus::Terminate => "PipelineTerminate",
            PipelineStatus::Terminating => "PipelineTerminating",
            PipelineStatus::Terminated => "PipelineTerminated",
            PipelineStatus::Rebalancing => "PipelineRebalancing",
            PipelineStatus::FailedTerminating => "PipelineFailedTerminating",
        }
    }
}

impl fmt::Display for PipelineStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one pipeline status event says (latest version only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineObservation<'a> {
    /// Dataflow engine status (`state.status`).
    pub status: PipelineStatus,
    /// Dataflow engine reason (`state.reason`), possibly empty.
    pub reason: &'a str,
    /// Pipeline gateway status (`state.pipelineGwStatus`).
    pub gw_status: PipelineStatus,
    /// Pipeline gateway reason (`state.pipelineGwReason`), possibly empty.
    pub gw_reason: &'a str,
    /// Whether every model the pipeline uses is available (`state.modelsReady`).
    pub models_ready: bool,
}

/// Reason of `PipelineReady` when LoadPipeline failed and will be retried.
pub const REASON_CREATING: &str = "PipelineCreating";
/// Reason of `PipelineReady` when LoadPipeline failed for good.
pub const REASON_FAILED: &str = "PipelineFailed";
/// Reason of `PipelineReady` once UnloadPipeline was accepted.
pub const REASON_TERMINATING: &str = "PipelineTerminating";
/// Message of `PipelineReady` once UnloadPipeline was accepted.
pub const MESSAGE_UNLOAD_REQUESTED: &str = "Pipeline unload requested";
/// Message standing in for an empty scheduler reason (as in Go).
pub const MESSAGE_EMPTY_REASON: &str = "Empty reason";
/// Message of `ModelsReady` when True.
pub const MESSAGE_MODELS_AVAILABLE: &str = "Models all available";
/// Message of `ModelsReady` when False.
pub const MESSAGE_MODELS_NOT_AVAILABLE: &str = "Some models are not available";

/// LoadPipeline failed: `PipelineReady` (and `Ready`) False with reason
/// [`REASON_CREATING`] or [`REASON_FAILED`] and the error text as message.
///
/// Deviation from Go (docs/seldon-compat.md#pipeline-controller, docs/seldon-compat.md#conditions): Go puts the
/// error text in `reason` and the word in `message`; swapped back here.
pub fn load_failed(conditions: &mut Vec<Condition>, now: Time, retry: Retryability, error: &str) {
    let reason = match retry {
        Retryability::Retryable => REASON_CREATING,
        Retryability::NonRetryable => REASON_FAILED,
    };
    PIPELINE_CONDITIONS
        .manage(conditions, now)
        .mark_false(PIPELINE_READY, reason, error);
}

/// UnloadPipeline was accepted: `PipelineReady` (and `Ready`) False with
/// reason [`REASON_TERMINATING`] and message [`MESSAGE_UNLOAD_REQUESTED`].
///
/// Deviation from Go (docs/seldon-compat.md#pipeline-controller, docs/seldon-compat.md#conditions): Go swaps the two.
pub fn unload_requested(conditions: &mut Vec<Condition>, now: Time) {
    PIPELINE_CONDITIONS.manage(conditions, now).mark_false(
        PIPELINE_READY,
        REASON_TERMINATING,
        MESSAGE_UNLOAD_REQUESTED,
    );
}

/// A pipeline status event. Writes, in Go's order:
/// 1. `PipelineGwReady`: True iff `gw_status` is Ready; reason = the gateway
///    status name; message = `gw_reason` or [`MESSAGE_EMPTY_REASON`];
/// 2. `PipelineReady`: the same from `status` and `reason`;
/// 3. `ModelsReady`: True with [`MESSAGE_MODELS_AVAILABLE`] or False with
///    [`MESSAGE_MODELS_NOT_AVAILABLE`], empty reason (as in Go);
///
/// and `Ready` follows from the three.
///
/// Deviation from Go (docs/seldon-compat.md#conditions): Go gives both `PipelineGwReady` and
/// `PipelineReady` the same combined message `"<gwReason> | <reason>"`, so
/// each condition (and `Ready`, which copies the failing one) shows text
/// that is half about another component. Here each condition carries only
/// its own component's reason.
pub fn status_observed(
    conditions: &mut Vec<Condition>,
    now: Time,
    observed: &PipelineObservation<'_>,
) {
    let mut conditions = PIPELINE_CONDITIONS.manage(conditions, now);
    for (type_, status, reason) in [
        (PIPELINE_GW_READY, observed.gw_status, observed.gw_reason),
        (PIPELINE_READY, observed.status, observed.reason),
    ] {
        let message = if reason.is_empty() {
            MESSAGE_EMPTY_REASON
        } else {
            reason
        };
        let is_ready = status == PipelineStatus::Ready;
        conditions.mark_true_or_false(type_, is_ready, status.as_str(), message);
    }

    let message = if observed.models_ready {
        MESSAGE_MODELS_AVAILABLE
    } else {
        MESSAGE_MODELS_NOT_AVAILABLE
    };
    conditions.mark_true_or_false(MODELS_READY, observed.models_ready, "", message);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_cond, at, cond, types};
    use super::*;
    use switchyard_api::ConditionStatus::{False, True};

    fn event(
        status: PipelineStatus,
        gw_status: PipelineStatus,
        models_ready: bool,
    ) -> PipelineObservation<'static> {
        PipelineObservation {
            status,
            reason: "",
            gw_status,
            gw_reason: "",
            models_ready,
        }
    }

    #[test]
    fn status_names_match_the_scheduler_enum() {
        assert_eq!(PipelineStatus::Unknown.as_str(), "PipelineStatusUnknown");
        assert_eq!(PipelineStatus::Create.as_str(), "PipelineCreate");
        assert_eq!(PipelineStatus::Creating.as_str(), "PipelineCreating");
        assert_eq!(PipelineStatus::Ready.as_str(), "PipelineReady");
        assert_eq!(PipelineStatus::Failed.as_str(), "PipelineFailed");
        assert_eq!(PipelineStatus::Terminate.as_str(), "PipelineTerminate");
        assert_eq!(PipelineStatus::Terminating.as_str(), "PipelineTerminating");
        assert_eq!(PipelineStatus::Terminated.as_str(), "PipelineTerminated");
        assert_eq!(PipelineStatus::Rebalancing.as_str(), "PipelineRebalancing");
        assert_eq!(
            PipelineStatus::FailedTerminating.to_string(),
            "PipelineFailedTerminating"
        );
    }

    #[test]
    fn load_errors() {
        let mut conditions = vec![];
        load_failed(
            &mut conditions,
            at(1),
            Retryability::Retryable,
            "unavailable",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            False,
            "PipelineCreating",
            "unavailable",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "PipelineCreating",
            "unavailable",
        );

        let mut conditions = vec![];
        load_failed(
            &mut conditions,
            at(1),
            Retryability::NonRetryable,
            "bad step",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            False,
            "PipelineFailed",
            "bad step",
        );
        assert_cond(&conditions, "Ready", False, "PipelineFailed", "bad step");
        assert_eq!(types(&conditions), ["PipelineReady", "Ready"]);
    }

    #[test]
    fn unload_requested_marks_terminating() {
        let mut conditions = vec![];
        status_observed(
            &mut conditions,
            at(1),
            &event(PipelineStatus::Ready, PipelineStatus::Ready, true),
        );
        unload_requested(&mut conditions, at(2));
        assert_cond(
            &conditions,
            "PipelineReady",
            False,
            "PipelineTerminating",
            "Pipeline unload requested",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "PipelineTerminating",
            "Pipeline unload requested",
        );
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
        // The other dependents are untouched.
        assert_cond(
            &conditions,
            "PipelineGwReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_eq!(
            cond(&conditions, "PipelineGwReady").last_transition_time,
            Some(at(1))
        );
    }

    #[test]
    fn p1_all_ready() {
        let mut conditions = vec![];
        status_observed(
            &mut conditions,
            at(1),
            &event(PipelineStatus::Ready, PipelineStatus::Ready, true),
        );
        assert_eq!(
            types(&conditions),
            ["ModelsReady", "PipelineGwReady", "PipelineReady", "Ready"]
        );
        assert_cond(
            &conditions,
            "PipelineGwReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_cond(&conditions, "ModelsReady", True, "", "Models all available");
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn p4_models_not_ready() {
        let mut conditions = vec![];
        status_observed(
            &mut conditions,
            at(1),
            &event(PipelineStatus::Ready, PipelineStatus::Ready, false),
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_cond(
            &conditions,
            "PipelineGwReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_cond(
            &conditions,
            "ModelsReady",
            False,
            "",
            "Some models are not available",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "",
            "Some models are not available",
        );
    }

    #[test]
    fn p5_gateway_failed() {
        let mut conditions = vec![];
        let observed = PipelineObservation {
            gw_reason: "kafka topic missing",
            ..event(PipelineStatus::Ready, PipelineStatus::Failed, true)
        };
        status_observed(&mut conditions, at(1), &observed);
        assert_cond(
            &conditions,
            "PipelineGwReady",
            False,
            "PipelineFailed",
            "kafka topic missing",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            True,
            "PipelineReady",
            "Empty reason",
        );
        assert_cond(&conditions, "ModelsReady", True, "", "Models all available");
        assert_cond(
            &conditions,
            "Ready",
            False,
            "PipelineFailed",
            "kafka topic missing",
        );
    }

    #[test]
    fn p6_everything_failed() {
        let mut conditions = vec![];
        let observed = PipelineObservation {
            reason: "dataflow rejected",
            gw_reason: "gateway rejected",
            ..event(PipelineStatus::Failed, PipelineStatus::Failed, false)
        };
        status_observed(&mut conditions, at(1), &observed);
        assert_cond(
            &conditions,
            "PipelineGwReady",
            False,
            "PipelineFailed",
            "gateway rejected",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            False,
            "PipelineFailed",
            "dataflow rejected",
        );
        assert_cond(
            &conditions,
            "ModelsReady",
            False,
            "",
            "Some models are not available",
        );
        // The last False written wins.
        assert_cond(
            &conditions,
            "Ready",
            False,
            "",
            "Some models are not available",
        );
    }

    #[test]
    fn each_condition_gets_its_own_reason() {
        let mut conditions = vec![];
        let observed = PipelineObservation {
            reason: "dataflow says hi",
            gw_reason: "gateway says hi",
            ..event(PipelineStatus::Ready, PipelineStatus::Creating, true)
        };
        status_observed(&mut conditions, at(1), &observed);
        assert_cond(
            &conditions,
            "PipelineGwReady",
            False,
            "PipelineCreating",
            "gateway says hi",
        );
        assert_cond(
            &conditions,
            "PipelineReady",
            True,
            "PipelineReady",
            "dataflow says hi",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "PipelineCreating",
            "gateway says hi",
        );
    }

    #[test]
    fn recovery_after_failure_restamps_and_repeat_does_not() {
        let mut conditions = vec![];
        status_observed(
            &mut conditions,
            at(1),
            &event(PipelineStatus::Failed, PipelineStatus::Failed, false),
        );
        status_observed(
            &mut conditions,
            at(2),
            &event(PipelineStatus::Ready, PipelineStatus::Ready, true),
        );
        assert_cond(&conditions, "Ready", True, "", "");
        for c in &conditions {
            assert_eq!(c.last_transition_time, Some(at(2)), "{}", c.type_);
        }
        let before = conditions.clone();
        status_observed(
            &mut conditions,
            at(3),
            &event(PipelineStatus::Ready, PipelineStatus::Ready, true),
        );
        assert_eq!(conditions, before);
    }
}
