//! `Model` (`models.mlops.seldon.io`, short name `mlm`): one ML model that
//! the namespace's scheduler places on a Server.

// kube's repeated `printcolumn(type_ = ..)` arguments are separate columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DataflowConfig;
use super::status::DuckStatus;

/// The desired state of a Model.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "Model",
    doc = "A Model is one machine-learning model (its artifact location, requirements and \
           replicas) that the namespace's Seldon scheduler loads onto a matching Server.",
    namespaced,
    derive = "PartialEq",
    shortname = "mlm",
    category = "seldon",
    status = "ModelStatus",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        description = "Whether the model is loaded (the ModelReady condition)",
        json_path = ".status.conditions[?(@.type=='ModelReady')].status"
    ),
    printcolumn(
        name = "Desired Replicas",
        type_ = "integer",
        description = "Replicas asked for in the spec",
        json_path = ".spec.replicas"
    ),
    printcolumn(
        name = "Available Replicas",
        type_ = "integer",
        description = "Replicas ready to serve inference requests",
        json_path = ".status.availableReplicas"
    ),
    printcolumn(
        name = "ModelGw Ready",
        type_ = "string",
        description = "The model gateway's state for this model",
        json_path = ".status.modelgwReady"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    /// Where the model artifacts are stored (e.g. `gs://bucket/model`).
    /// Required, though Seldon accepts the empty string.
    pub storage_uri: String,
    /// Model type, appended to `requirements` (e.g. `sklearn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    /// Version folder of the artifact to load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_version: Option<u32>,
    /// Schema of the model's inputs and outputs (not used by the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
    /// Secret holding the storage credentials (rclone config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Capabilities a Server must have to host this model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Memory the model needs, as a Kubernetes quantity (`100Mi`, `1G`);
    /// must be a whole number of bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// Desired replicas (1 when neither this nor `minReplicas` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Lower bound for autoscaling; 0 or unset means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Upper bound for autoscaling; 0 or unset means unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Pin the model to this Server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Not used by the scheduler (kept for compatibility).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preloaded: bool,
    /// Not used by the scheduler (kept for compatibility).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dedicated: bool,
    /// Log request and response payloads when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<LoggingSpec>,
    /// Makes this model an explainer of another model or pipeline.
    /// Exclusive with `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explainer: Option<ExplainerSpec>,
    /// Parameters passed to the model server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterSpec>,
    /// Makes this model a prompt/LLM wrapper of another model or pipeline.
    /// Exclusive with `explainer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSpec>,
    /// Dataflow (Kafka) settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<DataflowConfig>,
}

/// Payload logging; its presence turns logging on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggingSpec {
    /// Percentage of requests to log (not used by the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
}

/// An explainer of a model or a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainerSpec {
    /// Explainer type, e.g. `anchor_tabular`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// The model explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<String>,
    /// The pipeline explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_ref: Option<String>,
}

/// An LLM prompt model wrapping a model or a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSpec {
    /// The model wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<String>,
    /// The pipeline wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_ref: Option<String>,
}

/// One name/value parameter for the model server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ParameterSpec {
    /// Parameter name, as the model server knows it.
    pub name: String,
    /// Parameter value, always a string.
    pub value: String,
}

/// The observed state of a Model.
// The counts are always serialized, so a status write can bring them back to
// 0; the schema declares no defaults for them (see `no_property_defaults`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::no_property_defaults)]
pub struct ModelStatus {
    /// Conditions and observed generation.
    #[serde(flatten)]
    pub duck: DuckStatus,
    /// Total replicas the scheduler knows (available + unavailable).
    #[serde(default)]
    pub replicas: i32,
    /// Label selector for the scale subresource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// Replicas ready to serve.
    #[serde(default)]
    pub available_replicas: i32,
    /// The model gateway's state for this model.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modelgw_ready: String,
}
