//! What kubectl relies on, through the real `kube::Client` over HTTP: the
//! Table format with a CRD's printer columns and the built-in columns,
//! events.k8s.io Events seen as core/v1 Events with kubectl describe's
//! field selector, Namespaces created by writing in them, OpenAPI v3 with
//! schemas, and strict field validation.

use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Namespace};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use switchyard_api::{Model, ModelSpec};

use super::kube_double::{api_code, start};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

async fn get(client: &Client, path: &str, accept: &str) -> Result<Value, kube::Error> {
    let request = http::Request::get(path)
        .header("accept", accept)
        .body(Vec::new())
        .expect("request");
    client.request::<Value>(request).await
}

fn column_names(table: &Value) -> Vec<String> {
    table["columnDefinitions"]
        .as_array()
        .expect("column definitions")
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn model(name: &str, replicas: i32) -> Model {
    let mut model = Model::new(
        name,
        ModelSpec {
            storage_uri: "gs://models/iris".into(),
            ..ModelSpec::default()
        },
    );
    model.spec.replicas = Some(replicas);
    model
}

#[tokio::test]
async fn tables_carry_printer_columns_for_lists_and_gets() {
    let (_double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "fraud");
    models
        .create(&PostParams::default(), &model("iris", 3))
        .await
        .expect("created");
    let status = json!({"status": {"availableReplicas": 3, "conditions": [
        {"type": "ModelReady", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    models
        .patch_status("iris", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status written");

    let list = get(
        &client,
        "/apis/mlops.seldon.io/v1alpha1/models?limit=500",
        TABLE,
    )
    .await
    .expect("table");
    assert_eq!(list["kind"], "Table");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    let names = column_names(&list);
    let at = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name} in {names:?}"))
    };
    let row = &list["rows"][0];
    assert_eq!(row["cells"][at("Name")], "iris");
    assert_eq!(row["cells"][at("Ready")], "True");
    assert_eq!(row["cells"][at("Desired Replicas")], 3);
    assert_eq!(row["cells"][at("Available Replicas")], 3);
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["namespace"], "fraud");

    let one = get(
        &client,
        "/apis/mlops.seldon.io/v1alpha1/namespaces/fraud/models/iris",
        TABLE,
    )
    .await
    .expect("table");
    assert_eq!(one["rows"].as_array().map(Vec::len), Some(1));
    let beta = get(
        &client,
        "/apis/mlops.seldon.io/v1alpha1/namespaces/fraud/models/iris?includeObject=None",
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    .await
    .expect("table");
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert!(beta["rows"][0].get("object").is_none());
    // Without the Table in Accept, the object itself.
    let plain = get(
        &client,
        "/apis/mlops.seldon.io/v1alpha1/namespaces/fraud/models/iris",
        "application/json",
    )
    .await
    .expect("object");
    assert_eq!(plain["kind"], "Model");

    // A watch asked for as a Table sends one-row Tables (one model: one
    // line before the watch times out).
    let event = get(
        &client,
        "/apis/mlops.seldon.io/v1alpha1/models?watch=true&timeoutSeconds=1",
        TABLE,
    )
    .await
    .expect("one watch event");
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["kind"], "Table");
    assert_eq!(event["object"]["rows"][0]["cells"][0], "iris");

    // Built-in kinds get the server's columns.
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}))
            .expect("parses");
    Api::<ConfigMap>::namespaced(client.clone(), "fraud")
        .create(&PostParams::default(), &cm)
        .await
        .expect("created");
    let cms = get(&client, "/api/v1/namespaces/fraud/configmaps", TABLE)
        .await
        .expect("table");
    assert_eq!(column_names(&cms), ["Name", "Data", "Age"]);
    assert_eq!(cms["rows"][0]["cells"][1], 2);
}

#[tokio::test]
async fn events_are_also_core_events_and_namespaces_appear() {
    let (_double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "fraud");
    let iris = models
        .create(&PostParams::default(), &model("iris", 1))
        .await
        .expect("created");
    // Writing in a namespace made it.
    let fraud = Api::<Namespace>::all(client.clone())
        .get("fraud")
        .await
        .expect("namespace fraud");
    assert_eq!(
        fraud.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );

    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "iris.1"},
        "regarding": {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "name": "iris", "namespace": "fraud", "uid": iris.uid()},
        "reason": "Loaded", "note": "loaded on mlserver", "type": "Normal", "action": "Load",
        "reportingController": "switchyard", "reportingInstance": "switchyard-0",
        "eventTime": "2026-01-01T00:00:00.000000Z",
    }))
    .expect("parses");
    let events: Api<Event> = Api::namespaced(client.clone(), "fraud");
    events
        .create(&PostParams::default(), &event)
        .await
        .expect("recorded");
    let series = json!({"series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}});
    events
        .patch("iris.1", &PatchParams::default(), &Patch::Merge(&series))
        .await
        .expect("patched");

    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "fraud");
    let selector = format!(
        "involvedObject.name=iris,involvedObject.namespace=fraud,involvedObject.kind=Model,involvedObject.uid={}",
        iris.uid().unwrap_or_default()
    );
    let described = core
        .list(&ListParams::default().fields(&selector))
        .await
        .expect("listed");
    assert_eq!(described.items.len(), 1);
    let seen = &described.items[0];
    assert_eq!(seen.reason.as_deref(), Some("Loaded"));
    assert_eq!(seen.message.as_deref(), Some("loaded on mlserver"));
    assert_eq!(seen.type_.as_deref(), Some("Normal"));
    assert_eq!(seen.reporting_component.as_deref(), Some("switchyard"));
    assert_eq!(seen.series.as_ref().and_then(|s| s.count), Some(2));
    assert_eq!(seen.uid(), events.get("iris.1").await.expect("got").uid());
    let other = core
        .list(&ListParams::default().fields("involvedObject.name=other"))
        .await
        .expect("listed");
    assert!(other.items.is_empty());

    let table = get(&client, "/api/v1/events", TABLE).await.expect("table");
    assert_eq!(
        &column_names(&table)[..4],
        ["Last Seen", "Type", "Reason", "Object"]
    );
    assert_eq!(table["rows"][0]["cells"][3], "model/iris");

    events
        .delete("iris.1", &Default::default())
        .await
        .expect("deleted");
    assert!(
        core.list(&ListParams::default())
            .await
            .expect("listed")
            .items
            .is_empty()
    );
    // A namespace nothing was written in does not exist.
    assert_eq!(
        api_code(Api::<Namespace>::all(client).get("nowhere").await),
        404
    );
}

