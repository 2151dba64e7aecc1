//! `ServerConfig` (`serverconfigs.mlops.seldon.io`, short name `mlc`): the
//! pod template a Server is built from. Lives in the operator's namespace.

use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, PodSpec};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A template for Servers.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "ServerConfig",
    doc = "A ServerConfig is the pod template (and volume claims) a Server is built from; it \
           lives in the operator's namespace and Servers refer to it by name.",
    namespaced,
    derive = "PartialEq",
    shortname = "mlc",
    category = "seldon",
    status = "ServerConfigStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfigSpec {
    /// The pod of each server replica.
    pub pod_spec: PodSpec,
    /// Volume claims of each replica (StatefulSet mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaimTemplate>,
}

/// A named PersistentVolumeClaim template.
// Seldon's own type rather than a full PersistentVolumeClaim, whose inlined
// metadata would not survive CRD pruning.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PersistentVolumeClaimTemplate {
    /// Claim name; also the name a container's volume mount refers to.
    pub name: String,
    /// The claim's spec (storage class, access modes, size).
    pub spec: PersistentVolumeClaimSpec,
}

/// ServerConfig has no observed state; the status subresource exists for
/// compatibility with Seldon's CRD.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerConfigStatus {}
