//! The catalogue of resource types the double serves: a fixed list of
//! built-in kinds (`builtins`: namespaces, events, services, configmaps, pods,
//! secrets, serviceaccounts, statefulsets, deployments, RBAC, leases,
//! events.k8s.io events, and the token and access reviews) plus one entry
//! per served version of each CustomResourceDefinition it was started with
//! (by default the seven Seldon kinds of `resources::crd::all()`).
//!
//! Everything else reads it: routing resolves a URL to a `ResourceId`,
//! discovery renders it, the write paths ask it about scope, subresources
//! and whether the kind is a custom resource.

mod builtins;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use serde_json::Value;

/// Index of a resource type in the catalogue (and of its collection).
pub type ResourceId = usize;

/// Where a kind keeps the fields its `scale` subresource exposes, as the
/// CRD's `.spec.replicas`-style JSON paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One resource type (one group/version/plural).
#[derive(Clone, Debug)]
pub struct ResourceType {
    /// The API group, empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `status` subresource: main-resource writes keep the stored
    /// status, `/status` writes touch nothing else.
    pub status: bool,
    /// Has a `scale` subresource.
    pub scale: Option<ScalePaths>,
    /// A custom resource: the real server refuses strategic merge patches
    /// (415) and unconditional updates (422) for these.
    pub custom: bool,
    /// A review kind: only created, answered and never stored.
    pub review: Option<Review>,
    /// A custom resource's printer columns (`kubectl get` shows them).
    pub printer_columns: Vec<CustomResourceColumnDefinition>,
    /// A custom resource's `openAPIV3Schema`, as JSON.
    pub schema: Option<Value>,
}

/// The kinds a POST asks a question of, answered by `review`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    /// `authentication.k8s.io/v1` TokenReview.
    Token,
    /// `authentication.k8s.io/v1` SelfSubjectReview: who the requester is
    /// (`kubectl auth whoami`).
    SelfSubject,
    /// `authorization.k8s.io/v1` SubjectAccessReview.
    SubjectAccess,
    /// `authorization.k8s.io/v1` LocalSubjectAccessReview (namespaced).
    LocalSubjectAccess,
    /// `authorization.k8s.io/v1` SelfSubjectAccessReview: about the
    /// requester (`kubectl auth can-i`).
    SelfSubjectAccess,
}

/// The verbs every stored resource supports.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceType {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `models.mlops.seldon.io`, or just `configmaps` in the core group: the
    /// name the real server uses in error messages.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Model.mlops.seldon.io`: the name used in `Invalid` messages.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether objects of this kind carry `metadata.generation`: custom
    /// resources and the apps/v1 workloads do; ConfigMaps, Services,
    /// ServiceAccounts, RBAC, Leases, Events and Namespaces do not.
    pub fn has_generation(&self) -> bool {
        self.custom || self.group == "apps"
    }

    /// The verbs discovery lists: review kinds are only created.
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.review.is_some() {
            &["create"]
        } else {
            VERBS
        }
    }

    /// `models`, `models/status`, `models/scale`: the label of stats.
    pub fn resource_label(&self, subresource: Option<&str>) -> String {
        match subresource {
            Some(sub) => format!("{}/{}", self.plural, sub),
            None => self.plural.clone(),
        }
    }
}

/// Every resource type the double serves, in discovery order.
#[derive(Clone, Debug)]
pub struct Catalog {
    types: Vec<ResourceType>,
}

impl Catalog {
    /// The built-in kinds plus every served version of `crds`. A CRD that
    /// repeats a group/version/plural already present is skipped.
    pub fn new(crds: &[CustomResourceDefinition]) -> Self {
        let mut types: Vec<ResourceType> = builtins::all().collect();
        for crd in crds {
            for resource_type in from_crd(crd) {
                let duplicate = types.iter().any(|t| {
                    t.group == resource_type.group
                        && t.version == resource_type.version
                        && t.plural == resource_type.plural
                });
                if duplicate {
                    tracing::warn!(
                        resource = %resource_type.group_resource(),
                        "API double: CRD repeats a served resource; ignored"
                    );
                } else {
                    types.push(resource_type);
                }
            }
        }
        Self { types }
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    pub fn get(&self, id: ResourceId) -> &ResourceType {
        &self.types[id]
    }

    pub fn iter(&self) -> impl Iterator<Item = (ResourceId, &ResourceType)> {
        self.types.iter().enumerate()
    }

    /// The type served at `/apis/{group}/{version}/{plural}` (or
    /// `/api/{version}/{plural}` for the empty group).
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceId> {
        self.types
            .iter()
            .position(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Whether any type is served under `group/version`.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.types
            .iter()
            .any(|t| t.group == group && t.version == version)
    }

    /// The named (non-core) groups with their versions, in first-seen order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.types.iter().filter(|t| !t.group.is_empty()) {
            match groups.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => groups.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        groups
    }

    /// The types served under `group/version`.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceType> + 'a {
        self.types
            .iter()
            .filter(move |t| t.group == group && t.version == version)
    }
}

fn from_crd(crd: &CustomResourceDefinition) -> Vec<ResourceType> {
    let spec = &crd.spec;
    let names = &spec.names;
    spec.versions
        .iter()
        .filter(|v| v.served)
        .map(|v| {
            let subresources = v.subresources.as_ref();
            ResourceType {
                group: spec.group.clone(),
                version: v.name.clone(),
                kind: names.kind.clone(),
                plural: names.plural.clone(),
                singular: names
                    .singular
                    .clone()
                    .unwrap_or_else(|| names.kind.to_ascii_lowercase()),
                namespaced: spec.scope == "Namespaced",
                short_names: names.short_names.clone().unwrap_or_default(),
                categories: names.categories.clone().unwrap_or_default(),
                status: subresources.is_some_and(|s| s.status.is_some()),
                scale: subresources
                    .and_then(|s| s.scale.as_ref())
                    .map(|s| ScalePaths {
                        spec_replicas: s.spec_replicas_path.clone(),
                        status_replicas: s.status_replicas_path.clone(),
                        label_selector: s.label_selector_path.clone(),
                    }),
                custom: true,
                review: None,
                printer_columns: v.additional_printer_columns.clone().unwrap_or_default(),
                schema: v
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .and_then(|s| serde_json::to_value(s).ok()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seldon_kinds_come_from_their_crds() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let id = catalog
            .find("mlops.seldon.io", "v1alpha1", "models")
            .expect("models served");
        let models = catalog.get(id);
        assert_eq!(models.kind, "Model");
        assert!(models.namespaced && models.status && models.custom);
        assert_eq!(
            models.scale.as_ref().map(|s| s.spec_replicas.as_str()),
            Some(".spec.replicas")
        );
        let configs = catalog.get(
            catalog
                .find("mlops.seldon.io", "v1alpha1", "serverconfigs")
                .expect("serverconfigs served"),
        );
        assert!(configs.scale.is_none());
        assert_eq!(
            catalog
                .in_group_version("mlops.seldon.io", "v1alpha1")
                .count(),
            7
        );
    }

    #[test]
    fn core_and_events_groups_are_distinct() {
        let catalog = Catalog::new(&[]);
        let core = catalog.find("", "v1", "events").expect("core events");
        let new = catalog
            .find("events.k8s.io", "v1", "events")
            .expect("events.k8s.io events");
        assert_ne!(core, new);
        assert_eq!(catalog.get(core).api_version(), "v1");
        assert_eq!(catalog.get(new).api_version(), "events.k8s.io/v1");
        assert_eq!(
            catalog.groups().first().map(|(g, _)| g.as_str()),
            Some("apps")
        );
    }
}
