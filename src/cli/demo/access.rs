//! Who may call the demo's gateway: authentication is on, as in a
//! Kubernetes install (`--gateway-auth=kubernetes`), with the API double
//! answering TokenReview and SubjectAccessReview. Two tokens are
//! registered: an administrator's (the demo's own traffic uses it) and
//! the ServiceAccount `fraud/ci`, bound by a Role in `fraud` only, as a
//! platform team would grant a team (README, docs/access.md).

use anyhow::Context as _;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use switchyard_kube_double::{ApiDoubleHandle, TokenUser};

/// The administrator's token (group `system:masters`).
pub const ADMIN_TOKEN: &str = "demo-admin-token";
/// The token of ServiceAccount `fraud/ci`.
pub const TEAM_TOKEN: &str = "demo-fraud-ci-token";
/// The namespace `TEAM_TOKEN` may act in.
pub const TEAM_NAMESPACE: &str = "fraud";

/// Registers both tokens with the API double and grants `fraud/ci` the
/// deployer Role in its namespace.
pub async fn install(double: &ApiDoubleHandle, client: &Client) -> anyhow::Result<()> {
    let mut admin = TokenUser::new("demo-admin");
    admin.groups = vec!["system:masters".into()];
    double.register_token(ADMIN_TOKEN, admin);
    double.register_service_account_token(TEAM_TOKEN, TEAM_NAMESPACE, "ci");
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        namespace: Some(TEAM_NAMESPACE.into()),
        ..Default::default()
    };
    let role = Role {
        metadata: meta("seldon-deployer"),
        rules: Some(vec![
            rule(
                &[
                    "models",
                    "pipelines",
                    "experiments",
                    "servers",
                    "seldonruntimes",
                ],
                &["get", "list", "watch"],
            ),
            rule(&["models", "pipelines"], &["create", "update", "delete"]),
        ]),
    };
    let binding = RoleBinding {
        metadata: meta("ci-deploys"),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: "seldon-deployer".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "ci".into(),
            namespace: Some(TEAM_NAMESPACE.into()),
            ..Default::default()
        }]),
    };
    let pp = PostParams::default();
    Api::<Role>::namespaced(client.clone(), TEAM_NAMESPACE)
        .create(&pp, &role)
        .await
        .context("creating the demo Role")?;
    Api::<RoleBinding>::namespaced(client.clone(), TEAM_NAMESPACE)
        .create(&pp, &binding)
        .await
        .context("creating the demo RoleBinding")?;
    Ok(())
}

fn rule(resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec!["mlops.seldon.io".into()]),
        resources: Some(resources.iter().map(|r| (*r).into()).collect()),
        verbs: verbs.iter().map(|v| (*v).into()).collect(),
        ..Default::default()
    }
}
