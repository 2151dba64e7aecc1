//! The resource model: Rust types for the seven kinds of group
//! `mlops.seldon.io/v1alpha1`, as Kubernetes stores them. Nothing in here
//! knows about gRPC; `translate` turns these into scheduler requests.
//!
//! Every type ignores fields it does not know, so manifests written for
//! Seldon's own CRDs (or a newer Seldon) deserialize unchanged.

pub mod crd;
pub mod experiment;
pub mod model;
pub mod pipeline;
pub mod pod_spec;
pub mod runtime;
mod schema;
pub mod seldon_config;
pub mod server;
pub mod server_config;
pub mod status;
pub mod stored;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use experiment::{Experiment, ExperimentSpec};
pub use model::{Model, ModelSpec};
pub use pipeline::{Pipeline, PipelineSpec};
pub use runtime::{SeldonRuntime, SeldonRuntimeSpec};
pub use seldon_config::{SeldonConfig, SeldonConfigSpec};
pub use server::{Server, ServerSpec};
pub use server_config::{ServerConfig, ServerConfigSpec};
pub use status::{Condition, ConditionStatus, DuckStatus, Severity};

/// The API group of every Seldon kind.
pub const GROUP: &str = "mlops.seldon.io";
/// The only version of every Seldon kind.
pub const VERSION: &str = "v1alpha1";

/// Dataflow (Kafka) settings of a Model or Pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataflowConfig {
    /// Delete the Kafka topics when the object is deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clean_topics_on_delete: bool,
}

#[cfg(test)]
mod tests;
