//! A manifest written the way Seldon Core v2's documentation and samples
//! write them (one multi-document file: a Model with `storageUri`,
//! `requirements` and `memory`, a Pipeline with `steps` and `output`, an
//! Experiment with `candidates` and `mirror`, a Server naming its
//! `serverConfig`, a SeldonRuntime with `seldonConfig` and `overrides`)
//! deserializes into our types unchanged, including the status Seldon's Go
//! operator writes, and fields we do not know are ignored.

use crate::pipeline::JoinType;
use crate::status::ConditionStatus;
use crate::{Experiment, Model, Pipeline, SeldonRuntime, Server};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::Value;

/// Written by us in the style of Seldon's samples; the `unknown*` and
/// `futureField` entries stand for fields of a newer Seldon.
const SAMPLES: &str = r#"
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: iris
  namespace: seldon-mesh
spec:
  storageUri: "gs://example-models/mlserver/iris-sklearn"
  requirements:
  - sklearn
  memory: 100Ki
  futureField: {enabled: true}
status:
  availableReplicas: 1
  replicas: 1
  selector: server=mlserver
  modelgwReady: "ModelAvailable(1/1 ready)"
  conditions:
  - lastTransitionTime: "2025-02-11T09:14:03Z"
    status: "True"
    type: ModelReady
  - lastTransitionTime: "2025-02-11T09:14:03Z"
    status: "True"
    type: Ready
  - lastTransitionTime: "2025-02-11T09:13:58Z"
    severity: Info
    status: "True"
    type: ModelGwReady
    reason: ModelAvailable
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Pipeline
metadata:
  name: chain
  namespace: seldon-mesh
spec:
  steps:
    - name: tfsimple1
    - name: tfsimple2
      inputs:
      - tfsimple1
      tensorMap:
        tfsimple1.outputs.OUTPUT0: INPUT0
        tfsimple1.outputs.OUTPUT1: INPUT1
  output:
    steps:
    - tfsimple2
  unknownPipelineField: 3
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Experiment
metadata:
  name: iris-ab
  namespace: seldon-mesh
spec:
  default: iris
  candidates:
  - name: iris
    weight: 50
  - name: iris2
    weight: 50
  mirror:
    name: iris3
    percent: 100
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Server
metadata:
  name: mlserver-custom
  namespace: seldon-mesh
spec:
  serverConfig: mlserver
  replicas: 2
  podSpec:
    containers:
    - name: mlserver
      resources:
        requests:
          memory: 3Gi
status:
  loadedModels: 4
  replicas: 2
  selector: seldon-server-name=mlserver-custom
  conditions:
  - lastTransitionTime: "2025-02-11T09:10:00Z"
    status: "True"
    type: Ready
  - lastTransitionTime: "2025-02-11T09:10:00Z"
    status: "True"
    type: StatefulSetReady
---
apiVersion: mlops.seldon.io/v1alpha1
kind: SeldonRuntime
metadata:
  name: seldon
  namespace: seldon-mesh
spec:
  seldonConfig: default
  overrides:
  - name: hodometer
    replicas: 0
  - name: seldon-scheduler
    serviceType: ClusterIP
  - name: seldon-envoy
    replicas: 1
  config:
    agentConfig:
      rclone: {}
    kafkaConfig: {}
    serviceConfig: {}
    tracingConfig: {}
"#;

/// The documents of `SAMPLES`, by kind.
fn document(kind: &str) -> Value {
    let documents: Vec<Value> = serde_saphyr::from_multiple(SAMPLES).expect("samples are YAML");
    assert_eq!(documents.len(), 5);
    documents
        .into_iter()
        .find(|doc| doc["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the samples"))
}

