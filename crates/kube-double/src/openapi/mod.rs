//! OpenAPI v3 as the real server publishes it for kubectl: `/openapi/v3`
//! lists one document per group version, and each document has the
//! kinds' paths (their write operations accept `fieldValidation`, which
//! tells kubectl the server validates fields itself) and their schemas
//! (`schemas`), built-in and custom, so `kubectl apply` validates and
//! `kubectl explain` explains. The documents are built once, on first
//! use. `unknown` finds the fields a schema does not declare, for
//! `fieldValidation=Strict` and `Warn`.

mod schemas;
mod unknown;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::catalog::{Catalog, ResourceType};
use super::discovery::SERVER_MINOR;

/// One group version's document and what validation needs of it.
struct Document {
    rendered: Value,
    components: Map<String, Value>,
    /// kind -> its schema's name.
    roots: BTreeMap<String, String>,
}

/// Every group version's document.
pub(crate) struct OpenApi {
    documents: BTreeMap<(String, String), Document>,
}

fn document_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

impl OpenApi {
    pub(crate) fn new(catalog: &Catalog) -> Self {
        let mut versions = vec![(String::new(), "v1".to_string())];
        for (group, group_versions) in catalog.groups() {
            versions.extend(group_versions.into_iter().map(|v| (group.clone(), v)));
        }
        let documents = versions
            .into_iter()
            .map(|(group, version)| {
                let document = document(catalog, &group, &version);
                ((group, version), document)
            })
            .collect();
        Self { documents }
    }

    /// `/openapi/v3`: where each group version's document is.
    pub(crate) fn root(&self) -> Value {
        let paths: Map<String, Value> = self
            .documents
            .keys()
            .map(|(group, version)| {
                let path = document_path(group, version);
                let url = format!("/openapi/v3/{path}");
                (path, json!({"serverRelativeURL": url}))
            })
            .collect();
        json!({"paths": paths})
    }

    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
    pub(crate) fn document(&self, group: &str, version: &str) -> Option<&Value> {
        self.documents
            .get(&(group.to_string(), version.to_string()))
            .map(|d| &d.rendered)
    }

    /// The fields of `body` (an object of `rt`, or a patch of one) its
    /// schema does not declare.
    pub(crate) fn unknown_fields(&self, rt: &ResourceType, body: &Value) -> Vec<String> {
        let Some(document) = self.documents.get(&(rt.group.clone(), rt.version.clone())) else {
            return Vec::new();
        };
        match document.roots.get(&rt.kind) {
            Some(root) => unknown::unknown_fields(&document.components, root, body),
            None => Vec::new(),
        }
    }
}

fn parameters(write: bool) -> Value {
    let mut parameters =
        vec![json!({"name": "pretty", "in": "query", "schema": {"type": "string"}})];
    if write {
        for (name, type_) in [
            ("dryRun", "string"),
            ("fieldManager", "string"),
            ("fieldValidation", "string"),
        ] {
            parameters.push(json!({"name": name, "in": "query", "schema": {"type": type_}}));
        }
    }
    Value::Array(parameters)
}

fn operation(rt: &ResourceType, action: &str, schema: Option<&str>) -> Value {
    let write = matches!(action, "post" | "put" | "patch");
    let mut parameters = parameters(write);
    if action == "patch"
        && let Some(list) = parameters.as_array_mut()
    {
        list.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean"}}));
    }
    let content = schema.map_or_else(
        || json!({}),
        |name| json!({"application/json": {"schema": {"$ref": format!("{}{name}", schemas::REF_PREFIX)}}}),
    );
    json!({
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "content": content}},
    })
}

fn document(catalog: &Catalog, group: &str, version: &str) -> Document {
    let types: Vec<&ResourceType> = catalog.in_group_version(group, version).collect();
    let generated = schemas::group_version(types.iter().copied());
    let roots: BTreeMap<String, String> = generated.roots.into_iter().collect();
    let prefix = document_path(group, version);
    let mut paths = Map::new();
    for rt in &types {
        let schema = roots.get(&rt.kind).map(String::as_str);
        let (collection, object) = if rt.namespaced {
            (
                format!("/{prefix}/namespaces/{{namespace}}/{}", rt.plural),
                format!("/{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural),
            )
        } else {
            (
                format!("/{prefix}/{}", rt.plural),
                format!("/{prefix}/{}/{{name}}", rt.plural),
            )
        };
        if rt.review.is_some() {
            paths.insert(collection, json!({"post": operation(rt, "post", schema)}));
            continue;
        }
        paths.insert(
            collection,
            json!({"get": operation(rt, "list", None), "post": operation(rt, "post", schema)}),
        );
        paths.insert(
            object,
            json!({
                "get": operation(rt, "get", schema),
                "put": operation(rt, "put", schema),
                "patch": operation(rt, "patch", schema),
                "delete": operation(rt, "delete", None),
            }),
        );
    }
    let rendered = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (switchyard API double)", "version": format!("v1.{SERVER_MINOR}.0")},
        "paths": paths,
        "components": {"schemas": generated.components},
    });
    Document {
        components: generated.components,
        rendered,
        roots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_list_paths_and_schemas() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let openapi = OpenApi::new(&catalog);
        let root = openapi.root();
        assert_eq!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"],
            "/openapi/v3/apis/apps/v1"
        );
        let apps = openapi.document("apps", "v1").expect("apps/v1");
        let patch =
            &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "StatefulSet"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation"))
        );
        let sts = &apps["components"]["schemas"]["io.k8s.api.apps.v1.StatefulSet"];
        assert_eq!(
            sts["x-kubernetes-group-version-kind"][0]["kind"],
            "StatefulSet"
        );
        let seldon = openapi
            .document("mlops.seldon.io", "v1alpha1")
            .expect("seldon");
        let model = &seldon["components"]["schemas"]["io.seldon.mlops.v1alpha1.Model"];
        assert!(model["properties"]["spec"]["properties"]["storageUri"].is_object());
        let core = openapi.document("", "v1").expect("core");
        assert!(core["paths"]["/api/v1/namespaces/{name}"]["patch"].is_object());
        assert!(
            core["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                .is_object()
        );
    }
}
