//! `Server` (`servers.mlops.seldon.io`, short name `mls`): a pool of model
//! server replicas (MLServer, Triton) built from a ServerConfig template.

// kube's repeated `printcolumn(type_ = ..)` arguments are separate columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::apps::v1::{
    DeploymentStrategy, StatefulSetPersistentVolumeClaimRetentionPolicy,
};
use k8s_openapi::api::core::v1::Container;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pod_spec::OverridePodSpec;
use super::status::DuckStatus;

/// The desired state of a Server.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "Server",
    doc = "A Server is a set of model server replicas (MLServer, Triton, ...) built from a \
           ServerConfig template; the namespace's scheduler places Models on them.",
    namespaced,
    derive = "PartialEq",
    shortname = "mls",
    category = "seldon",
    status = "ServerStatus",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        description = "Whether the server's pods are ready (the Ready condition)",
        json_path = ".status.conditions[?(@.type=='Ready')].status"
    ),
    printcolumn(
        name = "Replicas",
        type_ = "integer",
        description = "Validated desired replicas",
        json_path = ".status.replicas"
    ),
    printcolumn(
        name = "Loaded Models",
        type_ = "integer",
        description = "Model replicas loaded on this server",
        json_path = ".status.loadedModels"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    /// Name of the ServerConfig template, in the operator's namespace.
    pub server_config: String,
    /// Capabilities added to the template's (deprecated; prefer `capabilities`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_capabilities: Vec<String>,
    /// Capabilities replacing the template's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Image overrides (not used by Seldon's operator; kept for compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_overrides: Option<ContainerOverrideSpec>,
    /// Pod spec merged over the ServerConfig's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec: Option<OverridePodSpec>,
    /// PVC retention policy for the StatefulSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateful_set_persistent_volume_claim_retention_policy:
        Option<StatefulSetPersistentVolumeClaimRetentionPolicy>,
    /// Desired replicas (1 when neither this nor `minReplicas` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Lower bound for scaling; 0 or unset means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Upper bound for scaling; 0 or unset means unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Rollout strategy when servers run as Deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_strategy: Option<DeploymentStrategy>,
    /// Do not roll this Server when its ServerConfig changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_auto_update: bool,
}

/// Image overrides of a Server's sidecars.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerOverrideSpec {
    /// Override of the agent sidecar container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Container>,
    /// Override of the rclone sidecar container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rclone: Option<Container>,
}

/// The observed state of a Server.
// As in Seldon's CRD (whose Go fields lack `omitempty`), the three fields are
// required in a written status and have no schema default; reading a status
// without them still works.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = server_status_schema)]
pub struct ServerStatus {
    /// Conditions and observed generation.
    #[serde(flatten)]
    pub duck: DuckStatus,
    /// Model replicas loaded on this server, as the scheduler reports.
    #[serde(default)]
    pub loaded_models: i32,
    /// Validated desired replicas.
    #[serde(default)]
    pub replicas: i32,
    /// Label selector of the server's pods (for the scale subresource).
    #[serde(default)]
    pub selector: String,
}

/// `ServerStatus`'s schema: the counts required, without defaults.
fn server_status_schema(schema: &mut schemars::Schema) {
    super::schema::no_property_defaults(schema);
    super::schema::require(schema, &["loadedModels", "replicas", "selector"]);
}
