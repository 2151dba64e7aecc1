//! The built-in kinds the double serves, listed by hand: core/v1,
//! apps/v1 workloads, RBAC, leases, events.k8s.io events, and the review
//! kinds (TokenReview, SelfSubjectReview and the Subject, Local and Self
//! SubjectAccessReviews),
//! which are created and answered, never stored.

use super::{Review, ScalePaths};
use crate::catalog::ResourceType;

/// How a built-in kind is served.
#[derive(Clone, Copy)]
enum Serve {
    /// Stored objects; with a status subresource or not.
    Plain,
    Status,
    /// Status and scale subresources (apps/v1 workloads).
    Scaled,
    /// Created and answered, never stored.
    Answered(Review),
}

use Serve::{Answered, Plain, Scaled, Status};

const NAMESPACED: bool = true;
const CLUSTER: bool = false;

/// One built-in kind.
struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    serve: Serve,
}

const fn kind(
    (group, version): (&'static str, &'static str),
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    serve: Serve,
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
        serve,
    }
}

const CORE: (&str, &str) = ("", "v1");
const APPS: (&str, &str) = ("apps", "v1");
const RBAC: (&str, &str) = ("rbac.authorization.k8s.io", "v1");
const AUTHN: (&str, &str) = ("authentication.k8s.io", "v1");
const AUTHZ: (&str, &str) = ("authorization.k8s.io", "v1");

/// In discovery order.
const BUILTINS: &[Builtin] = &[
    kind(CORE, "Namespace", "namespaces", CLUSTER, &["ns"], Status),
    kind(CORE, "Event", "events", NAMESPACED, &["ev"], Plain),
    kind(CORE, "Service", "services", NAMESPACED, &["svc"], Status),
    kind(CORE, "ConfigMap", "configmaps", NAMESPACED, &["cm"], Plain),
    kind(CORE, "Secret", "secrets", NAMESPACED, &[], Plain),
    kind(CORE, "Pod", "pods", NAMESPACED, &["po"], Status),
    kind(
        CORE,
        "ServiceAccount",
        "serviceaccounts",
        NAMESPACED,
        &["sa"],
        Plain,
    ),
    kind(
        APPS,
        "StatefulSet",
        "statefulsets",
        NAMESPACED,
        &["sts"],
        Scaled,
    ),
    kind(
        APPS,
        "Deployment",
        "deployments",
        NAMESPACED,
        &["deploy"],
        Scaled,
    ),
    kind(RBAC, "Role", "roles", NAMESPACED, &[], Plain),
    kind(RBAC, "RoleBinding", "rolebindings", NAMESPACED, &[], Plain),
    kind(RBAC, "ClusterRole", "clusterroles", CLUSTER, &[], Plain),
    kind(
        RBAC,
        "ClusterRoleBinding",
        "clusterrolebindings",
        CLUSTER,
        &[],
        Plain,
    ),
    kind(
        ("coordination.k8s.io", "v1"),
        "Lease",
        "leases",
        NAMESPACED,
        &[],
        Plain,
    ),
    kind(
        ("events.k8s.io", "v1"),
        "Event",
        "events",
        NAMESPACED,
        &["ev"],
        Plain,
    ),
    kind(
        AUTHN,
        "TokenReview",
        "tokenreviews",
        CLUSTER,
        &[],
        Answered(Review::Token),
    ),
    kind(
        AUTHN,
        "SelfSubjectReview",
        "selfsubjectreviews",
        CLUSTER,
        &[],
        Answered(Review::SelfSubject),
    ),
    kind(
        AUTHZ,
        "SubjectAccessReview",
        "subjectaccessreviews",
        CLUSTER,
        &[],
        Answered(Review::SubjectAccess),
    ),
    kind(
        AUTHZ,
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        CLUSTER,
        &[],
        Answered(Review::SelfSubjectAccess),
    ),
    kind(
        AUTHZ,
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        NAMESPACED,
        &[],
        Answered(Review::LocalSubjectAccess),
    ),
];

/// Every built-in kind, in discovery order.
pub(super) fn all() -> impl Iterator<Item = ResourceType> {
    BUILTINS.iter().map(resource_type)
}

/// The kinds `kubectl get all` lists, as the real server categorises them.
fn categories(b: &Builtin) -> Vec<String> {
    let all = matches!(
        (b.group, b.kind),
        ("", "Pod" | "Service") | ("apps", "Deployment" | "StatefulSet")
    );
    if all { vec!["all".into()] } else { Vec::new() }
}

fn resource_type(b: &Builtin) -> ResourceType {
    ResourceType {
        group: b.group.into(),
        version: b.version.into(),
        kind: b.kind.into(),
        plural: b.plural.into(),
        singular: b.kind.to_ascii_lowercase(),
        namespaced: b.namespaced,
        short_names: b.short_names.iter().map(|s| (*s).into()).collect(),
        categories: categories(b),
        status: matches!(b.serve, Status | Scaled),
        // apps/v1 workloads: the Scale's selector is `.spec.selector`
        // rendered as a label selector string.
        scale: matches!(b.serve, Scaled).then(|| ScalePaths {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            label_selector: Some(".spec.selector".into()),
        }),
        custom: false,
        review: match b.serve {
            Answered(review) => Some(review),
            Plain | Status | Scaled => None,
        },
        printer_columns: Vec::new(),
        schema: None,
    }
}
