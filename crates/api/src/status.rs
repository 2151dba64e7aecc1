//! The status shape every Seldon kind shares (knative's `duckv1.Status`):
//! `observedGeneration`, `conditions` and `annotations`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Status fields common to all seven kinds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuckStatus {
    /// The `metadata.generation` this status was computed for. Seldon's Go
    /// operator never sets it; switchyard does, so `kubectl wait` and GitOps
    /// tools can tell a stale status from a current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Latest observations of the object's state, sorted by type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Free-form annotations for status (unused by Seldon, kept for compatibility).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One condition (knative `apis.Condition`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready` or `ModelReady`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Empty for conditions that decide readiness (an error when False),
    /// `Info` or `Warning` for informational ones.
    #[serde(default, skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
    /// When the condition last changed status, reason or message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A one-word CamelCase reason for the last transition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable message about the last transition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The status of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// How much a False condition matters (knative severity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Severity {
    /// Serialized as the empty string: the condition decides readiness.
    #[default]
    #[serde(rename = "")]
    Error,
    Warning,
    Info,
}

impl Severity {
    fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}
