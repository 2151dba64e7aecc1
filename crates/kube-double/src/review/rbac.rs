//! The RBAC authorizer, as Kubernetes' evaluates a request: the
//! ClusterRoleBindings first, then the RoleBindings of the request's
//! namespace; a binding applies when one of its subjects is the user (a
//! `User` by name, a `Group` among the user's groups, a `ServiceAccount`
//! as `system:serviceaccount:{ns}:{name}`, its namespace defaulting to
//! the binding's), and allows when a rule of the role it names matches
//! the verb, API group, resource (`resource/subresource`, `*`,
//! `*/subresource`) and resource name, or for requests outside
//! resources, the verb and the URL (`*` and prefix `/path/*`).
//!
//! The answer's reason is worded as the real authorizer's: `RBAC:
//! allowed by RoleBinding "b/ns" of Role "r" to User "u"` when allowed;
//! when denied, empty, or the roles that bindings name but that do not
//! exist (`RBAC: clusterrole.rbac.authorization.k8s.io "r" not found`).
//! Members of `system:masters` are allowed before RBAC is asked, as the
//! real server's privileged-group authorizer does. Not evaluated:
//! ClusterRole `aggregationRule` (no controller aggregates roles here).

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

/// The group the real server allows everything.
const PRIVILEGED_GROUP: &str = "system:masters";

/// What a review asks about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    pub user: String,
    pub groups: Vec<String>,
    pub verb: String,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Resource {
        namespace: String,
        group: String,
        resource: String,
        subresource: String,
        name: String,
    },
    NonResource {
        path: String,
    },
}

impl Default for Target {
    fn default() -> Self {
        Target::NonResource {
            path: String::new(),
        }
    }
}

/// The RBAC objects a decision reads: every ClusterRole and
/// ClusterRoleBinding, and the Roles and RoleBindings of the request's
/// namespace. Objects that do not parse as their kind are `broken`.
#[derive(Debug, Default)]
pub(crate) struct Policy {
    pub cluster_roles: Vec<ClusterRole>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub broken: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub reason: String,
}

impl Policy {
    pub(crate) fn decide(&self, request: &Request) -> Decision {
        if request.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        let mut errors = self.broken.clone();
        let bindings = self.cluster_role_bindings.iter().map(|b| {
            (
                b.metadata.name.as_deref().unwrap_or(""),
                None,
                &b.role_ref,
                &b.subjects,
            )
        });
        let namespaced = match &request.target {
            Target::Resource { namespace, .. } if !namespace.is_empty() => Some(
                self.role_bindings
                    .iter()
                    .filter(move |b| b.metadata.namespace.as_deref() == Some(namespace.as_str())),
            ),
            _ => None,
        };
        let bindings = bindings.chain(namespaced.into_iter().flatten().map(|b| {
            (
                b.metadata.name.as_deref().unwrap_or(""),
                b.metadata.namespace.as_deref(),
                &b.role_ref,
                &b.subjects,
            )
        }));
        for (name, namespace, role_ref, subjects) in bindings {
            let Some(subject) = subjects
                .iter()
                .flatten()
                .find(|s| applies_to(request, s, namespace.unwrap_or("")))
            else {
                continue;
            };
            let rules = match self.rules_of(role_ref, namespace) {
                Ok(rules) => rules,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            if rules.iter().any(|rule| allows(request, rule)) {
                let binding = match namespace {
                    Some(ns) => format!("RoleBinding \"{name}/{ns}\""),
                    None => format!("ClusterRoleBinding \"{name}\""),
                };
                return Decision {
                    allowed: true,
                    reason: format!(
                        "RBAC: allowed by {binding} of {} \"{}\" to {}",
                        role_ref.kind,
                        role_ref.name,
                        describe(subject, namespace.unwrap_or(""))
                    ),
                };
            }
        }
        let reason = match errors.as_slice() {
            [] => String::new(),
            [one] => format!("RBAC: {one}"),
            many => format!("RBAC: [{}]", many.join(", ")),
        };
        Decision {
            allowed: false,
            reason,
        }
    }

    /// The rules of the role a binding names (a Role in the binding's
    /// namespace, or a ClusterRole).
    fn rules_of(
        &self,
        role_ref: &RoleRef,
        namespace: Option<&str>,
    ) -> Result<&[PolicyRule], String> {
        let name = Some(role_ref.name.as_str());
        let found = match (role_ref.kind.as_str(), namespace) {
            ("ClusterRole", _) => self
                .cluster_roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == name)
                .map(|r| r.rules.as_deref()),
            ("Role", Some(ns)) => self
                .roles
                .iter()
                .find(|r| {
                    r.metadata.name.as_deref() == name
                        && r.metadata.namespace.as_deref() == Some(ns)
                })
                .map(|r| r.rules.as_deref()),
            (kind, _) => return Err(format!("unsupported role reference kind: {kind:?}")),
        };
        let resource = role_ref.kind.to_ascii_lowercase();
        found.map(Option::unwrap_or_default).ok_or_else(|| {
            format!(
                "{resource}.rbac.authorization.k8s.io \"{}\" not found",
                role_ref.name
            )
        })
    }
}

