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
    doc = "An Experiment splits traffic between candidate Models (or Pipelines) by weight, \
           optionally mirroring a share of it to another one.",
    namespaced,
    derive = "PartialEq",
    shortname = "mlx",
    category = "seldon",
    status = "ExperimentStatus",
    printcolumn(
        name = "Experiment ready",
        type_ = "string",
        description = "Whether the experiment is active (the ExperimentReady condition)",
        json_path = ".status.conditions[?(@.type=='ExperimentReady')].status"
    ),
    printcolumn(
        name = "Candidates ready",
        type_ = "string",
        description = "Whether every candidate is ready",
        json_path = ".status.conditions[?(@.type=='CandidatesReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Mirror ready",
        type_ = "string",
        description = "Whether the mirror is ready",
        json_path = ".status.conditions[?(@.type=='MirrorReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        description = "Why the experiment is not ready, if it is not",
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
    /// The Model or Pipeline (see `resourceType`).
    pub name: String,
    /// Share of the traffic, relative to the other candidates' weights.
    pub weight: u32,
}

/// The mirror of an experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExperimentMirror {
    /// The Model or Pipeline receiving the copies.
    pub name: String,
    /// Percentage of requests copied to the mirror.
    pub percent: u32,
}

/// The observed state of an Experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentStatus {
    /// Conditions and observed generation.
    #[serde(flatten)]
    pub duck: DuckStatus,
}
