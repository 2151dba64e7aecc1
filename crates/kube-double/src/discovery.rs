//! Discovery documents, rendered from the catalogue: `/version`, `/api`,
//! `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`, and
//! the aggregated (apidiscovery.k8s.io/v2) form of `/api` and `/apis` for
//! clients that ask for it in `Accept` (kube's `Discovery::run_aggregated`).
//! OpenAPI is `openapi`'s.

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
    }
}