fn parse<T: serde::de::DeserializeOwned>(kind: &str) -> T {
    serde_json::from_value(document(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

#[test]
fn model_sample() {
    let model: Model = parse("Model");
    assert_eq!(model.metadata.name.as_deref(), Some("iris"));
    let spec = &model.spec;
    assert_eq!(
        spec.storage_uri,
        "gs://example-models/mlserver/iris-sklearn"
    );
    assert_eq!(spec.requirements, ["sklearn"]);
    assert_eq!(spec.memory, Some(Quantity("100Ki".into())));
    assert_eq!(spec.replicas, None);

    let status = model.status.unwrap();
    assert_eq!((status.replicas, status.available_replicas), (1, 1));
    assert_eq!(status.selector, "server=mlserver");
    assert_eq!(status.modelgw_ready, "ModelAvailable(1/1 ready)");
    let conditions = &status.duck.conditions;
    assert_eq!(conditions.len(), 3);
    assert_eq!(conditions[0].type_, "ModelReady");
    assert_eq!(conditions[0].status, ConditionStatus::True);
    assert_eq!(conditions[2].reason, "ModelAvailable");
}

#[test]
fn pipeline_sample() {
    let pipeline: Pipeline = parse("Pipeline");
    let spec = &pipeline.spec;
    assert_eq!(spec.steps.len(), 2);
    let second = &spec.steps[1];
    assert_eq!(second.name, "tfsimple2");
    assert_eq!(second.inputs, ["tfsimple1"]);
    assert_eq!(second.tensor_map["tfsimple1.outputs.OUTPUT1"], "INPUT1");
    // What the API server would default: inputs joined `inner`; triggers
    // have no default.
    assert_eq!(second.inputs_join_type, Some(JoinType::Inner));
    assert_eq!(second.triggers_join_type, None);
    let output = spec.output.as_ref().unwrap();
    assert_eq!(output.steps, ["tfsimple2"]);
    assert_eq!(output.steps_join, Some(JoinType::Inner));
    assert_eq!(spec.input, None);
}

#[test]
fn experiment_sample() {
    let experiment: Experiment = parse("Experiment");
    let spec = &experiment.spec;
    assert_eq!(spec.default.as_deref(), Some("iris"));
    let candidates: Vec<(&str, u32)> = spec
        .candidates
        .iter()
        .map(|c| (c.name.as_str(), c.weight))
        .collect();
    assert_eq!(candidates, [("iris", 50), ("iris2", 50)]);
    let mirror = spec.mirror.as_ref().unwrap();
    assert_eq!((mirror.name.as_str(), mirror.percent), ("iris3", 100));
    assert_eq!(spec.resource_type, None);
}

#[test]
fn server_sample() {
    let server: Server = parse("Server");
    assert_eq!(server.spec.server_config, "mlserver");
    assert_eq!(server.spec.replicas, Some(2));
    let pod = &server.spec.pod_spec.as_ref().unwrap().0;
    assert_eq!(pod.containers[0].name, "mlserver");
    assert_eq!(pod.containers[0].image, None);
    let status = server.status.unwrap();
    assert_eq!((status.loaded_models, status.replicas), (4, 2));
    assert_eq!(status.selector, "seldon-server-name=mlserver-custom");
}

#[test]
fn seldon_runtime_sample() {
    let runtime: SeldonRuntime = parse("SeldonRuntime");
    let spec = &runtime.spec;
    assert_eq!(spec.seldon_config, "default");
    let overrides: Vec<(&str, Option<i32>, Option<&str>)> = spec
        .overrides
        .iter()
        .map(|o| (o.name.as_str(), o.replicas, o.service_type.as_deref()))
        .collect();
    assert_eq!(
        overrides,
        [
            ("hodometer", Some(0), None),
            ("seldon-scheduler", None, Some("ClusterIP")),
            ("seldon-envoy", Some(1), None),
        ]
    );
    let config = spec.config.as_ref().unwrap();
    assert!(config.kafka_config.is_some() && config.service_config.is_some());
}

#[test]
fn unknown_fields_do_not_change_the_result() {
    // The same Model and Pipeline without the unknown fields parse equal.
    let mut model = document("Model");
    model["spec"].as_object_mut().unwrap().remove("futureField");
    let without: Model = serde_json::from_value(model).unwrap();
    assert_eq!(without, parse::<Model>("Model"));

    let mut pipeline = document("Pipeline");
    pipeline["spec"]
        .as_object_mut()
        .unwrap()
        .remove("unknownPipelineField");
    let without: Pipeline = serde_json::from_value(pipeline).unwrap();
    assert_eq!(without, parse::<Pipeline>("Pipeline"));
}
