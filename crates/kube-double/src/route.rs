//! URL parsing: turns a request path into a `Route` (a discovery document
//! or a resource path with namespace, name and subresource) and the query
//! string into `Query`, with the parameters kube sends for list, watch,
//! write and patch calls. Anything malformed is a 400 or 404 `ApiError`,
//! never a panic.

use std::time::Duration;

use super::catalog::{Catalog, ResourceId};
use super::error::ApiError;

/// The subresources the double serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subresource {
    Status,
    Scale,
}

impl Subresource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
        }
    }
}

/// A path under a resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourcePath {
    pub id: ResourceId,
    /// Set for namespaced paths (`.../namespaces/{ns}/...`).
    pub namespace: Option<String>,
    /// Set for object paths.
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
}

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/version`
    Version,
    /// `/api`
    CoreVersions,
    /// `/api/v1`
    CoreResources,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/apis/{group}/{version}`
    GroupResources(String, String),
    Resource(ResourcePath),
    /// `/openapi/v3`
    OpenApiRoot,
    /// `/openapi/v3/api/v1` (group "") or `/openapi/v3/apis/{group}/{version}`
    OpenApiGroupVersion(String, String),
}

/// Resolves `path` against the catalogue.
pub(crate) fn parse_path(catalog: &Catalog, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    match segments.as_slice() {
        ["version"] => Ok(Route::Version),
        ["api"] => Ok(Route::CoreVersions),
        ["api", "v1"] => Ok(Route::CoreResources),
        ["api", version, rest @ ..] if !rest.is_empty() => {
            resource_path(catalog, "", version, rest).map(Route::Resource)
        }
        ["openapi", "v3"] => Ok(Route::OpenApiRoot),
        ["openapi", "v3", "api", "v1"] => {
            Ok(Route::OpenApiGroupVersion(String::new(), "v1".to_string()))
        }
        ["openapi", "v3", "apis", group, version] if catalog.serves(group, version) => Ok(
            Route::OpenApiGroupVersion((*group).to_string(), (*version).to_string()),
        ),
        ["apis"] => Ok(Route::Groups),
        ["apis", group] if catalog.groups().iter().any(|(g, _)| g == group) => {
            Ok(Route::Group((*group).to_string()))
        }
        ["apis", group, version] if catalog.serves(group, version) => Ok(Route::GroupResources(
            (*group).to_string(),
            (*version).to_string(),
        )),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => {
            resource_path(catalog, group, version, rest).map(Route::Resource)
        }
        _ => Err(ApiError::no_route()),
    }
}

fn subresource(segment: &str) -> Result<Subresource, ApiError> {
    match segment {
        "status" => Ok(Subresource::Status),
        "scale" => Ok(Subresource::Scale),
        _ => Err(ApiError::no_route()),
    }
}

