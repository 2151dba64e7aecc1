//! [`ConditionManager`]: knative's "living condition set" rules (see
//! docs/seldon-compat.md#condition-engine) over a plain `Vec<Condition>`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{ConditionSet, READY};
use switchyard_api::{Condition, ConditionStatus, Severity};

/// Edits a condition list under the rules of one [`ConditionSet`].
///
/// Created with [`ConditionSet::manage`]. Every write that changes a
/// condition's status, severity, reason or message stamps it with the `now`
/// given at creation; a write that would change nothing but the timestamp
/// is a no-op, so the previous `lastTransitionTime` survives. The list stays
/// sorted by type.
///
/// Messages are stored verbatim. Go's knative `Mark*` functions pass every
/// message through `fmt.Sprintf` with no arguments, so a literal `%` in an
/// error text comes out mangled (`%!d(MISSING)`); here a `%` stays a `%`
/// (docs/seldon-compat.md#condition-engine and docs/seldon-compat.md#condition-engine).
#[derive(Debug)]
pub struct ConditionManager<'a> {
    set: &'a ConditionSet,
    conditions: &'a mut Vec<Condition>,
    now: Time,
}

/// The status, reason and message [`READY`] copies from an unhappy dependent.
struct Unhappy {
    status: ConditionStatus,
    reason: String,
    message: String,
}

impl<'a> ConditionManager<'a> {
    pub(super) fn new(
        set: &'a ConditionSet,
        conditions: &'a mut Vec<Condition>,
        now: Time,
    ) -> Self {
        Self {
            set,
            conditions,
            now,
        }
    }

