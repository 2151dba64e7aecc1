//! Reading from a request's encoded bytes only the fields the gateway's
//! checks look at (names, namespaces, replica counts, enum values), for
//! the messages where that is a small part of the whole: `LoadModel`
//! (a model's storage, requirements, parameters and runtime info are the
//! scheduler's business) and `LoadPipeline` (steps' inputs, tensor maps,
//! batching). The views below declare those fields only, by their proto
//! field numbers; decoding one skips every other field on the wire without
//! allocating. The view is then put into the gateway's own message type,
//! with everything else left at its default, so `validate` and
//! `namespace` judge it exactly as they would the whole message.
//!
//! Smaller messages, whose checks read most of their fields anyway, are
//! decoded whole.

use bytes::Bytes;
use prost::{DecodeError, Message};

use switchyard_proto::chainer::PipelineUpdateStatusMessage;
use switchyard_proto::scheduler::{
    DeploymentSpec, KubernetesMeta, LoadModelRequest, LoadPipelineRequest, MetaData, Model,
    ModelSpec, ModelUpdateStatusMessage, Pipeline, PipelineInput, PipelineOutput, PipelineStep,
    SchedulerStatusRequest, ServerNotifyRequest, StartExperimentRequest, StopExperimentRequest,
    UnloadModelRequest, UnloadPipelineRequest,
};

/// A request message the gateway can read for its checks.
pub(super) trait Sparse: Sized {
    /// The message with at least every field the checks read.
    fn read(body: Bytes) -> Result<Self, DecodeError>;
}

macro_rules! whole {
    ($($ty:ty),*) => {$(
        impl Sparse for $ty {
            fn read(body: Bytes) -> Result<Self, DecodeError> {
                Self::decode(body)
            }
        }
    )*};
}

whole!(
    UnloadModelRequest,
    UnloadPipelineRequest,
    StartExperimentRequest,
    StopExperimentRequest,
    ServerNotifyRequest,
    SchedulerStatusRequest,
    PipelineUpdateStatusMessage,
    ModelUpdateStatusMessage
);

/// `LoadModelRequest`: `model` (1).
#[derive(Clone, PartialEq, Message)]
struct LoadModelView {
    #[prost(message, optional, tag = "1")]
    model: Option<ModelView>,
}

/// `Model`: `meta` (1, small: whole), `modelSpec` (2), `deploymentSpec`
/// (3, small: whole).
#[derive(Clone, PartialEq, Message)]
struct ModelView {
    #[prost(message, optional, tag = "1")]
    meta: Option<MetaData>,
    #[prost(message, optional, tag = "2")]
    model_spec: Option<ModelSpecView>,
    #[prost(message, optional, tag = "3")]
    deployment_spec: Option<DeploymentSpec>,
}

/// `ModelSpec`: `server` (6).
#[derive(Clone, PartialEq, Message)]
struct ModelSpecView {
    #[prost(string, optional, tag = "6")]
    server: Option<String>,
}

impl Sparse for LoadModelRequest {
    fn read(body: Bytes) -> Result<Self, DecodeError> {
        let view = LoadModelView::decode(body)?;
        Ok(LoadModelRequest {
            model: view.model.map(|model| Model {
                meta: model.meta,
                model_spec: model.model_spec.map(|spec| ModelSpec {
                    server: spec.server,
                    ..ModelSpec::default()
                }),
                deployment_spec: model.deployment_spec,
                ..Model::default()
            }),
        })
    }
}

/// `LoadPipelineRequest`: `pipeline` (1).
#[derive(Clone, PartialEq, Message)]
struct LoadPipelineView {
    #[prost(message, optional, tag = "1")]
    pipeline: Option<PipelineView>,
}

/// `Pipeline`: `name` (1), `steps` (4), `output` (5), `kubernetesMeta`
/// (6), `input` (7).
#[derive(Clone, PartialEq, Message)]
struct PipelineView {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, repeated, tag = "4")]
    steps: Vec<StepView>,
    #[prost(message, optional, tag = "5")]
    output: Option<OutputView>,
    #[prost(message, optional, tag = "6")]
    kubernetes_meta: Option<KubernetesMeta>,
    #[prost(message, optional, tag = "7")]
    input: Option<InputView>,
}

/// `PipelineStep`: `name` (1), `inputsJoin` (5), `triggersJoin` (7).
#[derive(Clone, PartialEq, Message)]
struct StepView {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int32, tag = "5")]
    inputs_join: i32,
    #[prost(int32, tag = "7")]
    triggers_join: i32,
}

/// `PipelineInput`: `joinType` (4), `triggersJoin` (5).
#[derive(Clone, PartialEq, Message)]
struct InputView {
    #[prost(int32, tag = "4")]
    join_type: i32,
    #[prost(int32, tag = "5")]
    triggers_join: i32,
}

/// `PipelineOutput`: `stepsJoin` (3).
#[derive(Clone, PartialEq, Message)]
struct OutputView {
    #[prost(int32, tag = "3")]
    steps_join: i32,
}

