//! `Experiment` (`experiments.mlops.seldon.io`, short name `mlx`): traffic
//! split between candidate models or pipelines, with an optional mirror.

// kube's repeated `printcolumn(type_ = ..)` arguments are separate columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::DuckStatus;

/// The desired state of an Experiment.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "Experiment",
    namespaced,
    shortname = "mlx",
    category = "seldon",
    status = "ExperimentStatus",
    printcolumn(
        name = "Experiment ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type=='ExperimentReady')].status"
    ),
    printcolumn(
        name = "Candidates ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type=='CandidatesReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Mirror ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type=='MirrorReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type=='Ready')].message"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentSpec {
    /// The candidate that takes the traffic of the resource it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The models or pipelines traffic is split between, with weights.
    pub candidates: Vec<ExperimentCandidate>,
    /// A model or pipeline that receives a copy of a share of the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<ExperimentMirror>,
    /// `pipeline` for an experiment over pipelines; anything else means models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
}

/// One candidate of an experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExperimentCandidate {
    pub name: String,
    pub weight: u32,
}

/// The mirror of an experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExperimentMirror {
    pub name: String,
    pub percent: u32,
}

/// The observed state of an Experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentStatus {
    #[serde(flatten)]
    pub duck: DuckStatus,
}
