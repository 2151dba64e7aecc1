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
    doc = "A SeldonConfig is the template of a namespace's Seldon installation: its \
           components and their default configuration. It lives in the operator's namespace; \
           SeldonRuntimes refer to it by name.",
    namespaced,
    derive = "PartialEq",
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
    /// Labels added to the component's workload and pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the component's workload and pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Replicas (ignored by Seldon's operator, which uses 1 unless a runtime
    /// override says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The component's pod.
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
    /// Autoscaling of models, servers and pipeline components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_config: Option<ScalingConfig>,
    /// OpenTelemetry tracing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_config: Option<TracingConfig>,
    /// Kafka, used by the dataflow engine and the gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_config: Option<KafkaConfig>,
    /// The model server agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_config: Option<AgentConfiguration>,
    /// The Services the runtime creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_config: Option<ServiceConfig>,
}

/// Autoscaling settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScalingConfig {
    /// Model autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelScalingConfig>,
    /// Server autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<ServerScalingConfig>,
    /// Sharding of the pipeline gateway, dataflow engine and model gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<PipelineScalingConfig>,
}

// The scalar fields below are left out when false or 0, like Seldon's
// `omitempty` Go fields, so they carry no schema default either.

/// Model autoscaling settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelScalingConfig {
    /// Scale models on inference load.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
}

/// Server autoscaling settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerScalingConfig {
    /// Scale servers with the models they must host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// Pack models onto fewer replicas before scaling servers down.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scale_down_packing_enabled: bool,
    /// How full (in percent) replicas may get when packing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scale_down_packing_percentage: i32,
}

/// Sharding of the pipeline components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineScalingConfig {
    /// Maximum replicas of the pipeline gateway and dataflow engine per
    /// pipeline (and of the model gateway per consumer).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_shard_count_multiplier: i32,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

/// OpenTelemetry tracing settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingConfig {
    /// Turn tracing off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
    /// OTLP collector endpoint, `host:port`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otel_exporter_endpoint: String,
    /// OTLP protocol, `grpc` or `http/protobuf`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otel_exporter_protocol: String,
    /// Sampling ratio, a decimal between 0 and 1 written as a string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ratio: String,
}

/// Kafka settings; the maps hold librdkafka properties.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConfig {
    /// Kafka bootstrap servers, `host:port[,host:port...]`.
    #[serde(
        default,
        rename = "bootstrap.servers",
        skip_serializing_if = "String::is_empty"
    )]
    pub bootstrap_servers: String,
    /// Prefix of the consumer group ids.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consumer_group_id_prefix: String,
    /// librdkafka debug contexts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub debug: String,
    /// Prefix of the topic names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic_prefix: String,
    /// Consumer properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consumer: BTreeMap<String, IntOrString>,
    /// Producer properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub producer: BTreeMap<String, IntOrString>,
    /// Kafka Streams properties (dataflow engine).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams: BTreeMap<String, IntOrString>,
    /// Topic creation properties (partitions, replication factor).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, IntOrString>,
}

/// Settings of the model server agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentConfiguration {
    /// rclone, which fetches model artifacts.
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
    /// Prefix of the Services' port names (e.g. `grpc-`, for meshes that
    /// infer the protocol from the port name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grpc_service_prefix: String,
    /// Type of the Services (ClusterIP, LoadBalancer, ...); LoadBalancer
    /// when unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_type: String,
}

/// SeldonConfig has no observed state; the status subresource exists for
/// compatibility with Seldon's CRD.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeldonConfigStatus {}
