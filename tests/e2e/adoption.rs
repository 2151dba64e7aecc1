//! Taking over from Seldon's operator restarts no pod: a namespace whose
//! control plane and Server Seldon's operator built (the objects as it
//! leaves them, `crates/workloads/fixtures/seldon-built/`, owned by the
//! custom resources) is adopted by switchyard without any change to a pod
//! template, so no StatefulSet or Deployment rolls.

use std::collections::BTreeMap;
use std::path::Path;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::Value;
use switchyard_api::{Model, SeldonRuntime, Server};
use switchyard_kube_double::ApiDouble;
use switchyard_testkit::eventually;

use crate::common::{Operator, install_seldon_templates};

const NS: &str = "fraud";

fn fixture(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/workloads/fixtures");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

fn api_for(client: &Client, doc: &Value) -> Api<DynamicObject> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk(&gvk(api_version, kind)),
    )
}

/// The pod template of every workload of the namespace, by kind/name.
async fn templates(client: &Client) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (api_version, kind) in [("apps/v1", "StatefulSet"), ("apps/v1", "Deployment")] {
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            NS,
            &ApiResource::from_gvk(&gvk(api_version, kind)),
        );
        for obj in api.list(&Default::default()).await.unwrap().items {
            out.insert(
                format!("{kind}/{}", obj.name_any()),
                obj.data["spec"]["template"].clone(),
            );
        }
    }
    out
}

#[tokio::test]
async fn adopting_what_seldons_operator_built_changes_no_pod_template() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = double.client().unwrap();
    install_seldon_templates(&client).await;

    // The custom resources, as the user wrote them (new uids).
    let runtime: SeldonRuntime =
        serde_saphyr::from_str(&fixture("seldonruntime-fraud.yaml")).unwrap();
    let runtime = Api::<SeldonRuntime>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &runtime)
        .await
        .unwrap();
    let server: Server = serde_saphyr::from_str(&fixture("server-mlserver.yaml")).unwrap();
    let server = Api::<Server>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &server)
        .await
        .unwrap();
    // The namespace's one Model (the model gateway's replica cap).
    let model: Model = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "iris", "namespace": NS},
        "spec": {"storageUri": "gs://models/iris"}
    }))
    .unwrap();
    Api::<Model>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &model)
        .await
        .unwrap();
    let uids = [
        ("SeldonRuntime", runtime.uid().unwrap()),
        ("Server", server.uid().unwrap()),
    ];

    // What Seldon's operator left, owned by them.
    let mut created = 0;
    for file in [
        "seldon-built/runtime-fraud.yaml",
        "seldon-built/server-mlserver.yaml",
    ] {
        let docs: Vec<Value> = serde_saphyr::from_multiple(&fixture(file)).unwrap();
        for mut doc in docs {
            for owner in doc["metadata"]["ownerReferences"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                let kind = owner["kind"].as_str().unwrap_or_default().to_owned();
                if let Some((_, uid)) = uids.iter().find(|(k, _)| *k == kind) {
                    owner["uid"] = Value::String(uid.clone());
                }
            }
            let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
            api_for(&client, &doc)
                .create(&PostParams::default(), &obj)
                .await
                .unwrap();
            created += 1;
        }
    }
    assert!(
        created > 20,
        "the fixtures hold the whole namespace ({created})"
    );
    let before = templates(&client).await;
    assert!(before.len() >= 6, "{before:#?}");

    let op = Operator::start_on(double, &[NS], |_| {}).await;
    let double = &op.double;

    // switchyard applies every workload (taking its fields over) ...
    let workloads = before.len() as u64;
    eventually("every workload applied by switchyard", async || {
        let stats = double.stats();
        let applied = |resource: &str| {
            let o = stats.applies(resource, "switchyard");
            o.changed + o.unchanged
        };
        applied("statefulsets") + applied("deployments") >= workloads
    })
    .await;
    // ... and no pod template changed: nothing rolls.
    let after = templates(&client).await;
    for (name, template) in &before {
        assert_eq!(
            after.get(name),
            Some(template),
            "{name}: adoption changed the pod template"
        );
    }
    assert_eq!(after.len(), before.len(), "no workload added or removed");
    op.stop().await;
}
