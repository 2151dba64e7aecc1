//! `SeldonRuntime` (`seldonruntimes.mlops.seldon.io`): Seldon installed in
//! one namespace, including the scheduler switchyard connects to.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pod_spec::OverridePodSpec;
use super::seldon_config::SeldonConfiguration;
use super::status::DuckStatus;

/// The desired state of a SeldonRuntime.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mlops.seldon.io",
    version = "v1alpha1",
    kind = "SeldonRuntime",
    doc = "A SeldonRuntime installs Seldon in one namespace (scheduler, gateways, envoy, \
           dataflow engine) from a SeldonConfig template, with per-namespace overrides.",
    namespaced,
    derive = "PartialEq",
    category = "seldon",
    status = "SeldonRuntimeStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct SeldonRuntimeSpec {
    /// Name of the SeldonConfig template, in the operator's namespace.
    pub seldon_config: String,
    /// Per-component overrides, keyed by component name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideSpec>,
    /// Configuration for this namespace; gaps are filled from the SeldonConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SeldonConfiguration>,
    /// Do not roll this runtime when its SeldonConfig changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_auto_update: bool,
}

/// An override of one component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverrideSpec {
    /// Component name, e.g. `seldon-scheduler`.
    pub name: String,
    /// Do not run this component.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
    /// Replicas of the component (the template's components run one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Service type of the component's Service (ClusterIP, LoadBalancer, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Pod spec merged over the component's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec: Option<OverridePodSpec>,
}

/// The observed state of a SeldonRuntime.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeldonRuntimeStatus {
    /// Conditions and observed generation.
    #[serde(flatten)]
    pub duck: DuckStatus,
}
