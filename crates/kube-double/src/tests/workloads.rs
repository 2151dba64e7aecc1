//! The kinds a SeldonRuntime and a Server become, through the real
//! `kube::Client`: ServiceAccounts, Roles and RoleBindings served and
//! watched; StatefulSets and Deployments whose status a test writes as
//! their controllers and the kubelet would, and whose scale subresource
//! an autoscaler uses (as the Server CRD's); what the real server refuses
//! (selectors, immutable fields, roleRef).

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use switchyard_api::{Server, ServerSpec};
use switchyard_testkit::within;

use super::kube_double::{api_code, generation, start};

fn apply() -> PatchParams {
    PatchParams::apply("switchyard").force()
}

fn workload(kind: &str, name: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "x:1"}]},
            },
        },
    })
}

#[tokio::test]
async fn rbac_and_service_accounts_are_served_and_watched() {
    let (double, client) = start().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery runs");
    let found = |kind: &str| {
        discovery
            .groups()
            .flat_map(|g| g.recommended_resources())
            .find(|(r, _)| r.kind == kind)
            .map(|(r, _)| (r.api_version, r.plural))
    };
    assert_eq!(
        found("Role"),
        Some(("rbac.authorization.k8s.io/v1".into(), "roles".into()))
    );
    assert_eq!(
        found("RoleBinding"),
        Some(("rbac.authorization.k8s.io/v1".into(), "rolebindings".into()))
    );
    assert_eq!(
        found("ServiceAccount"),
        Some(("v1".into(), "serviceaccounts".into()))
    );

    let roles: Api<Role> = Api::namespaced(client.clone(), "fraud");
    let (tx, mut events) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(async move {
        let mut stream = watcher(roles, watcher::Config::default()).boxed();
        while let Ok(Some(event)) = stream.try_next().await {
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    Api::<ServiceAccount>::namespaced(client.clone(), "fraud")
        .patch(
            "seldon-scheduler",
            &apply(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "seldon-scheduler"}})),
        )
        .await
        .expect("applies a ServiceAccount");
    let role = Api::<Role>::namespaced(client.clone(), "fraud")
        .patch(
            "seldon-scheduler-role",
            &apply(),
            &Patch::Apply(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "seldon-scheduler-role"},
                "rules": [{"apiGroups": ["mlops.seldon.io"], "resources": ["models"], "verbs": ["get", "list", "watch"]}],
            })),
        )
        .await
        .expect("applies a Role");
    assert_eq!(role.rules.map(|r| r.len()), Some(1));
    assert!(
        role.metadata.generation.is_none(),
        "only some kinds have a generation"
    );
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), "fraud");
    let binding = |role: &str| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "seldon-scheduler-rolebinding"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "seldon-scheduler", "namespace": "fraud"}],
        })
    };
    bindings
        .patch(
            "seldon-scheduler-rolebinding",
            &apply(),
            &Patch::Apply(binding("seldon-scheduler-role")),
        )
        .await
        .expect("applies a RoleBinding");
    // roleRef is immutable, as on a real server.
    let changed = bindings
        .patch(
            "seldon-scheduler-rolebinding",
            &apply(),
            &Patch::Apply(binding("other")),
        )
        .await;
    assert_eq!(api_code(changed), 422);

    loop {
        match within("the Role's event", events.recv()).await {
            Some(watcher::Event::Apply(r) | watcher::Event::InitApply(r)) => {
                assert_eq!(r.name_any(), "seldon-scheduler-role");
                break;
            }
            Some(_) => {}
            None => panic!("the watcher ended"),
        }
    }
    task.abort();
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn statefulset_status_is_written_through_its_subresource() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "fraud");
    let created = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(workload("StatefulSet", "mlserver", 2)),
        )
        .await
        .expect("applies");
    assert!(created.status.is_none());
    // The StatefulSet controller and kubelet, played by the test.
    let status = api
        .patch_status(
            "mlserver",
            &PatchParams {
                field_manager: Some("kube-controller-manager".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"status": {
                "observedGeneration": 1,
                "replicas": 2,
                "readyReplicas": 1,
            }})),
        )
        .await
        .expect("writes status");
    let s = status.status.clone().expect("has status");
    assert_eq!(
        (s.observed_generation, s.replicas, s.ready_replicas),
        (Some(1), 2, Some(1))
    );
    assert_eq!(generation(&status), 1, "status writes keep the generation");
    let entry = status
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|e| e.manager.as_deref() == Some("kube-controller-manager"))
        .expect("the status writer's entry");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    // Status in a main-resource write is ignored; spec in a status write too.
    let main = api
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 9}})),
        )
        .await
        .expect("patches");
    assert_eq!(main.status.and_then(|s| s.ready_replicas), Some(1));
    let ready = api
        .patch_status(
            "mlserver",
            &PatchParams::apply("demo-kubelet").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "mlserver"},
                "spec": {"replicas": 7},
                "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2},
            })),
        )
        .await
        .expect("applies status");
    assert_eq!(
        ready.status.as_ref().and_then(|s| s.ready_replicas),
        Some(2)
    );
    assert_eq!(ready.spec.replicas, Some(2));
    // The operator's next apply of the same intent leaves status alone.
    let reapplied = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(workload("StatefulSet", "mlserver", 2)),
        )
        .await
        .expect("re-applies");
    assert_eq!(reapplied.resource_version(), ready.resource_version());

    // The scale subresource, as an autoscaler uses it.
    let scale = api.get_scale("mlserver").await.expect("gets the scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));
    let scale_status = scale.status.expect("scale status");
    assert_eq!(scale_status.replicas, 2);
    assert_eq!(scale_status.selector.as_deref(), Some("app=mlserver"));
    let scaled = api
        .patch_scale(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scales");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(3));
    let after = api.get("mlserver").await.expect("gets");
    assert_eq!(generation(&after), 2);
    assert_eq!(after.spec.replicas, Some(3));
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn deployment_status_and_scale() {
    let (double, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "fraud");
    let mut deployment = workload("Deployment", "seldon-envoy", 1);
    if let Some(spec) = deployment["spec"].as_object_mut() {
        spec.remove("serviceName");
    }
    api.patch("seldon-envoy", &apply(), &Patch::Apply(&deployment))
        .await
        .expect("applies");
    let status = api
        .patch_status(
            "seldon-envoy",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": 1,
                "replicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}],
            }})),
        )
        .await
        .expect("writes status");
    assert_eq!(status.status.and_then(|s| s.available_replicas), Some(1));
    api.patch_scale(
        "seldon-envoy",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .expect("scales");
    assert_eq!(
        api.get("seldon-envoy").await.expect("gets").spec.replicas,
        Some(2)
    );
    // The selector of a Deployment is immutable.
    let mut relabelled = deployment.clone();
    relabelled["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    relabelled["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    assert_eq!(
        api_code(
            api.patch("seldon-envoy", &apply(), &Patch::Apply(relabelled))
                .await
        ),
        422
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn workloads_are_validated_as_a_real_server_does() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "fraud");
    let mut mismatched = workload("StatefulSet", "mlserver", 1);
    mismatched["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    assert_eq!(
        api_code(
            api.patch("mlserver", &apply(), &Patch::Apply(mismatched))
                .await
        ),
        422
    );
    api.patch(
        "mlserver",
        &apply(),
        &Patch::Apply(workload("StatefulSet", "mlserver", 1)),
    )
    .await
    .expect("applies");
    let mut renamed = workload("StatefulSet", "mlserver", 1);
    renamed["spec"]["serviceName"] = json!("other");
    let refused = api
        .patch("mlserver", &apply(), &Patch::Apply(renamed))
        .await;
    match refused {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(status.message.contains("updates to statefulset spec"));
        }
        other => panic!("expected 422, got {other:?}"),
    }
    assert_eq!(
        api.list(&ListParams::default())
            .await
            .expect("lists")
            .items
            .len(),
        1
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn server_scale_subresource() {
    let (double, client) = start().await;
    let servers: Api<Server> = Api::namespaced(client, "fraud");
    let mut server = Server::new(
        "mlserver",
        ServerSpec {
            server_config: "mlserver".into(),
            ..ServerSpec::default()
        },
    );
    server.spec.replicas = Some(1);
    servers
        .create(&PostParams::default(), &server)
        .await
        .expect("creates");
    servers
        .patch_status(
            "mlserver",
            &PatchParams::apply("switchyard-status").force(),
            &Patch::Apply(json!({
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Server",
                "metadata": {"name": "mlserver"},
                "status": {"replicas": 1, "loadedModels": 0, "selector": "seldon-server-name=mlserver"},
            })),
        )
        .await
        .expect("writes status");
    let scale = servers.get_scale("mlserver").await.expect("gets the scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    let status = scale.status.expect("scale status");
    assert_eq!(
        (status.replicas, status.selector.as_deref()),
        (1, Some("seldon-server-name=mlserver"))
    );
    let scaled = servers
        .patch_scale(
            "mlserver",
            &PatchParams {
                field_manager: Some("hpa".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("scales");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let after = servers.get("mlserver").await.expect("gets");
    assert_eq!(after.spec.replicas, Some(4));
    assert_eq!(generation(&after), 2);
    assert!(
        after
            .meta()
            .managed_fields
            .iter()
            .flatten()
            .any(|e| e.manager.as_deref() == Some("hpa")
                && e.subresource.as_deref() == Some("scale"))
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn strategic_merge_patches_merge_containers_by_name() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "fraud");
    let mut sts = workload("StatefulSet", "mlserver", 1);
    sts["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "agent", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "proxy", "image": "p:1"},
    ]);
    api.patch("mlserver", &apply(), &Patch::Apply(&sts))
        .await
        .expect("applies");
    // As `kubectl set image` or `kubectl edit` send it.
    let patched = api
        .patch(
            "mlserver",
            &PatchParams {
                field_manager: Some("kubectl-set".into()),
                ..PatchParams::default()
            },
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "agent", "image": "a:2"},
            ]}}}})),
        )
        .await
        .expect("patches");
    let containers: Vec<(String, Option<String>, usize)> = patched
        .spec
        .template
        .spec
        .as_ref()
        .map(|p| {
            p.containers
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.image.clone(),
                        c.env.iter().flatten().count(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        containers,
        [
            ("agent".to_string(), Some("a:2".to_string()), 1),
            ("proxy".to_string(), Some("p:1".to_string()), 0),
        ]
    );
    double.shutdown().await.expect("stops");
}
