//! Seldon's override pod spec: a core `PodSpec` whose `containers` list is
//! optional, so a Server or SeldonRuntime override can change one field of
//! one container without restating the whole pod.

use k8s_openapi::api::core::v1::PodSpec;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A `PodSpec` used as an override: merged over a template's pod spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OverridePodSpec(pub PodSpec);

impl JsonSchema for OverridePodSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OverridePodSpec".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = PodSpec::json_schema(generator);
        if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
            required.retain(|field| field != "containers");
            if required.is_empty() {
                schema.remove("required");
            }
        }
        schema
    }
}
