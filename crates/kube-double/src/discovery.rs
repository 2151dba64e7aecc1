//! Discovery documents, rendered from the catalogue: `/version`, `/api`,
//! `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`, and
//! the aggregated (apidiscovery.k8s.io/v2) form of `/api` and `/apis` for
//! clients that ask for it in `Accept` (kube's `Discovery::run_aggregated`).
//! And a skeleton of OpenAPI v3 (`/openapi/v3`, one document per group
//! version): no schemas, only each kind's PATCH operation with its
//! `fieldValidation` parameter, which is what tells kubectl the server
//! validates fields itself, so `kubectl apply` needs no
//! `--validate=false` (except for Namespaces, which kubectl always checks
//! client-side).

use serde_json::{Value, json};

use super::catalog::{Catalog, ResourceType};

/// The verbs of the status and scale subresources.
const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

/// The Kubernetes version the double claims to be.
pub(crate) const SERVER_MAJOR: &str = "1";
pub(crate) const SERVER_MINOR: &str = "36";

/// The `Content-Type` of aggregated discovery responses.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery.
pub(crate) fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=APIGroupDiscoveryList"))
}

pub(crate) fn version() -> Value {
    json!({
        "major": SERVER_MAJOR,
        "minor": SERVER_MINOR,
        "gitVersion": format!("v{SERVER_MAJOR}.{SERVER_MINOR}.0-switchyard-api-double"),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none",
        "compiler": "rustc",
        "platform": "in-process",
    })
}

/// `/api`
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn resource_entries(rt: &ResourceType) -> Vec<Value> {
    let mut entries = vec![json!({
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": rt.verbs(),
        "shortNames": rt.short_names,
        "categories": rt.categories,
    })];
    if rt.status {
        entries.push(json!({
            "name": format!("{}/status", rt.plural),
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": SUBRESOURCE_VERBS,
        }));
    }
    if rt.scale.is_some() {
        entries.push(json!({
            "name": format!("{}/scale", rt.plural),
            "singularName": "",
            "namespaced": rt.namespaced,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": SUBRESOURCE_VERBS,
        }));
    }
    entries
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub(crate) fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Value {
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = catalog
        .in_group_version(group, version)
        .flat_map(resource_entries)
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `/apis`
pub(crate) fn groups(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups()
        .iter()
        .map(|(g, versions)| group_entry(g, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`
pub(crate) fn group(catalog: &Catalog, group: &str) -> Value {
    let versions = catalog
        .groups()
        .into_iter()
        .find(|(g, _)| g == group)
        .map(|(_, v)| v)
        .unwrap_or_default();
    let mut entry = group_entry(group, &versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    entry
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let kind = |group: &str, version: &str, kind: &str| json!({"group": group, "version": version, "kind": kind});
    let mut subresources = Vec::new();
    if rt.status {
        subresources.push(json!({
            "subresource": "status",
            "responseKind": kind(&rt.group, &rt.version, &rt.kind),
            "verbs": SUBRESOURCE_VERBS,
        }));
    }
    if rt.scale.is_some() {
        subresources.push(json!({
            "subresource": "scale",
            "responseKind": kind("autoscaling", "v1", "Scale"),
            "verbs": SUBRESOURCE_VERBS,
        }));
    }
    json!({
        "resource": rt.plural,
        "responseKind": kind(&rt.group, &rt.version, &rt.kind),
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": rt.verbs(),
        "shortNames": rt.short_names,
        "categories": rt.categories,
        "subresources": subresources,
    })
}

fn aggregated_group(catalog: &Catalog, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = catalog
                .in_group_version(group, v)
                .map(aggregated_resource)
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}

/// Aggregated `/api` (core group only) or `/apis` (named groups).
pub(crate) fn aggregated(catalog: &Catalog, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(catalog, "", &["v1".to_string()])]
    } else {
        catalog
            .groups()
            .iter()
            .map(|(g, versions)| aggregated_group(catalog, g, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

fn openapi_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each group version's document is.
pub(crate) fn openapi_root(catalog: &Catalog) -> Value {
    let mut versions = vec![(String::new(), "v1".to_string())];
    for (group, group_versions) in catalog.groups() {
        for version in group_versions {
            versions.push((group.clone(), version));
        }
    }
    let paths: serde_json::Map<String, Value> = versions
        .iter()
        .map(|(group, version)| {
            let path = openapi_path(group, version);
            let url = format!("/openapi/v3/{path}");
            (path, json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/apis/{group}/{version}`: each kind's object path with a
/// PATCH operation that accepts `fieldValidation`.
pub(crate) fn openapi_group_version(catalog: &Catalog, group: &str, version: &str) -> Value {
    let prefix = openapi_path(group, version);
    let paths: serde_json::Map<String, Value> = catalog
        .in_group_version(group, version)
        .map(|rt| {
            let path = if rt.namespaced {
                format!("/{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
            } else {
                format!("/{prefix}/{}/{{name}}", rt.plural)
            };
            let patch = json!({
                "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                "parameters": [
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                ],
                "responses": {"200": {"description": "OK"}},
            });
            (path, json!({"patch": patch}))
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (switchyard API double)", "version": SERVER_MINOR},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};

    #[test]
    fn documents_parse_as_kube_types() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let groups: APIGroupList = serde_json::from_value(groups(&catalog)).expect("parses");
        assert!(groups.groups.iter().any(|g| g.name == "mlops.seldon.io"));
        let seldon: APIResourceList =
            serde_json::from_value(resource_list(&catalog, "mlops.seldon.io", "v1alpha1"))
                .expect("parses");
        let names: Vec<&str> = seldon.resources.iter().map(|r| r.name.as_str()).collect();
        assert!(names.contains(&"models/status") && names.contains(&"models/scale"));
        assert!(!names.contains(&"pipelines/scale"));
        let core: APIResourceList =
            serde_json::from_value(resource_list(&catalog, "", "v1")).expect("parses");
        assert!(
            core.resources
                .iter()
                .any(|r| r.name == "namespaces" && !r.namespaced)
        );
        let aggregated: kube::core::discovery::v2::APIGroupDiscoveryList =
            serde_json::from_value(aggregated(&catalog, false)).expect("parses");
        assert!(aggregated.items.len() >= 4);
        let root = openapi_root(&catalog);
        assert_eq!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"],
            "/openapi/v3/apis/apps/v1"
        );
        let apps = openapi_group_version(&catalog, "apps", "v1");
        let patch =
            &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "StatefulSet"
        );
    }
}