/// A ServiceAccount subject's namespace: its own, else its binding's.
fn service_account_namespace<'a>(subject: &'a Subject, binding_namespace: &'a str) -> &'a str {
    subject
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
        .unwrap_or(binding_namespace)
}

fn applies_to(request: &Request, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => request.user == subject.name,
        "Group" => request.groups.contains(&subject.name),
        "ServiceAccount" => {
            let namespace = service_account_namespace(subject, binding_namespace);
            !namespace.is_empty()
                && request.user == format!("system:serviceaccount:{namespace}:{}", subject.name)
        }
        _ => false,
    }
}

fn describe(subject: &Subject, binding_namespace: &str) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = service_account_namespace(subject, binding_namespace);
            format!("ServiceAccount \"{}/{namespace}\"", subject.name)
        }
        kind => format!("{kind} \"{}\"", subject.name),
    }
}

fn has(list: Option<&Vec<String>>, wanted: &str) -> bool {
    list.is_some_and(|l| l.iter().any(|x| x == "*" || x == wanted))
}

fn allows(request: &Request, rule: &PolicyRule) -> bool {
    if !rule.verbs.iter().any(|v| v == "*" || *v == request.verb) {
        return false;
    }
    match &request.target {
        Target::Resource {
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            has(rule.api_groups.as_ref(), group)
                && resource_matches(rule, resource, subresource)
                && rule
                    .resource_names
                    .as_ref()
                    .is_none_or(|names| names.is_empty() || names.contains(name))
        }
        Target::NonResource { path } => rule.non_resource_urls.iter().flatten().any(|url| {
            url == "*"
                || url == path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        }),
    }
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    let combined = if subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{subresource}")
    };
    rule.resources.iter().flatten().any(|r| {
        r == "*"
            || *r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("parses")
    }

    fn ask(
        user: &str,
        groups: &[&str],
        verb: &str,
        ns: &str,
        resource: &str,
        name: &str,
    ) -> Request {
        Request {
            user: user.into(),
            groups: groups.iter().map(|g| (*g).into()).collect(),
            verb: verb.into(),
            target: Target::Resource {
                namespace: ns.into(),
                group: "mlops.seldon.io".into(),
                resource: resource.into(),
                subresource: String::new(),
                name: name.into(),
            },
        }
    }

    fn policy() -> Policy {
        Policy {
            roles: vec![parse(
                json!({"metadata": {"name": "reader", "namespace": "a"}, "rules": [
                    {"apiGroups": ["mlops.seldon.io"], "resources": ["models"], "verbs": ["get", "list"]},
                    {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["*"], "resourceNames": ["m1"]},
                ]}),
            )],
            role_bindings: vec![parse(json!({"metadata": {"name": "rb", "namespace": "a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "bot"}, {"kind": "Group", "name": "team"}]}))],
            cluster_role_bindings: vec![parse(json!({"metadata": {"name": "dangling"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "gone"},
                "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]}))],
            ..Policy::default()
        }
    }

    #[test]
    fn bindings_subjects_and_rules() {
        let p = policy();
        let bot = "system:serviceaccount:a:bot";
        let yes = p.decide(&ask(bot, &[], "get", "a", "models", "m1"));
        assert_eq!(
            yes,
            Decision {
                allowed: true,
                reason: "RBAC: allowed by RoleBinding \"rb/a\" of Role \"reader\" to ServiceAccount \"bot/a\"".into()
            }
        );
        assert!(
            !p.decide(&ask(bot, &[], "delete", "a", "models", "m1"))
                .allowed
        );
        assert!(!p.decide(&ask(bot, &[], "get", "b", "models", "m1")).allowed);
        assert!(
            p.decide(&ask("carol", &["team"], "list", "a", "models", ""))
                .allowed
        );
        let mut status = ask("carol", &["team"], "patch", "a", "models", "m1");
        if let Target::Resource { subresource, .. } = &mut status.target {
            *subresource = "status".into();
        }
        assert!(p.decide(&status).allowed);
        if let Target::Resource { name, .. } = &mut status.target {
            *name = "m2".into();
        }
        assert!(!p.decide(&status).allowed);
        let alice = p.decide(&ask("alice", &[], "get", "a", "models", "m1"));
        assert_eq!(
            alice.reason,
            "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"
        );
        assert!(
            p.decide(&ask("root", &["system:masters"], "delete", "", "x", ""))
                .allowed
        );
    }

    #[test]
    fn non_resource_urls() {
        let p = Policy {
            cluster_roles: vec![parse(json!({"metadata": {"name": "health"}, "rules": [
                {"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]}]}))],
            cluster_role_bindings: vec![parse(json!({"metadata": {"name": "health"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "health"},
                "subjects": [{"kind": "Group", "name": "system:authenticated"}]}))],
            ..Policy::default()
        };
        let get = |path: &str| Request {
            user: "u".into(),
            groups: vec!["system:authenticated".into()],
            verb: "get".into(),
            target: Target::NonResource { path: path.into() },
        };
        assert!(p.decide(&get("/healthz")).allowed);
        assert!(p.decide(&get("/metrics/cadvisor")).allowed);
        assert!(!p.decide(&get("/readyz")).allowed);
    }
}
