//! Experiment conditions: `ExperimentReady`, `CandidatesReady` and
//! `MirrorReady`, from failed scheduler calls and from the experiment status
//! stream (docs/seldon-compat.md#experiment-controller, docs/seldon-compat.md#conditions, docs/seldon-compat.md#experiment-status).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    CANDIDATES_READY, EXPERIMENT_CONDITIONS, EXPERIMENT_READY, MIRROR_READY, Retryability,
};
use switchyard_api::Condition;

/// What one experiment status event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExperimentObservation<'a> {
    /// The scheduler runs the experiment (`active`).
    pub active: bool,
    /// All candidates are ready; also true with zero candidates.
    pub candidates_ready: bool,
    /// The mirror is ready; also true when there is no mirror.
    pub mirror_ready: bool,
    /// The scheduler's free-text `statusDescription`, possibly empty.
    pub status_description: &'a str,
}

/// Reason of `ExperimentReady` when StartExperiment/StopExperiment failed
/// and will be retried.
pub const REASON_PROGRESSING: &str = "ExperimentProgressing";
/// Reason of `ExperimentReady` when the call failed for good.
pub const REASON_FAILED: &str = "ExperimentFailed";
/// Reason of `ExperimentReady` when the experiment is active.
pub const REASON_ACTIVE: &str = "ExperimentActive";
/// Reason of `ExperimentReady` when the experiment is not active.
pub const REASON_INACTIVE: &str = "ExperimentInactive";
/// Reason of `CandidatesReady` when True.
pub const REASON_CANDIDATES_READY: &str = "CandidatesReady";
/// Reason of `CandidatesReady` when False.
pub const REASON_CANDIDATES_NOT_READY: &str = "CandidatesNotReady";
/// Reason of `MirrorReady` when True.
pub const REASON_MIRROR_READY: &str = "MirrorReady";
/// Reason of `MirrorReady` when False.
pub const REASON_MIRROR_NOT_READY: &str = "MirrorNotReady";

/// StartExperiment (or StopExperiment) failed: `ExperimentReady` (and
/// `Ready`) False with reason [`REASON_PROGRESSING`] or [`REASON_FAILED`]
/// and the error text as message.
///
/// Deviation from Go (docs/seldon-compat.md#experiment-controller, docs/seldon-compat.md#conditions): Go writes a
/// condition of type `ModelReady`, which is not an experiment dependent, so
/// it gets severity Info and never makes `Ready` False: the failure is
/// invisible in the printer columns. Go also puts the error in `reason`
/// with an empty message.
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
    EXPERIMENT_CONDITIONS
        .manage(conditions, now)
        .mark_false(EXPERIMENT_READY, reason, error);
}

