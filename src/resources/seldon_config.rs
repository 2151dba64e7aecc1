//! `SeldonConfig` (`seldonconfigs.mlops.seldon.io`): the template of a
//! namespace's Seldon installation (components and their configuration).
//! Lives in the operator's namespace; SeldonRuntimes refer to it by name.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::server_config::PersistentVolumeClaimTemplate;

/// A template for SeldonRuntimes.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "SeldonConfig",
    namespaced,
    category = "seldon",
    status = "SeldonConfigStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct SeldonConfigSpec {
    /// The components of a Seldon installation (scheduler, gateways, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentDefn>,
    /// Defaults for every runtime built from this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SeldonConfiguration>,
}

/// One component of a Seldon installation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentDefn {
    /// Component name, e.g. `seldon-scheduler`.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Replicas (ignored by Seldon's operator, which uses 1 unless a runtime
    /// override says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec: Option<PodSpec>,
    /// Non-empty: the component runs as a StatefulSet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaimTemplate>,
}

/// Configuration of a Seldon installation; a runtime's values win over its
/// SeldonConfig's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeldonConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_config: Option<ScalingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_config: Option<TracingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_config: Option<KafkaConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_config: Option<AgentConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_config: Option<ServiceConfig>,
}

/// Autoscaling settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScalingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelScalingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<ServerScalingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<PipelineScalingConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelScalingConfig {
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerScalingConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub scale_down_packing_enabled: bool,
    #[serde(default)]
    pub scale_down_packing_percentage: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineScalingConfig {
    #[serde(default)]
    pub max_shard_count_multiplier: i32,
}

/// OpenTelemetry tracing settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingConfig {
    #[serde(default)]
    pub disable: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otel_exporter_endpoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otel_exporter_protocol: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ratio: String,
}

/// Kafka settings; the maps hold librdkafka properties.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConfig {
    #[serde(
        default,
        rename = "bootstrap.servers",
        skip_serializing_if = "String::is_empty"
    )]
    pub bootstrap_servers: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consumer_group_id_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub debug: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic_prefix: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consumer: BTreeMap<String, IntOrString>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub producer: BTreeMap<String, IntOrString>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams: BTreeMap<String, IntOrString>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, IntOrString>,
}

/// Settings of the model server agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rclone: Option<RcloneConfiguration>,
}

/// rclone storage configuration for the agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RcloneConfiguration {
    /// Secrets holding rclone remotes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_secrets: Vec<String>,
    /// Inline rclone remotes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<String>,
}

/// Settings of the Services a runtime creates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grpc_service_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_type: String,
}

/// SeldonConfig has no observed state; the status subresource exists for
/// compatibility with Seldon's CRD.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeldonConfigStatus {}
