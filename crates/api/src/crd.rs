//! The CustomResourceDefinitions of the seven kinds, as `switchyard crds`
//! prints them and `deploy/crds/` holds them.
//!
//! kube's `CustomResource` derive builds each CRD from the Rust types; `all()`
//! finishes them with the two things the derive cannot express (`listKind`,
//! and Seldon's `int32` format for unsigned fields), and `documents()` turns
//! them into YAML, deterministically, one document per CRD.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

use super::{Experiment, Model, Pipeline, SeldonConfig, SeldonRuntime, Server, ServerConfig};

/// Every CRD, in a stable order: the four kinds users write, then the three
/// templates and the runtime.
pub fn all() -> Vec<CustomResourceDefinition> {
    [
        Model::crd(),
        Pipeline::crd(),
        Experiment::crd(),
        Server::crd(),
        ServerConfig::crd(),
        SeldonRuntime::crd(),
        SeldonConfig::crd(),
    ]
    .into_iter()
    .map(finish)
    .collect()
}

/// One CRD as a YAML document, with the file name it has under `deploy/crds/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdDocument {
    /// `<group>_<plural>.yaml`, e.g. `mlops.seldon.io_models.yaml`, the
    /// naming controller-gen and Seldon's own repository use.
    pub file_name: String,
    /// The YAML document, starting with `---`.
    pub yaml: String,
}

/// A CRD that could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write CustomResourceDefinition {name} as YAML: {source}")]
pub struct CrdError {
    /// The CRD's `metadata.name`.
    pub name: String,
    #[source]
    pub source: serde_saphyr::SerializeError,
}

/// Every CRD as a YAML document, in the order of `all()`.
pub fn documents() -> Result<Vec<CrdDocument>, CrdError> {
    all()
        .iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let body = serde_saphyr::to_string(crd).map_err(|source| CrdError {
                name: name.clone(),
                source,
            })?;
            Ok(CrdDocument {
                file_name: format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural),
                yaml: format!("---\n{body}"),
            })
        })
        .collect()
}

/// All CRDs as one multi-document YAML stream (`---` separated), exactly the
/// concatenation of the files under `deploy/crds/`.
pub fn crds_yaml() -> Result<String, CrdError> {
    Ok(documents()?.into_iter().map(|doc| doc.yaml).collect())
}

/// Completes a derived CRD.
fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let names = &mut crd.spec.names;
    names.list_kind = Some(format!("{}List", names.kind));
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|validation| validation.open_api_v3_schema.as_mut())
        {
            unsigned_as_int32(schema);
        }
    }
    crd
}

/// Rewrites schemars' `format: uint32` (from Rust `u32`) to `int32`, the
/// format Seldon's CRDs declare for their Go `uint32` fields; Kubernetes
/// knows no `uint32` format. schemars' `minimum: 0` stays, so the API server
/// still rejects the negative values the Go and Rust types cannot hold.
fn unsigned_as_int32(schema: &mut JSONSchemaProps) {
    if schema.format.as_deref() == Some("uint32") {
        schema.format = Some("int32".to_owned());
    }
    for child in children(schema) {
        unsigned_as_int32(child);
    }
}

/// Every direct subschema of a schema node.
fn children(schema: &mut JSONSchemaProps) -> Vec<&mut JSONSchemaProps> {
    let mut out: Vec<&mut JSONSchemaProps> = Vec::new();
    if let Some(properties) = schema.properties.as_mut() {
        out.extend(properties.values_mut());
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => out.push(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => out.extend(items.iter_mut()),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = schema.additional_properties.as_mut() {
        out.push(additional);
    }
    for list in [
        schema.all_of.as_mut(),
        schema.any_of.as_mut(),
        schema.one_of.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        out.extend(list.iter_mut());
    }
    if let Some(not) = schema.not.as_mut() {
        out.push(not);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_back_as_the_same_crds() {
        let yaml = crds_yaml().expect("CRDs serialize");
        let parsed: Vec<CustomResourceDefinition> =
            serde_saphyr::from_multiple(&yaml).expect("CRD YAML parses");
        assert_eq!(parsed, all());
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(crds_yaml().unwrap(), crds_yaml().unwrap());
    }

    #[test]
    fn documents_are_separated_and_named_by_plural() {
        let docs = documents().unwrap();
        let names: Vec<&str> = docs.iter().map(|doc| doc.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mlops.seldon.io_models.yaml",
                "mlops.seldon.io_pipelines.yaml",
                "mlops.seldon.io_experiments.yaml",
                "mlops.seldon.io_servers.yaml",
                "mlops.seldon.io_serverconfigs.yaml",
                "mlops.seldon.io_seldonruntimes.yaml",
                "mlops.seldon.io_seldonconfigs.yaml",
            ]
        );
        for doc in &docs {
            assert!(doc.yaml.starts_with("---\n"), "{}", doc.file_name);
            assert_eq!(doc.yaml.matches("\n---\n").count(), 0, "{}", doc.file_name);
        }
    }

    #[test]
    fn list_kind_follows_kind() {
        for crd in all() {
            let names = &crd.spec.names;
            assert_eq!(names.list_kind, Some(format!("{}List", names.kind)));
        }
    }

    #[test]
    fn unsigned_fields_are_int32() {
        let mut schema: JSONSchemaProps = serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": {
                "steps": {"type": "array", "items": {"type": "object", "properties": {
                    "joinWindowMs": {"type": "integer", "format": "uint32", "minimum": 0.0}
                }}},
                "weights": {"type": "object", "additionalProperties":
                    {"type": "integer", "format": "uint32"}},
                "replicas": {"type": "integer", "format": "int64"}
            }
        }))
        .unwrap();
        unsigned_as_int32(&mut schema);
        let value = serde_json::to_value(&schema).unwrap();
        assert_eq!(
            value["properties"]["steps"]["items"]["properties"]["joinWindowMs"]["format"],
            "int32"
        );
        assert_eq!(
            value["properties"]["weights"]["additionalProperties"]["format"],
            "int32"
        );
        assert_eq!(value["properties"]["replicas"]["format"], "int64");
    }
}
