//! Model conditions: `ModelReady` (and from it `Ready`) from failed scheduler
//! calls and from the model status stream, plus the `status.modelgwReady`
//! text (docs/seldon-compat.md#model-controller, docs/seldon-compat.md#conditions, docs/seldon-compat.md#model-status).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{MODEL_CONDITIONS, MODEL_READY, Retryability};
use switchyard_api::Condition;

/// A model's state as the scheduler reports it (`ModelStatus.ModelState`),
/// for both the model servers and the model gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelState {
    /// `ModelStateUnknown` (also what an unset state decodes to).
    Unknown,
    /// `ModelProgressing`.
    Progressing,
    /// `ModelAvailable`: the only state in which the model is ready.
    Available,
    /// `ModelFailed`.
    Failed,
    /// `ModelTerminating`.
    Terminating,
    /// `ModelTerminated`.
    Terminated,
    /// `ModelTerminateFailed`.
    TerminateFailed,
    /// `ScheduleFailed`.
    ScheduleFailed,
    /// `ModelScaledDown`.
    ScaledDown,
    /// `ModelCreate`.
    Create,
    /// `ModelTerminate`.
    Terminate,
}

impl ModelState {
    /// The scheduler's enum value name, e.g. `"ModelAvailable"`; this is
    /// what users see in conditions and `modelgwReady`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModelState::Unknown => "ModelStateUnknown",
            ModelState::Progressing => "ModelProgressing",
            ModelState::Available => "ModelAvailable",
            ModelState::Failed => "ModelFailed",
            ModelState::Terminating => "ModelTerminating",
            ModelState::Terminated => "ModelTerminated",
            ModelState::TerminateFailed => "ModelTerminateFailed",
            ModelState::ScheduleFailed => "ScheduleFailed",
            ModelState::ScaledDown => "ModelScaledDown",
            ModelState::Create => "ModelCreate",
            ModelState::Terminate => "ModelTerminate",
        }
    }
}

impl fmt::Display for ModelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reason of `ModelReady` when a Load/Unload call failed and will be retried.
pub const REASON_PROGRESSING: &str = "ModelProgressing";
/// Reason of `ModelReady` when a Load/Unload call failed for good.
pub const REASON_FAILED: &str = "ModelFailed";

/// A LoadModel (or UnloadModel) call failed: `ModelReady` (and `Ready`)
/// False with reason [`REASON_PROGRESSING`] or [`REASON_FAILED`] and the
/// error text as message.
///
/// Deviation from Go (docs/seldon-compat.md#model-controller, docs/seldon-compat.md#conditions): Go puts the error
/// text in `reason` and "ModelProgressing"/"ModelFailed" in `message`. A
/// reason is a machine-readable word and the message is what humans read,
/// so they are the other way round here. Go writes this only for Load
/// errors; it is equally right for Unload errors, should the caller want it.
pub fn request_failed(
    conditions: &mut Vec<Condition>,
    now: Time,
    retry: Retryability,
    error: &str,
) {
    let reason = match retry {
        Retryability::Retryable => REASON_PROGRESSING,
        Retryability::NonRetryable => REASON_FAILED,
    };
    MODEL_CONDITIONS
        .manage(conditions, now)
        .mark_false(MODEL_READY, reason, error);
}

/// A model status event: `ModelReady` True iff `state` is
/// [`ModelState::Available`], with the state name as reason and the
/// scheduler's reason text as message; `Ready` follows.
///
/// The model gateway's state is deliberately not an input: it does not
/// take part in readiness (docs/seldon-compat.md#conditions), only in [`modelgw_ready`].
///
/// Deviation from Go (docs/seldon-compat.md#conditions, docs/seldon-compat.md#model-status, docs/seldon-compat.md#conditions): Go writes the
/// state name as the *message* and the scheduler's free-text reason as the
/// *reason*. Swapped back here so the reason is the stable word
/// (`ModelAvailable`, `ModelProgressing`, ...) and the explanation is in
/// the message.
pub fn status_observed(
    conditions: &mut Vec<Condition>,
    now: Time,
    state: ModelState,
    reason: &str,
) {
    let is_ready = state == ModelState::Available;
    MODEL_CONDITIONS.manage(conditions, now).mark_true_or_false(
        MODEL_READY,
        is_ready,
        state.as_str(),
        reason,
    );
}