/// An experiment status event. Writes, in Go's order:
/// 1. `ExperimentReady`: True iff `active`; reason [`REASON_ACTIVE`] /
///    [`REASON_INACTIVE`]; message = the status description;
/// 2. `CandidatesReady`: reason [`REASON_CANDIDATES_READY`] /
///    [`REASON_CANDIDATES_NOT_READY`], message "Candidates ready" /
///    "Candidates not ready";
/// 3. `MirrorReady`: likewise with "Mirror ready" / "Mirror not ready";
///
/// and `Ready` follows from the three.
///
/// Deviation from Go (docs/seldon-compat.md#conditions): Go's experiment
/// wrapper has no message argument, so it writes the status description and
/// the "Candidates ready"-style sentences as *reasons* and leaves every
/// message empty; the Experiment `Message` printer column (Ready's message)
/// is therefore always empty. Here reasons are CamelCase words and the
/// texts are messages, so `Ready` carries the failing condition's text.
pub fn status_observed(
    conditions: &mut Vec<Condition>,
    now: Time,
    observed: &ExperimentObservation<'_>,
) {
    let mut conditions = EXPERIMENT_CONDITIONS.manage(conditions, now);

    let reason = if observed.active {
        REASON_ACTIVE
    } else {
        REASON_INACTIVE
    };
    conditions.mark_true_or_false(
        EXPERIMENT_READY,
        observed.active,
        reason,
        observed.status_description,
    );

    let (reason, message) = if observed.candidates_ready {
        (REASON_CANDIDATES_READY, "Candidates ready")
    } else {
        (REASON_CANDIDATES_NOT_READY, "Candidates not ready")
    };
    conditions.mark_true_or_false(CANDIDATES_READY, observed.candidates_ready, reason, message);

    let (reason, message) = if observed.mirror_ready {
        (REASON_MIRROR_READY, "Mirror ready")
    } else {
        (REASON_MIRROR_NOT_READY, "Mirror not ready")
    };
    conditions.mark_true_or_false(MIRROR_READY, observed.mirror_ready, reason, message);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_cond, at, cond, types};
    use super::*;
    use switchyard_api::ConditionStatus::{False, True};

    fn event(active: bool, candidates: bool, mirror: bool) -> ExperimentObservation<'static> {
        ExperimentObservation {
            active,
            candidates_ready: candidates,
            mirror_ready: mirror,
            status_description: "",
        }
    }

    #[test]
    fn start_error_marks_experiment_ready_not_model_ready() {
        let mut conditions = vec![];
        request_failed(
            &mut conditions,
            at(1),
            Retryability::Retryable,
            "scheduler unavailable",
        );
        assert!(cond_absent(&conditions, "ModelReady"));
        assert_cond(
            &conditions,
            "ExperimentReady",
            False,
            "ExperimentProgressing",
            "scheduler unavailable",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ExperimentProgressing",
            "scheduler unavailable",
        );

        let mut conditions = vec![];
        request_failed(
            &mut conditions,
            at(1),
            Retryability::NonRetryable,
            "candidate model foo not found",
        );
        assert_cond(
            &conditions,
            "ExperimentReady",
            False,
            "ExperimentFailed",
            "candidate model foo not found",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ExperimentFailed",
            "candidate model foo not found",
        );
        assert_eq!(types(&conditions), ["ExperimentReady", "Ready"]);
    }

    fn cond_absent(conditions: &[Condition], type_: &str) -> bool {
        super::super::get(conditions, type_).is_none()
    }

    #[test]
    fn e1_all_ready() {
        let mut conditions = vec![];
        status_observed(&mut conditions, at(1), &event(true, true, true));
        assert_eq!(
            types(&conditions),
            ["CandidatesReady", "ExperimentReady", "MirrorReady", "Ready"]
        );
        assert_cond(&conditions, "ExperimentReady", True, "ExperimentActive", "");
        assert_cond(
            &conditions,
            "CandidatesReady",
            True,
            "CandidatesReady",
            "Candidates ready",
        );
        assert_cond(
            &conditions,
            "MirrorReady",
            True,
            "MirrorReady",
            "Mirror ready",
        );
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn e4_active_but_candidates_and_mirror_not_ready() {
        let mut conditions = vec![];
        status_observed(&mut conditions, at(1), &event(true, false, false));
        assert_cond(&conditions, "ExperimentReady", True, "ExperimentActive", "");
        assert_cond(
            &conditions,
            "CandidatesReady",
            False,
            "CandidatesNotReady",
            "Candidates not ready",
        );
        assert_cond(
            &conditions,
            "MirrorReady",
            False,
            "MirrorNotReady",
            "Mirror not ready",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "MirrorNotReady",
            "Mirror not ready",
        );
    }

    #[test]
    fn e5_inactive_and_nothing_ready() {
        let mut conditions = vec![];
        let observed = ExperimentObservation {
            status_description: "experiment stopped",
            ..event(false, false, false)
        };
        status_observed(&mut conditions, at(1), &observed);
        assert_cond(
            &conditions,
            "ExperimentReady",
            False,
            "ExperimentInactive",
            "experiment stopped",
        );
        assert_cond(
            &conditions,
            "CandidatesReady",
            False,
            "CandidatesNotReady",
            "Candidates not ready",
        );
        assert_cond(
            &conditions,
            "MirrorReady",
            False,
            "MirrorNotReady",
            "Mirror not ready",
        );
        assert_cond(
            &conditions,
            "Ready",
            False,
            "MirrorNotReady",
            "Mirror not ready",
        );
    }

    #[test]
    fn inactive_description_reaches_the_message_column() {
        let mut conditions = vec![];
        let observed = ExperimentObservation {
            status_description: "candidate bar is 50% loaded",
            ..event(false, true, true)
        };
        status_observed(&mut conditions, at(1), &observed);
        assert_cond(
            &conditions,
            "Ready",
            False,
            "ExperimentInactive",
            "candidate bar is 50% loaded",
        );
    }

    #[test]
    fn becoming_ready_after_start_error_restamps() {
        let mut conditions = vec![];
        request_failed(&mut conditions, at(1), Retryability::Retryable, "timeout");
        status_observed(&mut conditions, at(2), &event(true, true, true));
        assert_cond(&conditions, "Ready", True, "", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
        assert_eq!(
            cond(&conditions, "ExperimentReady").last_transition_time,
            Some(at(2))
        );
        let before = conditions.clone();
        status_observed(&mut conditions, at(3), &event(true, true, true));
        assert_eq!(conditions, before);
    }
}
