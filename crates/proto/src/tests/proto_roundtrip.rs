//! The wire contract: messages with every field set (non-default values,
//! each oneof, maps, optionals present) survive encode -> decode unchanged,
//! and their bytes carry the field numbers of Seldon's scheduler.proto
//! (docs/seldon-compat.md#proto). The field numbers are read from the raw bytes by a
//! small wire-format walker written here, so the check does not trust the
//! generated code it is checking; a second check reads the numbers by name
//! from the compiled descriptor set.

use std::collections::{BTreeSet, HashMap};

use crate::DESCRIPTOR_SET;
use crate::scheduler::{
    Batch, DataflowSpec, DeploymentSpec, Experiment, ExperimentCandidate, ExperimentConfig,
    ExperimentMirror, ExplainerSpec, KubernetesMeta, LlmSpec, LoadModelRequest,
    LoadPipelineRequest, MetaData, MlServerModelSettings, Model, ModelReplicaStatus,
    ModelRuntimeInfo, ModelSpec, ModelStatus, ModelStatusResponse, ModelVersionStatus,
    ParameterSpec, Pipeline, PipelineInput, PipelineOutput, PipelineStatusResponse, PipelineStep,
    PipelineVersionState, PipelineWithState, ResourceType, ServerNotify, ServerNotifyRequest,
    StartExperimentRequest, StorageConfig, StreamSpec, TritonCpu, TritonModelConfig,
    model_replica_status, model_runtime_info, model_spec, model_status, model_status_response,
    pipeline_input, pipeline_output, pipeline_status_response, pipeline_step,
    pipeline_version_state, storage_config,
};
use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::Timestamp;

// ---------------------------------------------------------------------------
// A minimal protobuf wire-format reader.

/// A field's value as it sits on the wire.
#[derive(Clone, Debug, PartialEq)]
enum Wire {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32(u32),
}

impl Wire {
    fn varint(&self) -> u64 {
        match self {
            Wire::Varint(v) => *v,
            other => panic!("expected a varint, found {other:?}"),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Wire::Bytes(b) => b,
            other => panic!("expected a length-delimited field, found {other:?}"),
        }
    }

    fn text(&self) -> &str {
        std::str::from_utf8(self.bytes()).expect("a UTF-8 string field")
    }
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint longer than 10 bytes");
}

/// The top-level fields of an encoded message, in wire order.
fn fields(bytes: &[u8]) -> Vec<(u32, Wire)> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos);
        let number = u32::try_from(key >> 3).expect("field number fits u32");
        let value = match key & 7 {
            0 => Wire::Varint(read_varint(bytes, &mut pos)),
            1 => {
                let v = u64::from_le_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
                pos += 8;
                Wire::Fixed64(v)
            }
            2 => {
                let len = usize::try_from(read_varint(bytes, &mut pos)).expect("length");
                let v = bytes[pos..pos + len].to_vec();
                pos += len;
                Wire::Bytes(v)
            }
            5 => {
                let v = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
                pos += 4;
                Wire::Fixed32(v)
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((number, value));
    }
    out
}

/// The distinct field numbers present.
fn numbers(bytes: &[u8]) -> BTreeSet<u32> {
    fields(bytes).into_iter().map(|(n, _)| n).collect()
}

/// The only occurrence of field `number`.
fn field(bytes: &[u8], number: u32) -> Wire {
    let mut found = fields(bytes).into_iter().filter(|(n, _)| *n == number);
    let (_, value) = found
        .next()
        .unwrap_or_else(|| panic!("field {number} missing"));
    assert!(found.next().is_none(), "field {number} repeated");
    value
}

/// Every occurrence of field `number` (repeated and map fields).
fn repeated(bytes: &[u8], number: u32) -> Vec<Wire> {
    fields(bytes)
        .into_iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, v)| v)
        .collect()
}

fn set(numbers: &[u32]) -> BTreeSet<u32> {
    numbers.iter().copied().collect()
}

/// Encodes, decodes, and checks nothing was lost; returns the bytes.
fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(message: &M) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let decoded = M::decode(bytes.as_slice()).expect("decoding what was just encoded");
    assert_eq!(&decoded, message);
    bytes
}

// ---------------------------------------------------------------------------
// Messages with every field set.

fn k8s_meta() -> KubernetesMeta {
    KubernetesMeta {
        namespace: "team-a".into(),
        generation: 9_000_000_000,
    }
}

fn timestamp() -> Timestamp {
    Timestamp {
        seconds: 1_767_225_600,
        nanos: 123_456_789,
    }
}