    /// The condition of type `type_`, if present.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        super::get(self.conditions, type_)
    }

    /// Whether [`READY`] is present and True.
    pub fn is_ready(&self) -> bool {
        super::is_ready(self.conditions)
    }

    /// Marks `type_` True with empty reason and message, then recomputes
    /// [`READY`] (see [`Self::mark_true_with_reason`]).
    pub fn mark_true(&mut self, type_: &str) {
        self.mark_true_with_reason(type_, "", "");
    }

    /// Marks `type_` True, then recomputes [`READY`]:
    /// - among the present conditions with severity Error other than
    ///   `Ready`, newest `lastTransitionTime` first, the first False one,
    ///   else the first Unknown one, is copied into `Ready` (status, reason,
    ///   message);
    /// - otherwise, if fewer such conditions are present than the set
    ///   declares dependents, `Ready` becomes Unknown with empty reason and
    ///   message;
    /// - otherwise, unless `type_` is `Ready` itself, `Ready` becomes True
    ///   with empty reason and message.
    ///
    /// Conditions with equal timestamps keep their list (alphabetical) order.
    /// Go sorts with an unstable sort that, for lists this short, behaves
    /// the same; and a single writer passes one `now` for all its marks, so
    /// ties are the common case here, as they are in Go once the API server
    /// has truncated timestamps to seconds.
    pub fn mark_true_with_reason(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(type_, ConditionStatus::True, reason, message);
        self.recompute_ready(type_);
    }

    /// Marks `type_` False; if `type_` is a dependent (or `Ready`), `Ready`
    /// becomes False with the same reason and message.
    pub fn mark_false(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(type_, ConditionStatus::False, reason, message);
        if self.set.is_terminal(type_) && type_ != READY {
            self.set(READY, ConditionStatus::False, reason, message);
        }
    }

    /// [`Self::mark_true_with_reason`] if `is_true`, else [`Self::mark_false`]
    /// (the shape of Go's per-kind `CreateAndSetCondition` wrappers).
    pub fn mark_true_or_false(&mut self, type_: &str, is_true: bool, reason: &str, message: &str) {
        if is_true {
            self.mark_true_with_reason(type_, reason, message);
        } else {
            self.mark_false(type_, reason, message);
        }
    }

    /// Marks `type_` Unknown. Then, if any dependent is False, `Ready` is
    /// forced False with *this* reason and message unless it already is
    /// False (which keeps its own reason, message and timestamp). Otherwise,
    /// if `type_` is a dependent, `Ready` becomes Unknown with this reason
    /// and message.
    pub fn mark_unknown(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(type_, ConditionStatus::Unknown, reason, message);

        let any_dependent_false = self.set.dependents().iter().any(|dependent| {
            self.get(dependent)
                .is_some_and(|c| c.status == ConditionStatus::False)
        });
        if any_dependent_false {
            let ready_false = self
                .get(READY)
                .is_some_and(|c| c.status == ConditionStatus::False);
            if !ready_false {
                self.set(READY, ConditionStatus::False, reason, message);
            }
        } else if self.set.dependents().contains(&type_) {
            self.set(READY, ConditionStatus::Unknown, reason, message);
        }
    }

    /// Replaces the condition of `type_`, unless only its timestamp would
    /// change.
    fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: &str) {
        let severity = self.set.severity(type_);
        let unchanged = self.conditions.iter().any(|c| {
            c.type_ == type_
                && c.status == status
                && c.severity == severity
                && c.reason == reason
                && c.message == message
        });
        if unchanged {
            return;
        }
        self.conditions.retain(|c| c.type_ != type_);
        self.conditions.push(Condition {
            type_: type_.to_string(),
            status,
            severity,
            last_transition_time: Some(self.now.clone()),
            reason: reason.to_string(),
            message: message.to_string(),
        });
        self.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    }

    /// Derives `Ready` after `changed` was marked True.
    fn recompute_ready(&mut self, changed: &str) {
        match self.find_unhappy_dependent() {
            Some(unhappy) => {
                self.set(READY, unhappy.status, &unhappy.reason, &unhappy.message);
            }
            None if changed != READY => self.set(READY, ConditionStatus::True, "", ""),
            None => {}
        }
    }

    /// The condition `Ready` should copy, if `Ready` should not be True.
    ///
    /// Like knative, this looks at the *present* conditions by their stored
    /// severity (Error) rather than at the declared dependent types; for
    /// lists this module wrote, the two are the same.
    fn find_unhappy_dependent(&self) -> Option<Unhappy> {
        if self.set.dependents().is_empty() {
            return None;
        }
        let mut terminal: Vec<&Condition> = self
            .conditions
            .iter()
            .filter(|c| c.severity == Severity::Error && c.type_ != READY)
            .collect();
        // Newest first; stable, so ties keep list order; a missing
        // timestamp sorts last (Go's zero time is the oldest).
        terminal.sort_by(|a, b| b.last_transition_time.cmp(&a.last_transition_time));

        let first_with = |status| terminal.iter().find(|c| c.status == status);
        if let Some(c) =
            first_with(ConditionStatus::False).or_else(|| first_with(ConditionStatus::Unknown))
        {
            return Some(Unhappy {
                status: c.status,
                reason: c.reason.clone(),
                message: c.message.clone(),
            });
        }
        if self.set.dependents().len() > terminal.len() {
            return Some(Unhappy {
                status: ConditionStatus::Unknown,
                reason: String::new(),
                message: String::new(),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_cond, at, cond, stored, types};
    use super::super::{
        ConditionSet, EXPERIMENT_CONDITIONS, MODEL_CONDITIONS, PIPELINE_CONDITIONS,
    };
    use ConditionStatus::{False, True, Unknown};
    use switchyard_api::{ConditionStatus, Severity};

    /// A set with two dependents, `A` and `B`.
    const AB: ConditionSet = ConditionSet::new(&["A", "B"]);

    #[test]
    fn first_write_adds_condition_stamped_with_now() {
        let mut conditions = vec![];
        MODEL_CONDITIONS
            .manage(&mut conditions, at(10))
            .mark_false("ModelReady", "R", "m");
        let c = cond(&conditions, "ModelReady");
        assert_eq!(c.status, False);
        assert_eq!(c.severity, Severity::Error);
        assert_eq!(c.last_transition_time, Some(at(10)));
        assert_eq!((c.reason.as_str(), c.message.as_str()), ("R", "m"));
    }

    #[test]
    fn write_replaces_the_condition_of_the_same_type() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(10))
            .mark_false("A", "R1", "m1");
        AB.manage(&mut conditions, at(20))
            .mark_false("A", "R2", "m2");
        assert_eq!(types(&conditions), ["A", "Ready"]);
        assert_cond(&conditions, "A", False, "R2", "m2");
        assert_eq!(cond(&conditions, "A").last_transition_time, Some(at(20)));
    }

    #[test]
    fn write_that_only_changes_the_timestamp_is_a_noop() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(10)).mark_false("A", "R", "m");
        let before = conditions.clone();
        AB.manage(&mut conditions, at(99)).mark_false("A", "R", "m");
        assert_eq!(conditions, before);
        assert_eq!(cond(&conditions, "A").last_transition_time, Some(at(10)));
        assert_eq!(
            cond(&conditions, "Ready").last_transition_time,
            Some(at(10))
        );
    }

    #[test]
    fn any_change_of_status_reason_message_or_severity_restamps() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(10)).mark_false("A", "R", "m");

        AB.manage(&mut conditions, at(20))
            .mark_false("A", "R", "other");
        assert_eq!(cond(&conditions, "A").last_transition_time, Some(at(20)));
        AB.manage(&mut conditions, at(30))
            .mark_false("A", "Other", "other");
        assert_eq!(cond(&conditions, "A").last_transition_time, Some(at(30)));
        AB.manage(&mut conditions, at(40))
            .mark_unknown("A", "Other", "other");
        assert_eq!(cond(&conditions, "A").last_transition_time, Some(at(40)));

        // Stored with the wrong severity (e.g. written by another tool):
        // rewriting it with the set's severity is a change.
        conditions = vec![stored("X", True, Severity::Error, 1, "", "")];
        AB.manage(&mut conditions, at(50)).mark_true("X");
        let x = cond(&conditions, "X");
        assert_eq!(
            (x.severity, x.last_transition_time.clone()),
            (Severity::Info, Some(at(50)))
        );
    }

    #[test]
    fn list_is_sorted_by_type() {
        let mut conditions = vec![];
        let mut m = PIPELINE_CONDITIONS.manage(&mut conditions, at(1));
        m.mark_true("PipelineReady");
        m.mark_true("Zeta");
        m.mark_true("ModelsReady");
        m.mark_true("Alpha");
        m.mark_true("PipelineGwReady");
        assert_eq!(
            types(&conditions),
            [
                "Alpha",
                "ModelsReady",
                "PipelineGwReady",
                "PipelineReady",
                "Ready",
                "Zeta"
            ]
        );
    }

    #[test]
    fn ready_and_dependents_have_error_severity_others_info() {
        let mut conditions = vec![];
        let mut m = MODEL_CONDITIONS.manage(&mut conditions, at(1));
        m.mark_true("ModelReady");
        m.mark_false("Custom", "R", "m");
        assert_eq!(cond(&conditions, "ModelReady").severity, Severity::Error);
        assert_eq!(cond(&conditions, "Ready").severity, Severity::Error);
        assert_eq!(cond(&conditions, "Custom").severity, Severity::Info);

        // Serialized shape: severity "" is omitted, Info is written.
        let json = serde_json::to_value(&conditions).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!([
                {"type": "Custom", "status": "False", "severity": "Info",
                 "lastTransitionTime": "1970-01-01T00:00:01Z", "reason": "R", "message": "m"},
                {"type": "ModelReady", "status": "True",
                 "lastTransitionTime": "1970-01-01T00:00:01Z"},
                {"type": "Ready", "status": "True",
                 "lastTransitionTime": "1970-01-01T00:00:01Z"},
            ])
        );
    }

    #[test]
    fn mark_true_on_last_dependent_makes_ready_true_with_empty_reason_and_message() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1)).mark_true("A");
        AB.manage(&mut conditions, at(2))
            .mark_true_with_reason("B", "BReason", "b message");
        assert_cond(&conditions, "B", True, "BReason", "b message");
        assert_cond(&conditions, "Ready", True, "", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
    }

    #[test]
    fn mark_true_with_fewer_dependents_than_declared_makes_ready_unknown() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_true_with_reason("A", "AReason", "a message");
        assert_cond(&conditions, "A", True, "AReason", "a message");
        assert_cond(&conditions, "Ready", Unknown, "", "");
    }

    #[test]
    fn mark_true_copies_a_false_dependent_into_ready() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_false("A", "Broken", "a is broken");
        AB.manage(&mut conditions, at(2)).mark_true("B");
        assert_cond(&conditions, "Ready", False, "Broken", "a is broken");
        // Ready did not change, so it keeps its timestamp.
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(1)));
    }

    #[test]
    fn mark_true_picks_the_newest_false_dependent() {
        let mut conditions = vec![
            stored("A", False, Severity::Error, 20, "NewerA", "a"),
            stored("B", False, Severity::Error, 10, "OlderB", "b"),
            stored("C", True, Severity::Error, 5, "", ""),
        ];
        const ABC: ConditionSet = ConditionSet::new(&["A", "B", "C"]);
        ABC.manage(&mut conditions, at(30)).mark_true("C");
        assert_cond(&conditions, "Ready", False, "NewerA", "a");

        // Same again with the ages swapped.
        let mut conditions = vec![
            stored("A", False, Severity::Error, 10, "OlderA", "a"),
            stored("B", False, Severity::Error, 20, "NewerB", "b"),
        ];
        ABC.manage(&mut conditions, at(30)).mark_true("C");
        assert_cond(&conditions, "Ready", False, "NewerB", "b");
    }

    #[test]
    fn equal_timestamps_keep_alphabetical_order() {
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(5));
        m.mark_false("B", "RB", "b");
        m.mark_false("A", "RA", "a");
        // Ready follows the last mark_false directly...
        assert_cond(&conditions, "Ready", False, "RA", "a");
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(5));
        m.mark_false("A", "RA", "a");
        m.mark_false("B", "RB", "b");
        assert_cond(&conditions, "Ready", False, "RB", "b");
        // ...but a recomputation breaks the tie by list order: A first.
        AB.manage(&mut conditions, at(5)).mark_true("Other");
        assert_cond(&conditions, "Ready", False, "RA", "a");
    }

    #[test]
    fn false_dependent_trumps_a_newer_unknown_one() {
        let mut conditions = vec![
            stored("A", Unknown, Severity::Error, 20, "NewUnknown", ""),
            stored("B", False, Severity::Error, 10, "OldFalse", "b"),
        ];
        AB.manage(&mut conditions, at(30)).mark_true("Other");
        assert_cond(&conditions, "Ready", False, "OldFalse", "b");
    }

    #[test]
    fn unknown_dependent_wins_when_none_is_false() {
        let mut conditions = vec![stored("A", Unknown, Severity::Error, 10, "Waiting", "w")];
        AB.manage(&mut conditions, at(30)).mark_true("B");
        assert_cond(&conditions, "Ready", Unknown, "Waiting", "w");
    }

    #[test]
    fn missing_timestamp_sorts_as_oldest() {
        let mut old = stored("A", False, Severity::Error, 0, "NoTime", "");
        old.last_transition_time = None;
        let mut conditions = vec![old, stored("B", False, Severity::Error, 1, "HasTime", "")];
        AB.manage(&mut conditions, at(30)).mark_true("Other");
        assert_cond(&conditions, "Ready", False, "HasTime", "");
    }

    #[test]
    fn present_error_severity_conditions_count_even_if_undeclared() {
        // knative filters by stored severity, not by declared type: a stray
        // severity-"" condition makes the count reach the declared two.
        let mut conditions = vec![stored("Stray", True, Severity::Error, 1, "", "")];
        AB.manage(&mut conditions, at(2)).mark_true("A");
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn info_conditions_do_not_take_part_in_ready() {
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_false("Info", "Broken", "informational");
        m.mark_true("A");
        m.mark_true("B");
        assert_cond(&conditions, "Info", False, "Broken", "informational");
        assert_cond(&conditions, "Ready", True, "", "");

        // Nor do they count towards the declared number of dependents.
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_true("Info");
        m.mark_true("A");
        assert_cond(&conditions, "Ready", Unknown, "", "");
    }

    #[test]
    fn mark_true_on_non_dependent_also_recomputes_ready() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1)).mark_true("Info");
        assert_eq!(cond(&conditions, "Info").severity, Severity::Info);
        assert_cond(&conditions, "Ready", Unknown, "", "");
    }

    #[test]
    fn mark_true_on_ready_itself() {
        // All dependents True: Ready keeps the given reason.
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_true("A");
        m.mark_true("B");
        AB.manage(&mut conditions, at(2))
            .mark_true_with_reason("Ready", "Forced", "by hand");
        assert_cond(&conditions, "Ready", True, "Forced", "by hand");

        // A False dependent overrides it.
        AB.manage(&mut conditions, at(3))
            .mark_false("A", "Broken", "a");
        AB.manage(&mut conditions, at(4))
            .mark_true_with_reason("Ready", "Forced", "by hand");
        assert_cond(&conditions, "Ready", False, "Broken", "a");

        // No dependents present: Unknown.
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1)).mark_true("Ready");
        assert_cond(&conditions, "Ready", Unknown, "", "");
    }

    #[test]
    fn mark_false_on_dependent_copies_into_ready() {
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_true("A");
        m.mark_true("B");
        AB.manage(&mut conditions, at(2))
            .mark_false("B", "BFailed", "b failed");
        assert_cond(&conditions, "B", False, "BFailed", "b failed");
        assert_cond(&conditions, "Ready", False, "BFailed", "b failed");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
    }

    #[test]
    fn mark_false_on_non_dependent_leaves_ready_alone() {
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_true("A");
        m.mark_true("B");
        AB.manage(&mut conditions, at(2))
            .mark_false("Info", "R", "m");
        assert_cond(&conditions, "Info", False, "R", "m");
        assert_eq!(cond(&conditions, "Info").severity, Severity::Info);
        assert_cond(&conditions, "Ready", True, "", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(1)));
    }

    #[test]
    fn mark_false_on_ready_itself() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_false("Ready", "R", "m");
        assert_eq!(types(&conditions), ["Ready"]);
        assert_cond(&conditions, "Ready", False, "R", "m");
    }

    #[test]
    fn mark_unknown_on_dependent_makes_ready_unknown_with_its_reason() {
        let mut conditions = vec![];
        let mut m = AB.manage(&mut conditions, at(1));
        m.mark_true("A");
        m.mark_true("B");
        AB.manage(&mut conditions, at(2))
            .mark_unknown("A", "Checking", "a?");
        assert_cond(&conditions, "A", Unknown, "Checking", "a?");
        assert_cond(&conditions, "Ready", Unknown, "Checking", "a?");
    }

    #[test]
    fn mark_unknown_with_a_false_dependent_forces_ready_false_with_its_own_reason() {
        // Ready is not False yet (e.g. status written by something else).
        let mut conditions = vec![
            stored("A", True, Severity::Error, 1, "", ""),
            stored("B", False, Severity::Error, 1, "BFailed", "b"),
            stored("Ready", Unknown, Severity::Error, 1, "", ""),
        ];
        AB.manage(&mut conditions, at(2))
            .mark_unknown("A", "Checking", "a?");
        assert_cond(&conditions, "A", Unknown, "Checking", "a?");
        assert_cond(&conditions, "Ready", False, "Checking", "a?");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(2)));
    }

    #[test]
    fn mark_unknown_with_a_false_dependent_keeps_an_already_false_ready() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_false("B", "BFailed", "b");
        AB.manage(&mut conditions, at(2))
            .mark_unknown("A", "Checking", "a?");
        assert_cond(&conditions, "Ready", False, "BFailed", "b");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(1)));
    }

    #[test]
    fn mark_unknown_on_a_false_dependent_clears_it_first() {
        // The check runs after the write, so the dependent itself no
        // longer counts as False.
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_false("A", "AFailed", "a");
        AB.manage(&mut conditions, at(2))
            .mark_unknown("A", "Retrying", "again");
        assert_cond(&conditions, "Ready", Unknown, "Retrying", "again");
    }

    #[test]
    fn mark_unknown_on_non_dependent() {
        // No False dependent: Ready untouched.
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1)).mark_true("A");
        AB.manage(&mut conditions, at(2))
            .mark_unknown("Info", "R", "m");
        assert_eq!(cond(&conditions, "Info").severity, Severity::Info);
        assert_cond(&conditions, "Ready", Unknown, "", "");
        assert_eq!(cond(&conditions, "Ready").last_transition_time, Some(at(1)));

        // A False dependent and Ready not False: Ready forced False with
        // the non-dependent's reason (knative quirk, reproduced).
        let mut conditions = vec![
            stored("A", False, Severity::Error, 1, "AFailed", "a"),
            stored("Ready", True, Severity::Error, 1, "", ""),
        ];
        AB.manage(&mut conditions, at(2))
            .mark_unknown("Info", "R", "m");
        assert_cond(&conditions, "Ready", False, "R", "m");
    }

    #[test]
    fn mark_unknown_on_ready_itself() {
        let mut conditions = vec![];
        AB.manage(&mut conditions, at(1))
            .mark_unknown("Ready", "R", "m");
        assert_eq!(types(&conditions), ["Ready"]);
        assert_cond(&conditions, "Ready", Unknown, "R", "m");
    }

    #[test]
    fn set_without_dependents_makes_ready_true_on_any_mark_true() {
        // knative: no dependents means nothing can be unhappy, so any
        // mark_true of another type makes Ready True; False and Unknown
        // on non-terminal types leave Ready alone.
        const NONE: ConditionSet = ConditionSet::new(&[]);
        let mut conditions = vec![];
        let mut m = NONE.manage(&mut conditions, at(1));
        m.mark_false("Other", "R", "m");
        m.mark_unknown("Third", "R", "m");
        assert!(m.get("Ready").is_none());
        m.mark_true("Info");
        assert_eq!(types(&conditions), ["Info", "Other", "Ready", "Third"]);
        assert_cond(&conditions, "Ready", True, "", "");
    }

    #[test]
    fn messages_are_not_printf_formatted() {
        let mut conditions = vec![];
        let mut m = EXPERIMENT_CONDITIONS.manage(&mut conditions, at(1));
        m.mark_false("ExperimentReady", "R", "100% of %d traffic");
        m.mark_unknown("CandidatesReady", "R", "50%s");
        m.mark_true_with_reason("MirrorReady", "R", "%v");
        assert_eq!(
            cond(&conditions, "ExperimentReady").message,
            "100% of %d traffic"
        );
        assert_eq!(cond(&conditions, "CandidatesReady").message, "50%s");
        assert_eq!(cond(&conditions, "MirrorReady").message, "%v");
    }

    #[test]
    fn manager_get_and_is_ready() {
        let mut conditions = vec![];
        let mut m = MODEL_CONDITIONS.manage(&mut conditions, at(1));
        assert!(m.get("ModelReady").is_none());
        assert!(!m.is_ready());
        m.mark_true("ModelReady");
        assert!(m.is_ready());
        assert_eq!(m.get("ModelReady").map(|c| c.status), Some(True));
        m.mark_false("ModelReady", "R", "");
        assert!(!m.is_ready());
    }
}