/// The `status.modelgwReady` text: the gateway state name, followed by
/// `" (<reason>)"` when the reason is not empty.
///
/// Deviation from Go (docs/seldon-compat.md#model-status): Go appends `"(<reason>) "`, with no
/// space before the parenthesis and a trailing space.
pub fn modelgw_ready(gw_state: ModelState, gw_reason: &str) -> String {
    if gw_reason.is_empty() {
        gw_state.as_str().to_string()
    } else {
        format!("{gw_state} ({gw_reason})")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_cond, at, cond, types};
    use super::*;
    use switchyard_api::ConditionStatus::{False, True};

    #[test]
    fn state_names_match_the_scheduler_enum() {
        let names: Vec<&str> = [
            ModelState::Unknown,
            ModelState::Progressing,
            ModelState::Available,
            ModelState::Failed,
            ModelState::Terminating,
            ModelState::Terminated,
            ModelState::TerminateFailed,
            ModelState::ScheduleFailed,
            ModelState::ScaledDown,
            ModelState::Create,
            ModelState::Terminate,
        ]
        .into_iter()
        .map(ModelState::as_str)
        .collect();
        assert_eq!(
            names,
            [
                "ModelStateUnknown",
                "ModelProgressing",
                "ModelAvailable",
                "ModelFailed",
                "ModelTerminating",
                "ModelTerminated",
                "ModelTerminateFailed",
                "ScheduleFailed",
                "ModelScaledDown",
                "ModelCreate",
                "ModelTerminate",
            ]
        );
        assert_eq!(ModelState::ScaledDown.to_string(), "ModelScaledDown");
    }

    #[test]
    fn retryable_load_error_is_progressing_with_error_as_message() {
        let mut conditions = vec![];
        request_failed(
            &mut conditions,
            at(1),
            Retryability::Retryable,
            "rpc error: unavailable",
        );
        assert_cond(
            &conditions,
            "ModelReady",
            False,
            "ModelProgressing",
            "rpc error: unavailable",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ModelProgressing",
            "rpc error: unavailable",
        );
        assert_eq!(types(&conditions), ["ModelReady", "Ready"]);
    }

    #[test]
    fn non_retryable_load_error_is_failed() {
        let mut conditions = vec![];
        request_failed(
            &mut conditions,
            at(1),
            Retryability::NonRetryable,
            "bad memory: 100%",
        );
        assert_cond(
            &conditions,
            "ModelReady",
            False,
            "ModelFailed",
            "bad memory: 100%",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ModelFailed",
            "bad memory: 100%",
        );
    }

    #[test]
    fn available_is_ready_with_state_name_as_reason_and_scheduler_text_as_message() {
        let mut conditions = vec![];
        status_observed(
            &mut conditions,
            at(1),
            ModelState::Available,
            "loaded on 2 replicas",
        );
        assert_cond(
            &conditions,
            "ModelReady",
            True,
            "ModelAvailable",
            "loaded on 2 replicas",
        );
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn every_other_state_is_not_ready() {
        for state in [
            ModelState::Unknown,
            ModelState::Progressing,
            ModelState::Failed,
            ModelState::Terminating,
            ModelState::Terminated,
            ModelState::TerminateFailed,
            ModelState::ScheduleFailed,
            ModelState::ScaledDown,
            ModelState::Create,
            ModelState::Terminate,
        ] {
            let mut conditions = vec![];
            status_observed(&mut conditions, at(1), state, "why");
            assert_cond(&conditions, "ModelReady", False, state.as_str(), "why");
            assert_cond(&conditions, "Ready", False, state.as_str(), "why");
        }
    }

    #[test]
    fn m1_available_event_makes_model_ready() {
        let mut conditions = vec![];
        status_observed(&mut conditions, at(1), ModelState::Available, "");
        assert_cond(&conditions, "ModelReady", True, "ModelAvailable", "");
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn m2_progressing_event_makes_model_not_ready() {
        let mut conditions = vec![];
        status_observed(&mut conditions, at(1), ModelState::Progressing, "");
        assert_cond(&conditions, "ModelReady", False, "ModelProgressing", "");
        assert_cond(&conditions, "Ready", False, "ModelProgressing", "");
    }

    #[test]
    fn m4_terminating_event_makes_model_not_ready() {
        let mut conditions = vec![];
        status_observed(&mut conditions, at(1), ModelState::Available, "");
        status_observed(&mut conditions, at(2), ModelState::Terminating, "");
        assert_cond(&conditions, "ModelReady", False, "ModelTerminating", "");
        assert_cond(&conditions, "Ready", False, "ModelTerminating", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
    }

    #[test]
    fn repeated_event_keeps_timestamps_and_recovery_restamps() {
        let mut conditions = vec![];
        request_failed(&mut conditions, at(1), Retryability::Retryable, "timeout");
        status_observed(&mut conditions, at(2), ModelState::Progressing, "");
        status_observed(&mut conditions, at(3), ModelState::Progressing, "");
        assert_eq!(
            cond(&conditions, "ModelReady").last_transition_time,
            Some(at(2))
        );
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));

        status_observed(&mut conditions, at(4), ModelState::Available, "");
        assert_eq!(
            cond(&conditions, "ModelReady").last_transition_time,
            Some(at(4))
        );
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(4)));
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn modelgw_ready_text() {
        assert_eq!(modelgw_ready(ModelState::Available, ""), "ModelAvailable");
        assert_eq!(
            modelgw_ready(ModelState::Failed, "kafka down"),
            "ModelFailed (kafka down)"
        );
        assert_eq!(modelgw_ready(ModelState::Unknown, ""), "ModelStateUnknown");
    }
}