fn full_model(
    oneof: model_spec::ModelSpec,
    runtime: model_runtime_info::ModelRuntimeInfo,
) -> Model {
    Model {
        meta: Some(MetaData {
            name: "iris".into(),
            kind: Some("sklearn".into()),
            version: Some("v3".into()),
            kubernetes_meta: Some(k8s_meta()),
        }),
        model_spec: Some(ModelSpec {
            uri: "gs://models/iris".into(),
            artifact_version: Some(7),
            storage_config: Some(StorageConfig {
                config: Some(storage_config::Config::StorageSecretName(
                    "s3-secret".into(),
                )),
            }),
            requirements: vec!["sklearn".into(), "gpu".into()],
            memory_bytes: Some(2_147_483_648),
            server: Some("mlserver".into()),
            parameters: vec![
                ParameterSpec {
                    name: "p1".into(),
                    value: "v1".into(),
                },
                ParameterSpec {
                    name: "p2".into(),
                    value: "v2".into(),
                },
            ],
            model_runtime_info: Some(ModelRuntimeInfo {
                model_runtime_info: Some(runtime),
            }),
            model_spec: Some(oneof),
        }),
        deployment_spec: Some(DeploymentSpec {
            replicas: 3,
            min_replicas: 2,
            max_replicas: 5,
            log_payloads: true,
        }),
        stream_spec: Some(StreamSpec {
            input_topic: "in".into(),
            output_topic: "out".into(),
        }),
        dataflow_spec: Some(DataflowSpec {
            clean_topics_on_delete: true,
        }),
    }
}

fn explainer() -> model_spec::ModelSpec {
    model_spec::ModelSpec::Explainer(ExplainerSpec {
        r#type: "anchor_tabular".into(),
        model_ref: Some("income".into()),
        pipeline_ref: Some("income-pipeline".into()),
    })
}

fn mlserver_runtime() -> model_runtime_info::ModelRuntimeInfo {
    model_runtime_info::ModelRuntimeInfo::Mlserver(MlServerModelSettings {
        parallel_workers: 4,
    })
}

fn full_pipeline() -> Pipeline {
    Pipeline {
        name: "fraud".into(),
        uid: "cj8f2".into(),
        version: 12,
        steps: vec![PipelineStep {
            name: "scorer".into(),
            inputs: vec!["pre.outputs".into(), "fraud.inputs.a".into()],
            join_window_ms: Some(30),
            tensor_map: HashMap::from([
                ("pre.outputs.x".into(), "x".into()),
                ("fraud.inputs.a".into(), "a".into()),
            ]),
            inputs_join: pipeline_step::JoinOp::Outer as i32,
            triggers: vec!["gate.outputs.go".into()],
            triggers_join: pipeline_step::JoinOp::Any as i32,
            batch: Some(Batch {
                size: Some(8),
                window_ms: Some(250),
            }),
        }],
        output: Some(PipelineOutput {
            steps: vec!["scorer".into()],
            join_window_ms: 40,
            steps_join: pipeline_output::JoinOp::Any as i32,
            tensor_map: HashMap::from([("scorer.outputs.y".into(), "y".into())]),
        }),
        kubernetes_meta: Some(k8s_meta()),
        input: Some(PipelineInput {
            external_inputs: vec!["upstream.outputs".into()],
            external_triggers: vec!["trigger.outputs.t".into()],
            join_window_ms: Some(500),
            join_type: pipeline_input::JoinOp::Outer as i32,
            triggers_join: pipeline_input::JoinOp::Any as i32,
            tensor_map: HashMap::from([("upstream.outputs.z".into(), "z".into())]),
        }),
        dataflow_spec: Some(DataflowSpec {
            clean_topics_on_delete: true,
        }),
        allow_cycles: true,
        max_step_revisits: 6,
    }
}

// ---------------------------------------------------------------------------
// Round trips and field numbers.