fn resource_path(
    catalog: &Catalog,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<ResourcePath, ApiError> {
    let find = |plural: &str| {
        catalog
            .find(group, version, plural)
            .ok_or_else(ApiError::no_route)
    };
    // `namespaces/{ns}/{plural}/...` addresses a namespaced resource, unless
    // the third segment is a subresource of the namespace itself.
    let (namespace, rest) = match rest {
        ["namespaces", ns, third, ..]
            if !(rest.len() == 3 && matches!(*third, "status" | "finalize")) =>
        {
            (Some(*ns), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(subresource(sub)?)),
        _ => return Err(ApiError::no_route()),
    };
    let id = find(plural)?;
    let rt = catalog.get(id);
    if namespace.is_some() && !rt.namespaced {
        return Err(ApiError::no_route());
    }
    // A namespaced object is only addressable inside its namespace.
    if namespace.is_none() && rt.namespaced && name.is_some() {
        return Err(ApiError::no_route());
    }
    let served = match sub {
        Some(Subresource::Status) => rt.status,
        Some(Subresource::Scale) => rt.scale.is_some(),
        None => true,
    };
    if !served || namespace.is_some_and(str::is_empty) || name.is_some_and(str::is_empty) {
        return Err(ApiError::no_route());
    }
    Ok(ResourcePath {
        id,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub,
    })
}

/// The query parameters the double understands; unknown ones are ignored,
/// as the real server does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub timeout: Option<Duration>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub dry_run: bool,
    pub propagation_policy: Option<String>,
    /// What rows of a Table carry.
    pub include_object: Option<String>,
    /// `Strict`, `Warn` or `Ignore`.
    pub field_validation: Option<String>,
}

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut q = Query::default();
        let Some(query) = query else {
            return Ok(q);
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "watch" => q.watch = parse_bool(&key, &value)?,
                "resourceVersion" => q.resource_version = Some(value),
                "resourceVersionMatch" => q.resource_version_match = Some(value),
                "labelSelector" => q.label_selector = Some(value),
                "fieldSelector" => q.field_selector = Some(value),
                "limit" => {
                    let limit: i64 = parse_number(&key, &value)?;
                    // The real server treats limit <= 0 as "no limit".
                    q.limit = usize::try_from(limit).ok().filter(|l| *l > 0);
                }
                "continue" => q.continue_token = Some(value).filter(|v| !v.is_empty()),
                "timeoutSeconds" => {
                    let secs: u64 = parse_number(&key, &value)?;
                    q.timeout = Some(Duration::from_secs(secs)).filter(|d| !d.is_zero());
                }
                "allowWatchBookmarks" => q.allow_watch_bookmarks = parse_bool(&key, &value)?,
                "sendInitialEvents" => q.send_initial_events = parse_bool(&key, &value)?,
                "fieldManager" => q.field_manager = Some(value).filter(|v| !v.is_empty()),
                "force" => q.force = parse_bool(&key, &value)?,
                "propagationPolicy" => q.propagation_policy = Some(value),
                "includeObject" => q.include_object = Some(value),
                "fieldValidation" => q.field_validation = Some(value),
                "dryRun" => match value.as_str() {
                    "All" => q.dry_run = true,
                    "" => {}
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dry run value: {other}; the only valid value is All"
                        )));
                    }
                },
                _ => {}
            }
        }
        Ok(q)
    }

    /// The resourceVersion parameter, empty when absent.
    pub(crate) fn rv(&self) -> &str {
        self.resource_version.as_deref().unwrap_or("")
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid value for {key}: {value:?} (want true or false)"
        ))),
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value for {key}: {value:?} (want a number)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::new(&crate::config::seldon_crds())
    }

    fn resource(path: &str) -> ResourcePath {
        match parse_path(&catalog(), path) {
            Ok(Route::Resource(p)) => p,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let c = catalog();
        let p = resource("/apis/mlops.seldon.io/v1alpha1/namespaces/ns1/models/m1/status");
        assert_eq!(c.get(p.id).plural, "models");
        assert_eq!(p.namespace.as_deref(), Some("ns1"));
        assert_eq!(p.name.as_deref(), Some("m1"));
        assert_eq!(p.subresource, Some(Subresource::Status));

        let all = resource("/apis/mlops.seldon.io/v1alpha1/models");
        assert_eq!((all.namespace, all.name), (None, None));

        let ns = resource("/api/v1/namespaces/ns1");
        assert_eq!(c.get(ns.id).plural, "namespaces");
        assert_eq!(ns.name.as_deref(), Some("ns1"));
        let ns_status = resource("/api/v1/namespaces/ns1/status");
        assert_eq!(ns_status.subresource, Some(Subresource::Status));
        let cms = resource("/api/v1/namespaces/ns1/configmaps");
        assert_eq!(c.get(cms.id).plural, "configmaps");
    }

    #[test]
    fn unknown_or_unserved_paths_are_404() {
        let c = catalog();
        for path in [
            "/apis/mlops.seldon.io/v1alpha1/namespaces/ns1/widgets",
            "/apis/mlops.seldon.io/v1alpha1/models/m1",
            "/api/v1/namespaces/ns1/configmaps/c1/status",
            "/apis/mlops.seldon.io/v1alpha1/namespaces/ns1/pipelines/p/scale",
            "/apis/nope.io/v1",
            "/api/v2/namespaces",
            "/api/v1/namespaces/ns1/configmaps/a/b/c",
            "/",
        ] {
            assert_eq!(parse_path(&c, path).map_err(|e| e.code), Err(404), "{path}");
        }
    }

    #[test]
    fn query_as_kube_sends_it() {
        let q = Query::parse(Some(
            "&watch=true&timeoutSeconds=290&labelSelector=a%3Db%2Cc%21%3Dd&allowWatchBookmarks=true&resourceVersion=12",
        ))
        .expect("parses");
        assert!(q.watch && q.allow_watch_bookmarks);
        assert_eq!(q.timeout, Some(Duration::from_secs(290)));
        assert_eq!(q.label_selector.as_deref(), Some("a=b,c!=d"));
        assert_eq!(q.rv(), "12");
        assert_eq!(
            Query::parse(Some("limit=abc")).map_err(|e| e.code),
            Err(400)
        );
        assert_eq!(Query::parse(Some("limit=0")).map(|q| q.limit), Ok(None));
    }
}
