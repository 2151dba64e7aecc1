//! The runtime's ServiceAccounts, Roles and RoleBindings: what the
//! scheduler, the model-server agents and hodometer may read in the
//! namespace (`docs/seldon-compat.md#server-workloads`).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use crate::owner::Owner;

/// The scheduler's, gateways' and dataflow engine's account.
pub const SCHEDULER_ACCOUNT: &str = "seldon-scheduler";
/// The model servers' account (the agent watches ConfigMaps and Secrets).
pub const SERVER_ACCOUNT: &str = "seldon-server";
/// Hodometer's account.
pub const HODOMETER_ACCOUNT: &str = "hodometer";

const READ: [&str; 3] = ["get", "list", "watch"];

/// (Role name, its rules, its RoleBinding's name, the ServiceAccount bound.)
fn roles() -> [(&'static str, Vec<PolicyRule>, &'static str, &'static str); 3] {
    [
        (
            "agent-role",
            vec![
                rule("", "configmaps", &READ),
                rule("", "secrets", &READ),
                rule("discovery.k8s.io", "endpointslices", &["list", "watch"]),
            ],
            "agent-rolebinding",
            SERVER_ACCOUNT,
        ),
        (
            "hodometer-role",
            vec![rule("", "secrets", &READ)],
            "hodometer-rolebinding",
            HODOMETER_ACCOUNT,
        ),
        (
            "seldon-scheduler-role",
            vec![rule("", "configmaps", &READ), rule("", "secrets", &READ)],
            "seldon-scheduler-rolebinding",
            SCHEDULER_ACCOUNT,
        ),
    ]
}

fn rule(group: &str, resource: &str, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

pub(super) fn service_accounts(owner: &Owner) -> Vec<ServiceAccount> {
    [HODOMETER_ACCOUNT, SCHEDULER_ACCOUNT, SERVER_ACCOUNT]
        .into_iter()
        .map(|name| ServiceAccount {
            metadata: owner.meta(name),
            ..ServiceAccount::default()
        })
        .collect()
}

pub(super) fn roles_and_bindings(owner: &Owner) -> (Vec<Role>, Vec<RoleBinding>) {
    roles()
        .into_iter()
        .map(|(role, rules, binding, account)| {
            (
                Role {
                    metadata: owner.meta(role),
                    rules: Some(rules),
                },
                RoleBinding {
                    metadata: owner.meta(binding),
                    role_ref: RoleRef {
                        api_group: Some("rbac.authorization.k8s.io".to_owned()),
                        kind: "Role".to_owned(),
                        name: role.to_owned(),
                    },
                    subjects: Some(vec![Subject {
                        kind: "ServiceAccount".to_owned(),
                        name: account.to_owned(),
                        namespace: Some(owner.namespace.clone()),
                        ..Subject::default()
                    }]),
                },
            )
        })
        .unzip()
}