#[test]
fn load_model_request() {
    let request = LoadModelRequest {
        model: Some(full_model(explainer(), mlserver_runtime())),
    };
    let bytes = round_trip(&request);
    assert_eq!(numbers(&bytes), set(&[1]));

    let model = field(&bytes, 1);
    let model = model.bytes();
    assert_eq!(numbers(model), set(&[1, 2, 3, 4, 5]));

    let meta = field(model, 1);
    assert_eq!(numbers(meta.bytes()), set(&[1, 2, 3, 4]));
    assert_eq!(field(meta.bytes(), 1).text(), "iris");
    assert_eq!(field(meta.bytes(), 2).text(), "sklearn");
    assert_eq!(field(meta.bytes(), 3).text(), "v3");
    let k8s = field(meta.bytes(), 4);
    assert_eq!(field(k8s.bytes(), 1).text(), "team-a");
    assert_eq!(field(k8s.bytes(), 2).varint(), 9_000_000_000);

    let spec = field(model, 2);
    let spec = spec.bytes();
    // 7 = explainer (10 = llm, checked below).
    assert_eq!(numbers(spec), set(&[1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(field(spec, 1).text(), "gs://models/iris");
    assert_eq!(field(spec, 2).varint(), 7);
    assert_eq!(field(field(spec, 3).bytes(), 1).text(), "s3-secret");
    let requirements: Vec<String> = repeated(spec, 4)
        .iter()
        .map(|w| w.text().to_string())
        .collect();
    assert_eq!(requirements, ["sklearn", "gpu"]);
    assert_eq!(field(spec, 5).varint(), 2_147_483_648);
    assert_eq!(field(spec, 6).text(), "mlserver");
    let explainer = field(spec, 7);
    assert_eq!(numbers(explainer.bytes()), set(&[1, 2, 3]));
    assert_eq!(field(explainer.bytes(), 1).text(), "anchor_tabular");
    assert_eq!(field(explainer.bytes(), 2).text(), "income");
    assert_eq!(field(explainer.bytes(), 3).text(), "income-pipeline");
    let parameters = repeated(spec, 8);
    assert_eq!(parameters.len(), 2);
    assert_eq!(field(parameters[1].bytes(), 1).text(), "p2");
    assert_eq!(field(parameters[1].bytes(), 2).text(), "v2");
    let runtime = field(spec, 9);
    let mlserver = field(runtime.bytes(), 1);
    assert_eq!(field(mlserver.bytes(), 1).varint(), 4);

    let deployment = field(model, 3);
    let deployment = deployment.bytes();
    assert_eq!(numbers(deployment), set(&[1, 2, 3, 4]));
    assert_eq!(
        [1, 2, 3, 4].map(|n| field(deployment, n).varint()),
        [3, 2, 5, 1]
    );

    let stream = field(model, 4);
    // StreamSpec has no field 1.
    assert_eq!(numbers(stream.bytes()), set(&[2, 3]));
    assert_eq!(field(stream.bytes(), 2).text(), "in");
    assert_eq!(field(field(model, 5).bytes(), 1).varint(), 1);
}

#[test]
fn load_model_request_other_oneof_arms() {
    let request = LoadModelRequest {
        model: Some(full_model(
            model_spec::ModelSpec::Llm(LlmSpec {
                model_ref: Some("chat".into()),
                pipeline_ref: Some("chat-pipeline".into()),
            }),
            model_runtime_info::ModelRuntimeInfo::Triton(TritonModelConfig {
                cpu: vec![
                    TritonCpu { instance_count: 2 },
                    TritonCpu { instance_count: 3 },
                ],
            }),
        )),
    };
    let mut with_rclone = request.clone();
    if let Some(spec) = with_rclone
        .model
        .as_mut()
        .and_then(|m| m.model_spec.as_mut())
    {
        spec.storage_config = Some(StorageConfig {
            config: Some(storage_config::Config::StorageRcloneConfig("[s3]".into())),
        });
    }
    for request in [request, with_rclone.clone()] {
        let bytes = round_trip(&request);
        let model = field(&bytes, 1);
        let spec = field(model.bytes(), 2);
        let spec = spec.bytes();
        assert_eq!(numbers(spec), set(&[1, 2, 3, 4, 5, 6, 8, 9, 10]));
        let llm = field(spec, 10);
        assert_eq!(field(llm.bytes(), 1).text(), "chat");
        assert_eq!(field(llm.bytes(), 2).text(), "chat-pipeline");
        let triton = field(field(spec, 9).bytes(), 2);
        let cpus: Vec<u64> = repeated(triton.bytes(), 1)
            .iter()
            .map(|cpu| field(cpu.bytes(), 1).varint())
            .collect();
        assert_eq!(cpus, [2, 3]);
    }
    let bytes = with_rclone.encode_to_vec();
    let spec = field(field(&bytes, 1).bytes(), 2);
    let storage = field(spec.bytes(), 3);
    assert_eq!(numbers(storage.bytes()), set(&[2]));
    assert_eq!(field(storage.bytes(), 2).text(), "[s3]");
}

#[test]
fn load_pipeline_request() {
    let request = LoadPipelineRequest {
        pipeline: Some(full_pipeline()),
    };
    let bytes = round_trip(&request);
    let pipeline = field(&bytes, 1);
    let pipeline = pipeline.bytes();
    assert_eq!(numbers(pipeline), (1..=10).collect());
    assert_eq!(field(pipeline, 1).text(), "fraud");
    assert_eq!(field(pipeline, 2).text(), "cj8f2");
    assert_eq!(field(pipeline, 3).varint(), 12);
    assert_eq!(field(pipeline, 9).varint(), 1);
    assert_eq!(field(pipeline, 10).varint(), 6);

    let step = field(pipeline, 4);
    let step = step.bytes();
    assert_eq!(numbers(step), (1..=8).collect());
    assert_eq!(field(step, 3).varint(), 30);
    assert_eq!(repeated(step, 4).len(), 2, "two tensor map entries");
    let entry = &repeated(step, 4)[0];
    assert_eq!(
        numbers(entry.bytes()),
        set(&[1, 2]),
        "map entries are key=1, value=2"
    );
    assert_eq!(field(step, 5).varint(), 1, "inputsJoin OUTER");
    assert_eq!(field(step, 7).varint(), 2, "triggersJoin ANY");
    let batch = field(step, 8);
    assert_eq!(field(batch.bytes(), 1).varint(), 8);
    assert_eq!(field(batch.bytes(), 2).varint(), 250);

    let output = field(pipeline, 5);
    assert_eq!(numbers(output.bytes()), set(&[1, 2, 3, 4]));
    assert_eq!(field(output.bytes(), 2).varint(), 40);
    assert_eq!(field(output.bytes(), 3).varint(), 2, "stepsJoin ANY");

    let input = field(pipeline, 7);
    assert_eq!(numbers(input.bytes()), (1..=6).collect());
    assert_eq!(field(input.bytes(), 3).varint(), 500);
    assert_eq!(field(input.bytes(), 4).varint(), 1, "joinType OUTER");
    assert_eq!(field(input.bytes(), 5).varint(), 2, "triggersJoin ANY");

    assert_eq!(field(field(pipeline, 6).bytes(), 1).text(), "team-a");
    assert_eq!(field(field(pipeline, 8).bytes(), 1).varint(), 1);
}

#[test]
fn start_experiment_request() {
    let request = StartExperimentRequest {
        experiment: Some(Experiment {
            name: "ab".into(),
            default: Some("a".into()),
            candidates: vec![
                ExperimentCandidate {
                    name: "a".into(),
                    weight: 70,
                },
                ExperimentCandidate {
                    name: "b".into(),
                    weight: 30,
                },
            ],
            mirror: Some(ExperimentMirror {
                name: "shadow".into(),
                percent: 15,
            }),
            config: Some(ExperimentConfig {
                sticky_sessions: true,
            }),
            kubernetes_meta: Some(k8s_meta()),
            resource_type: ResourceType::Pipeline as i32,
        }),
    };
    let bytes = round_trip(&request);
    let experiment = field(&bytes, 1);
    let experiment = experiment.bytes();
    assert_eq!(numbers(experiment), (1..=7).collect());
    assert_eq!(field(experiment, 2).text(), "a");
    let candidates = repeated(experiment, 3);
    assert_eq!(field(candidates[1].bytes(), 1).text(), "b");
    assert_eq!(field(candidates[1].bytes(), 2).varint(), 30);
    let mirror = field(experiment, 4);
    assert_eq!(field(mirror.bytes(), 1).text(), "shadow");
    assert_eq!(field(mirror.bytes(), 2).varint(), 15);
    assert_eq!(field(field(experiment, 5).bytes(), 1).varint(), 1);
    assert_eq!(field(experiment, 7).varint(), 1, "resourceType PIPELINE");
}

#[test]
fn server_notify_request() {
    let request = ServerNotifyRequest {
        servers: vec![
            ServerNotify {
                name: "mlserver".into(),
                expected_replicas: 3,
                min_replicas: 1,
                max_replicas: 6,
                shared: true,
                kubernetes_meta: Some(k8s_meta()),
            },
            ServerNotify {
                name: "triton".into(),
                expected_replicas: 0,
                min_replicas: 0,
                max_replicas: u32::MAX,
                shared: false,
                kubernetes_meta: None,
            },
        ],
        is_first_sync: true,
    };
    let bytes = round_trip(&request);
    assert_eq!(numbers(&bytes), set(&[1, 2]));
    assert_eq!(field(&bytes, 2).varint(), 1);
    let servers = repeated(&bytes, 1);
    let first = servers[0].bytes();
    assert_eq!(numbers(first), (1..=6).collect());
    assert_eq!(field(first, 1).text(), "mlserver");
    assert_eq!(field(first, 2).varint(), 3, "expectedReplicas = 2");
    assert_eq!(field(first, 3).varint(), 1, "shared = 3");
    assert_eq!(field(first, 5).varint(), 1, "minReplicas = 5");
    assert_eq!(field(first, 6).varint(), 6, "maxReplicas = 6");
    // Defaults are not on the wire: only name and maxReplicas.
    assert_eq!(numbers(servers[1].bytes()), set(&[1, 6]));
    assert_eq!(field(servers[1].bytes(), 6).varint(), u64::from(u32::MAX));
}

#[test]
fn model_status_response() {
    let status = ModelStatusResponse {
        model_name: "iris".into(),
        versions: vec![ModelVersionStatus {
            version: 4,
            server_name: "mlserver".into(),
            kubernetes_meta: Some(k8s_meta()),
            model_replica_state: HashMap::from([
                (
                    0,
                    ModelReplicaStatus {
                        state: model_replica_status::ModelReplicaState::Available as i32,
                        reason: "ok".into(),
                        last_change_timestamp: Some(timestamp()),
                    },
                ),
                (
                    -1,
                    ModelReplicaStatus {
                        state: model_replica_status::ModelReplicaState::Draining as i32,
                        reason: "scaling down".into(),
                        last_change_timestamp: None,
                    },
                ),
            ]),
            state: Some(ModelStatus {
                state: model_status::ModelState::ModelAvailable as i32,
                reason: "loaded".into(),
                available_replicas: 2,
                unavailable_replicas: 1,
                last_change_timestamp: Some(timestamp()),
                model_gw_state: model_status::ModelState::ModelProgressing as i32,
                model_gw_reason: "gw".into(),
            }),
            model_defn: Some(full_model(explainer(), mlserver_runtime())),
        }],
        deleted: true,
        keep_topics: true,
        timestamp: 1_767_225_600_000,
        operation: model_status_response::ModelOperation::ModelDelete as i32,
    };
    let bytes = round_trip(&status);
    assert_eq!(numbers(&bytes), (1..=6).collect());
    assert_eq!(field(&bytes, 5).varint(), 1_767_225_600_000);
    assert_eq!(field(&bytes, 6).varint(), 2, "ModelDelete");
    let version = field(&bytes, 2);
    let version = version.bytes();
    // ModelVersionStatus has no field 1.
    assert_eq!(numbers(version), (2..=7).collect());
    assert_eq!(field(version, 2).varint(), 4);
    let replicas = repeated(version, 5);
    assert_eq!(replicas.len(), 2);
    let negative_key = replicas
        .iter()
        // The entry with key 0 carries no key on the wire (proto3 default).
        .find(|entry| repeated(entry.bytes(), 1) == [Wire::Varint(u64::MAX)])
        .expect("int32 key -1 is sign-extended to 10 bytes");
    let replica = field(negative_key.bytes(), 2);
    assert_eq!(field(replica.bytes(), 1).varint(), 12, "Draining");
    let state = field(version, 6);
    let state = state.bytes();
    assert_eq!(numbers(state), (1..=7).collect());
    assert_eq!(field(state, 1).varint(), 2, "ModelAvailable");
    assert_eq!(field(state, 6).varint(), 1, "ModelProgressing");
    let changed = field(state, 5);
    assert_eq!(field(changed.bytes(), 1).varint(), 1_767_225_600);
    assert_eq!(field(changed.bytes(), 2).varint(), 123_456_789);
}

#[test]
fn pipeline_status_response() {
    let status = PipelineStatusResponse {
        pipeline_name: "fraud".into(),
        versions: vec![PipelineWithState {
            pipeline: Some(full_pipeline()),
            state: Some(PipelineVersionState {
                pipeline_version: 12,
                status: pipeline_version_state::PipelineStatus::PipelineFailedTerminating as i32,
                reason: "kafka down".into(),
                last_change_timestamp: Some(timestamp()),
                models_ready: true,
                pipeline_gw_status: pipeline_version_state::PipelineStatus::PipelineReady as i32,
                pipeline_gw_reason: "ready".into(),
            }),
        }],
        timestamp: 42,
        operation: pipeline_status_response::PipelineOperation::PipelineCreate as i32,
    };
    let bytes = round_trip(&status);
    assert_eq!(numbers(&bytes), set(&[1, 2, 3, 4]));
    assert_eq!(field(&bytes, 4).varint(), 1, "PipelineCreate");
    let with_state = field(&bytes, 2);
    assert_eq!(numbers(with_state.bytes()), set(&[1, 2]));
    let state = field(with_state.bytes(), 2);
    let state = state.bytes();
    assert_eq!(numbers(state), (1..=7).collect());
    assert_eq!(field(state, 2).varint(), 9, "PipelineFailedTerminating");
    assert_eq!(field(state, 5).varint(), 1);
    assert_eq!(field(state, 6).varint(), 3, "PipelineReady");
    assert_eq!(field(state, 7).text(), "ready");
}

/// The compiled descriptors name the fields as Seldon does, with the same
/// numbers (these names are also the proto3 JSON names of the requests).
#[test]
fn descriptor_names_and_numbers() {
    let pool = DescriptorPool::decode(DESCRIPTOR_SET).expect("the compiled descriptor set");
    let expected: &[(&str, &[(&str, u32)])] = &[
        ("LoadModelRequest", &[("model", 1)]),
        (
            "Model",
            &[
                ("meta", 1),
                ("modelSpec", 2),
                ("deploymentSpec", 3),
                ("streamSpec", 4),
                ("dataflowSpec", 5),
            ],
        ),
        (
            "MetaData",
            &[
                ("name", 1),
                ("kind", 2),
                ("version", 3),
                ("kubernetesMeta", 4),
            ],
        ),
        ("KubernetesMeta", &[("namespace", 1), ("generation", 2)]),
        (
            "DeploymentSpec",
            &[
                ("replicas", 1),
                ("minReplicas", 2),
                ("maxReplicas", 3),
                ("logPayloads", 4),
            ],
        ),
        (
            "ModelSpec",
            &[
                ("uri", 1),
                ("artifactVersion", 2),
                ("storageConfig", 3),
                ("requirements", 4),
                ("memoryBytes", 5),
                ("server", 6),
                ("explainer", 7),
                ("parameters", 8),
                ("modelRuntimeInfo", 9),
                ("llm", 10),
            ],
        ),
        (
            "ServerNotify",
            &[
                ("name", 1),
                ("expectedReplicas", 2),
                ("shared", 3),
                ("kubernetesMeta", 4),
                ("minReplicas", 5),
                ("maxReplicas", 6),
            ],
        ),
        (
            "Experiment",
            &[
                ("name", 1),
                ("default", 2),
                ("candidates", 3),
                ("mirror", 4),
                ("config", 5),
                ("kubernetesMeta", 6),
                ("resourceType", 7),
            ],
        ),
        (
            "Pipeline",
            &[
                ("name", 1),
                ("uid", 2),
                ("version", 3),
                ("steps", 4),
                ("output", 5),
                ("kubernetesMeta", 6),
                ("input", 7),
                ("dataflowSpec", 8),
                ("allowCycles", 9),
                ("maxStepRevisits", 10),
            ],
        ),
        (
            "PipelineStep",
            &[
                ("name", 1),
                ("inputs", 2),
                ("joinWindowMs", 3),
                ("tensorMap", 4),
                ("inputsJoin", 5),
                ("triggers", 6),
                ("triggersJoin", 7),
                ("batch", 8),
            ],
        ),
        (
            "PipelineInput",
            &[
                ("externalInputs", 1),
                ("externalTriggers", 2),
                ("joinWindowMs", 3),
                ("joinType", 4),
                ("triggersJoin", 5),
                ("tensorMap", 6),
            ],
        ),
        (
            "PipelineOutput",
            &[
                ("steps", 1),
                ("joinWindowMs", 2),
                ("stepsJoin", 3),
                ("tensorMap", 4),
            ],
        ),
    ];
    for (message, fields) in expected {
        let descriptor = pool
            .get_message_by_name(&format!("seldon.mlops.scheduler.{message}"))
            .unwrap_or_else(|| panic!("{message} is not in the descriptor set"));
        let actual: Vec<(String, u32)> = descriptor
            .fields()
            .map(|f| (f.name().to_string(), f.number()))
            .collect();
        let mut actual_sorted = actual.clone();
        actual_sorted.sort_by_key(|(_, n)| *n);
        let wanted: Vec<(String, u32)> = fields.iter().map(|(n, k)| (n.to_string(), *k)).collect();
        assert_eq!(actual_sorted, wanted, "{message}");
    }
}
