//! `Pipeline` (`pipelines.mlops.seldon.io`, short name `mlp`): a graph of
//! model steps joined over Kafka topics by the dataflow engine.

// kube's repeated `printcolumn(type_ = ..)` arguments are separate columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::DataflowConfig;
use super::status::DuckStatus;

/// The desired state of a Pipeline.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "Pipeline",
    doc = "A Pipeline is a graph of Model steps whose tensors flow over Kafka topics; the \
           namespace's dataflow engine runs it and the pipeline gateway serves it.",
    namespaced,
    derive = "PartialEq",
    shortname = "mlp",
    category = "seldon",
    status = "PipelineStatus",
    printcolumn(
        name = "Pipeline ready",
        type_ = "string",
        description = "Whether the whole pipeline is ready (the Ready condition)",
        json_path = ".status.conditions[?(@.type=='Ready')].status"
    ),
    printcolumn(
        name = "Models ready",
        type_ = "string",
        description = "Whether every step's model is ready",
        json_path = ".status.conditions[?(@.type=='ModelsReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "PipelineGw ready",
        type_ = "string",
        description = "Whether the pipeline gateway serves the pipeline",
        json_path = ".status.conditions[?(@.type=='PipelineGwReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Dataflow ready",
        type_ = "string",
        description = "Whether the dataflow engine runs the pipeline",
        json_path = ".status.conditions[?(@.type=='PipelineReady')].status",
        priority = 1
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        description = "Why the pipeline is not ready, if it is not",
        json_path = ".status.conditions[?(@.type=='Ready')].message"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    /// External inputs: tensors of other pipelines this one consumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<PipelineInput>,
    /// The steps, each a model. Required; an empty list is allowed.
    pub steps: Vec<PipelineStep>,
    /// Which steps' outputs make the pipeline's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PipelineOutput>,
    /// Dataflow (Kafka) settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<DataflowConfig>,
    /// Allow cycles in the step graph.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_cycles: bool,
    /// With cycles allowed: how often a step may be revisited.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_step_revisits: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// How a step joins its inputs (or triggers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JoinType {
    /// Wait for every input.
    #[default]
    Inner,
    /// Take what arrives within the join window.
    Outer,
    /// Take the first input that arrives.
    Any,
}

fn inner() -> Option<JoinType> {
    Some(JoinType::Inner)
}

/// The schema of an optional join type field: `JoinType`'s enum, without the
/// enum's own description (the field's doc comment describes the field) and
/// not nullable, as in Seldon's CRD, so the API server prunes an explicit
/// `null` and applies the field's default instead.
fn join_type_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = JoinType::json_schema(generator);
    schema.remove("description");
    schema
}

/// External inputs of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInput {
    /// Tensors or steps of other pipelines to consume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_inputs: Vec<String>,
    /// Tensors of other pipelines that trigger this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_triggers: Vec<String>,
    /// Join window in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_window_ms: Option<u32>,
    /// How the external inputs are joined.
    #[serde(default = "inner", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "join_type_schema")]
    pub join_type: Option<JoinType>,
    /// How the external triggers are joined.
    #[serde(default = "inner", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "join_type_schema")]
    pub triggers_join_type: Option<JoinType>,
    /// Renames of input tensors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tensor_map: BTreeMap<String, String>,
}

/// One step: a model and how its inputs are joined.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStep {
    /// The model this step runs.
    pub name: String,
    /// Inputs, as `step` or `step.outputs.tensor` references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Join window in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_window_ms: Option<u32>,
    /// Renames of input tensors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tensor_map: BTreeMap<String, String>,
    /// Tensors that must arrive before the step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<String>,
    /// How the inputs are joined.
    #[serde(default = "inner", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "join_type_schema")]
    pub inputs_join_type: Option<JoinType>,
    /// How the triggers are joined (no default, as in Seldon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "join_type_schema")]
    pub triggers_join_type: Option<JoinType>,
    /// Batching of requests to this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<PipelineBatch>,
}

/// Batching of requests to a step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineBatch {
    /// Requests per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Longest wait for a batch, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<u32>,
    /// Rolling batches (accepted, but the scheduler API cannot carry it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolling: bool,
}

/// The output of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineOutput {
    /// Steps whose outputs form the pipeline's output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Join window in milliseconds (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub join_window_ms: u32,
    /// How the output steps are joined.
    #[serde(default = "inner", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "join_type_schema")]
    pub steps_join: Option<JoinType>,
    /// Renames of output tensors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tensor_map: BTreeMap<String, String>,
}

/// The observed state of a Pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    /// Conditions and observed generation.
    #[serde(flatten)]
    pub duck: DuckStatus,
}
