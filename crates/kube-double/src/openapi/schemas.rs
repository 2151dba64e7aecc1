//! The schemas of the kinds the double serves, as OpenAPI v3
//! `components.schemas` of one group version: the built-in kinds' from
//! k8s-openapi (its `schemars` implementations, which carry Kubernetes'
//! own OpenAPI), and each custom resource's from its CRD, named and
//! completed as the real server publishes them (`io.seldon.mlops.v1alpha1.Model`,
//! `metadata` as a reference to ObjectMeta, `apiVersion` and `kind`).
//! Every kind's schema carries `x-kubernetes-group-version-kind`.

use k8s_openapi::api::{
    apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    coordination::v1 as coordination, core::v1 as core, events::v1 as events, rbac::v1 as rbac,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::catalog::ResourceType;

/// Where `$ref`s point.
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";

/// A reference to `T`'s schema, its definitions added to `generator`.
fn reference<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

/// The schema reference of a built-in kind, if the double knows it.
fn builtin(generator: &mut SchemaGenerator, rt: &ResourceType) -> Option<Value> {
    let g = generator;
    Some(match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => reference::<core::Namespace>(g),
        ("", "Event") => reference::<core::Event>(g),
        ("", "Service") => reference::<core::Service>(g),
        ("", "ConfigMap") => reference::<core::ConfigMap>(g),
        ("", "Secret") => reference::<core::Secret>(g),
        ("", "Pod") => reference::<core::Pod>(g),
        ("", "ServiceAccount") => reference::<core::ServiceAccount>(g),
        ("apps", "StatefulSet") => reference::<apps::StatefulSet>(g),
        ("apps", "Deployment") => reference::<apps::Deployment>(g),
        ("rbac.authorization.k8s.io", "Role") => reference::<rbac::Role>(g),
        ("rbac.authorization.k8s.io", "RoleBinding") => reference::<rbac::RoleBinding>(g),
        ("rbac.authorization.k8s.io", "ClusterRole") => reference::<rbac::ClusterRole>(g),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            reference::<rbac::ClusterRoleBinding>(g)
        }
        ("coordination.k8s.io", "Lease") => reference::<coordination::Lease>(g),
        ("events.k8s.io", "Event") => reference::<events::Event>(g),
        ("authentication.k8s.io", "TokenReview") => reference::<authn::TokenReview>(g),
        ("authentication.k8s.io", "SelfSubjectReview") => reference::<authn::SelfSubjectReview>(g),
        ("authorization.k8s.io", "SubjectAccessReview") => {
            reference::<authz::SubjectAccessReview>(g)
        }
        ("authorization.k8s.io", "SelfSubjectAccessReview") => {
            reference::<authz::SelfSubjectAccessReview>(g)
        }
        ("authorization.k8s.io", "LocalSubjectAccessReview") => {
            reference::<authz::LocalSubjectAccessReview>(g)
        }
        _ => return None,
    })
}

/// `mlops.seldon.io`, `v1alpha1`, `Model` -> `io.seldon.mlops.v1alpha1.Model`.
fn custom_name(rt: &ResourceType) -> String {
    let reversed: Vec<&str> = rt.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), rt.version, rt.kind)
}

/// A custom resource's schema, completed as the real server completes it.
fn custom(generator: &mut SchemaGenerator, rt: &ResourceType) -> Value {
    let meta = reference::<ObjectMeta>(generator);
    let mut schema = rt
        .schema
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    if let Some(map) = schema.as_object_mut() {
        let properties = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}),
            );
            properties.insert(
                "kind".into(),
                json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}),
            );
            properties.insert(
                "metadata".into(),
                json!({"allOf": [meta], "description": "Standard object's metadata."}),
            );
        }
    }
    schema
}

/// One group version's `components.schemas`, and the name of each
/// kind's schema in it: (kind, schema name).
pub(crate) struct GroupVersionSchemas {
    pub components: Map<String, Value>,
    pub roots: Vec<(String, String)>,
}

/// The schemas of `types` (all of one group version).
pub(crate) fn group_version<'a>(
    types: impl Iterator<Item = &'a ResourceType>,
) -> GroupVersionSchemas {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut customs = Vec::new();
    let mut roots = Vec::new();
    let mut kinds = Vec::new();
    for rt in types {
        let name = if rt.custom {
            let name = custom_name(rt);
            customs.push((name.clone(), custom(&mut generator, rt)));
            name
        } else {
            let reference = builtin(&mut generator, rt);
            match reference
                .as_ref()
                .and_then(|r| r.get("$ref"))
                .and_then(Value::as_str)
            {
                Some(reference) => reference.trim_start_matches(REF_PREFIX).to_string(),
                None => continue,
            }
        };
        kinds.push((
            name.clone(),
            json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]),
        ));
        roots.push((rt.kind.clone(), name));
    }
    let mut components = generator.take_definitions(true);
    components.extend(customs);
    for (name, gvk) in kinds {
        if let Some(Value::Object(schema)) = components.get_mut(&name) {
            schema.insert("x-kubernetes-group-version-kind".into(), gvk);
        }
    }
    GroupVersionSchemas { components, roots }
}