impl Sparse for LoadPipelineRequest {
    fn read(body: Bytes) -> Result<Self, DecodeError> {
        let view = LoadPipelineView::decode(body)?;
        Ok(LoadPipelineRequest {
            pipeline: view.pipeline.map(|p| Pipeline {
                name: p.name,
                steps: p
                    .steps
                    .into_iter()
                    .map(|s| PipelineStep {
                        name: s.name,
                        inputs_join: s.inputs_join,
                        triggers_join: s.triggers_join,
                        ..PipelineStep::default()
                    })
                    .collect(),
                output: p.output.map(|o| PipelineOutput {
                    steps_join: o.steps_join,
                    ..PipelineOutput::default()
                }),
                kubernetes_meta: p.kubernetes_meta,
                input: p.input.map(|i| PipelineInput {
                    join_type: i.join_type,
                    triggers_join: i.triggers_join,
                    ..PipelineInput::default()
                }),
                ..Pipeline::default()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespace::NamespacedMessage;
    use crate::validate::Validate;
    use switchyard_proto::scheduler::{ParameterSpec, StorageConfig};

    fn full_model(name: &str, server: &str, replicas: u32) -> LoadModelRequest {
        LoadModelRequest {
            model: Some(Model {
                meta: Some(MetaData {
                    name: name.into(),
                    kind: Some("Model".into()),
                    version: None,
                    kubernetes_meta: Some(KubernetesMeta {
                        namespace: "team-a".into(),
                        generation: 7,
                    }),
                }),
                model_spec: Some(ModelSpec {
                    uri: "gs://models/iris".into(),
                    storage_config: Some(StorageConfig::default()),
                    requirements: vec!["sklearn".into(), "gpu".into()],
                    memory_bytes: Some(1 << 20),
                    server: Some(server.into()),
                    parameters: vec![ParameterSpec {
                        name: "k".into(),
                        value: "v".into(),
                    }],
                    ..ModelSpec::default()
                }),
                deployment_spec: Some(DeploymentSpec {
                    replicas,
                    min_replicas: 1,
                    max_replicas: 4,
                    log_payloads: true,
                }),
                ..Model::default()
            }),
        }
    }

    fn sparse<T: Message + Sparse>(message: &T) -> T {
        T::read(Bytes::from(message.encode_to_vec())).expect("reads")
    }

    /// Whether the checks refuse `whole`, after asserting that they judge
    /// `read` the same, with the same status.
    fn refused_alike<T: Validate + std::fmt::Debug>(whole: &T, read: &T) -> bool {
        match (whole.validate(), read.validate()) {
            (Ok(()), Ok(())) => false,
            (Err(w), Err(r)) => {
                assert_eq!((w.code(), w.message()), (r.code(), r.message()));
                true
            }
            (w, r) => panic!("{whole:?}: whole {w:?}, sparse {r:?}"),
        }
    }

    #[test]
    fn a_model_is_read_for_what_the_checks_need() {
        let whole = full_model("iris", "mlserver", 2);
        let read = sparse(&whole);
        let (w, r) = (whole.model.as_ref().unwrap(), read.model.as_ref().unwrap());
        assert_eq!(r.meta, w.meta);
        assert_eq!(r.deployment_spec, w.deployment_spec);
        let spec = r.model_spec.as_ref().unwrap();
        assert_eq!(spec.server.as_deref(), Some("mlserver"));
        assert!(spec.uri.is_empty() && spec.requirements.is_empty() && spec.parameters.is_empty());
        assert_eq!(read.object(), Some("iris"));
        let ns = read.message_namespace().unwrap().unwrap();
        assert_eq!(ns.namespace, "team-a");
        assert_eq!(ns.field, "model.meta.kubernetesMeta.namespace");
    }

    #[test]
    fn the_checks_judge_a_sparse_model_as_the_whole() {
        let cases = [
            full_model("iris", "mlserver", 2),
            full_model("Bad_Name", "mlserver", 2),
            full_model("iris", "Not A Server", 2),
            full_model("iris", "mlserver", u32::MAX),
            LoadModelRequest::default(),
        ];
        let refused = cases
            .iter()
            .filter(|whole| refused_alike(*whole, &sparse(*whole)))
            .count();
        assert_eq!(refused, 4, "every case but the first is refused");
    }

    #[test]
    fn the_checks_judge_a_sparse_pipeline_as_the_whole() {
        let step = |name: &str, join: i32| PipelineStep {
            name: name.into(),
            inputs: vec!["a.outputs".into()],
            inputs_join: join,
            tensor_map: [("x".to_owned(), "y".to_owned())].into(),
            ..PipelineStep::default()
        };
        let pipeline = |steps: Vec<PipelineStep>, output_join: i32| LoadPipelineRequest {
            pipeline: Some(Pipeline {
                name: "p".into(),
                uid: "u".into(),
                steps,
                output: Some(PipelineOutput {
                    steps: vec!["a".into()],
                    steps_join: output_join,
                    ..PipelineOutput::default()
                }),
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: "team-b".into(),
                    generation: 3,
                }),
                input: Some(PipelineInput {
                    join_type: 1,
                    ..PipelineInput::default()
                }),
                ..Pipeline::default()
            }),
        };
        let cases = [
            pipeline(vec![step("a", 0), step("b", 2)], 0),
            pipeline(vec![step("a", 0), step("B!", 0)], 0),
            pipeline(vec![step("a", 9)], 0),
            pipeline(vec![step("a", 0)], 7),
        ];
        let mut refused = 0;
        for whole in &cases {
            let read = sparse(whole);
            assert!(read.pipeline.as_ref().unwrap().steps[0].inputs.is_empty());
            assert_eq!(
                read.message_namespace().unwrap().unwrap().namespace,
                "team-b"
            );
            refused += usize::from(refused_alike(whole, &read));
        }
        assert_eq!(refused, 3, "every case but the first is refused");
    }

    #[test]
    fn malformed_bytes_are_an_error() {
        let garbage = Bytes::from_static(&[0x0a, 0xff, 0xff, 0xff]);
        assert!(LoadModelRequest::read(garbage.clone()).is_err());
        assert!(LoadPipelineRequest::read(garbage).is_err());
    }
}