#[tokio::test]
async fn openapi_documents_and_strict_field_validation() {
    let (_double, client) = start().await;
    let root = get(&client, "/openapi/v3", "application/json")
        .await
        .expect("root");
    let url = root["paths"]["apis/mlops.seldon.io/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .expect("listed")
        .to_string();
    let seldon = get(&client, &url, "application/json")
        .await
        .expect("document");
    let model = &seldon["components"]["schemas"]["io.seldon.mlops.v1alpha1.Model"];
    assert_eq!(model["x-kubernetes-group-version-kind"][0]["kind"], "Model");
    assert!(model["properties"]["spec"]["properties"]["storageUri"].is_object());

    let post = |body: Value, validation: &str| {
        let client = client.clone();
        let path = format!(
            "/apis/mlops.seldon.io/v1alpha1/namespaces/ns/models?fieldValidation={validation}"
        );
        async move {
            let request = http::Request::post(path)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).expect("json"))
                .expect("request");
            client.request::<Value>(request).await
        }
    };
    let typo = |name: &str| {
        json!({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
        "metadata": {"name": name}, "spec": {"storageURI": "gs://x", "storageUri": "gs://x"}})
    };
    match post(typo("a"), "Strict").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert_eq!(
                status.message,
                "Model in version \"v1alpha1\" cannot be handled as a Model: strict decoding error: unknown field \"spec.storageURI\""
            );
        }
        other => panic!("expected 400, got {other:?}"),
    }
    post(typo("b"), "Ignore").await.expect("ignored");
    assert_eq!(api_code(post(typo("c"), "Sloppy").await), 400);

    let models: Api<Model> = Api::namespaced(client.clone(), "ns");
    let strict = PatchParams::apply("test").validation_strict();
    let applied = models.patch("d", &strict, &Patch::Apply(json!({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "spec": {"storageUri": "gs://x", "replica": 2}}))).await;
    assert_eq!(api_code(applied), 400);
    let merge = PatchParams::default().validation_strict();
    let patched = models
        .patch("b", &merge, &Patch::Merge(json!({"spec": {"replica": 2}})))
        .await;
    assert_eq!(api_code(patched), 422);
    models
        .patch("b", &merge, &Patch::Merge(json!({"spec": {"replicas": 2}})))
        .await
        .expect("declared");
}
