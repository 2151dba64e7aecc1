//! Pipeline -> `LoadPipelineRequest` and `UnloadPipelineRequest`
//! (docs/seldon-compat.md#translate-pipeline).
//!
//! The steps, input and output are copied field by field; each of the four
//! join fields maps `inner`/`outer`/`any` to its own message's `JoinOp`
//! (unset means INNER, the proto default). A step's `batch.rolling` has no
//! field in the scheduler API and is dropped, as Seldon does. `uid` and
//! `version` are left for the scheduler to assign. Pipeline translation
//! cannot fail on the spec: unknown join types are already rejected when the
//! resource is parsed.

use std::collections::HashMap;

use super::TranslateError;
use super::meta::{kubernetes_meta, name};
use switchyard_api::pipeline::{
    JoinType, Pipeline, PipelineInput, PipelineOutput, PipelineSpec, PipelineStep,
};
use switchyard_proto::scheduler::{
    self as pb, Batch, DataflowSpec, LoadPipelineRequest, UnloadPipelineRequest, pipeline_input,
    pipeline_output, pipeline_step,
};

const KIND: &str = "Pipeline";

/// The request the operator sends when a Pipeline is created or changed.
pub fn load_pipeline_request(pipeline: &Pipeline) -> Result<LoadPipelineRequest, TranslateError> {
    Ok(LoadPipelineRequest {
        pipeline: Some(scheduler_pipeline(pipeline)?),
    })
}

/// The scheduler's `Pipeline` for a Pipeline resource.
pub fn scheduler_pipeline(pipeline: &Pipeline) -> Result<pb::Pipeline, TranslateError> {
    let kubernetes_meta = kubernetes_meta(&pipeline.metadata, KIND)?;
    let PipelineSpec {
        input,
        steps,
        output,
        dataflow,
        allow_cycles,
        max_step_revisits,
    } = &pipeline.spec;
    Ok(pb::Pipeline {
        name: name(&pipeline.metadata, KIND)?.to_string(),
        // Assigned by the scheduler: a Kubernetes UID does not change across
        // updates, so it cannot identify a pipeline version.
        uid: String::new(),
        version: 0,
        steps: steps.iter().map(step).collect(),
        output: output.as_ref().map(pipeline_output),
        kubernetes_meta: Some(kubernetes_meta),
        input: input.as_ref().map(pipeline_input),
        dataflow_spec: dataflow.as_ref().map(|d| DataflowSpec {
            clean_topics_on_delete: d.clean_topics_on_delete,
        }),
        allow_cycles: *allow_cycles,
        max_step_revisits: *max_step_revisits,
    })
}

/// The request the operator sends when a Pipeline is being deleted: the
/// name only (the scheduler is per namespace; no generation is sent).
pub fn unload_pipeline_request(
    pipeline: &Pipeline,
) -> Result<UnloadPipelineRequest, TranslateError> {
    Ok(UnloadPipelineRequest {
        name: name(&pipeline.metadata, KIND)?.to_string(),
    })
}

fn step(step: &PipelineStep) -> pb::PipelineStep {
    let PipelineStep {
        name,
        inputs,
        join_window_ms,
        tensor_map,
        triggers,
        inputs_join_type,
        triggers_join_type,
        batch,
    } = step;
    pb::PipelineStep {
        name: name.clone(),
        inputs: inputs.clone(),
        join_window_ms: *join_window_ms,
        tensor_map: tensor_map_of(tensor_map),
        inputs_join: step_join(*inputs_join_type) as i32,
        triggers: triggers.clone(),
        triggers_join: step_join(*triggers_join_type) as i32,
        // `rolling` has no field in the scheduler's Batch.
        batch: batch.as_ref().map(|b| Batch {
            size: b.size,
            window_ms: b.window_ms,
        }),
    }
}

fn pipeline_input(input: &PipelineInput) -> pb::PipelineInput {
    let PipelineInput {
        external_inputs,
        external_triggers,
        join_window_ms,
        join_type,
        triggers_join_type,
        tensor_map,
    } = input;
    pb::PipelineInput {
        external_inputs: external_inputs.clone(),
        external_triggers: external_triggers.clone(),
        join_window_ms: *join_window_ms,
        join_type: input_join(*join_type) as i32,
        triggers_join: input_join(*triggers_join_type) as i32,
        tensor_map: tensor_map_of(tensor_map),
    }
}

fn pipeline_output(output: &PipelineOutput) -> pb::PipelineOutput {
    let PipelineOutput {
        steps,
        join_window_ms,
        steps_join,
        tensor_map,
    } = output;
    pb::PipelineOutput {
        steps: steps.clone(),
        join_window_ms: *join_window_ms,
        steps_join: output_join(*steps_join) as i32,
        tensor_map: tensor_map_of(tensor_map),
    }
}

fn tensor_map_of<'a>(
    map: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> HashMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// Three functions because the proto declares three identical, separate
// `JoinOp` enums, one per message.

fn step_join(join: Option<JoinType>) -> pipeline_step::JoinOp {
    match join.unwrap_or_default() {
        JoinType::Inner => pipeline_step::JoinOp::Inner,
        JoinType::Outer => pipeline_step::JoinOp::Outer,
        JoinType::Any => pipeline_step::JoinOp::Any,
    }
}

fn input_join(join: Option<JoinType>) -> pipeline_input::JoinOp {
    match join.unwrap_or_default() {
        JoinType::Inner => pipeline_input::JoinOp::Inner,
        JoinType::Outer => pipeline_input::JoinOp::Outer,
        JoinType::Any => pipeline_input::JoinOp::Any,
    }
}

fn output_join(join: Option<JoinType>) -> pipeline_output::JoinOp {
    match join.unwrap_or_default() {
        JoinType::Inner => pipeline_output::JoinOp::Inner,
        JoinType::Outer => pipeline_output::JoinOp::Outer,
        JoinType::Any => pipeline_output::JoinOp::Any,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::meta::test_support::object_meta;
    use switchyard_api::DataflowConfig;
    use switchyard_api::pipeline::PipelineBatch;
    use switchyard_proto::scheduler::KubernetesMeta;

    fn pipeline(spec: PipelineSpec) -> Pipeline {
        Pipeline {
            metadata: object_meta("foo", 1),
            spec,
            status: None,
        }
    }

    fn k8s_meta() -> Option<KubernetesMeta> {
        Some(KubernetesMeta {
            namespace: "default".into(),
            generation: 1,
        })
    }

    fn named_step(name: &str) -> PipelineStep {
        PipelineStep {
            name: name.into(),
            ..Default::default()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Vector 10: three steps, a batch (rolling dropped), an output joined by `any`.
    #[test]
    fn seldon_vector() {
        let spec = PipelineSpec {
            steps: vec![
                named_step("a"),
                PipelineStep {
                    inputs: strings(&["a"]),
                    ..named_step("b")
                },
                PipelineStep {
                    inputs: strings(&["b"]),
                    join_window_ms: Some(20),
                    inputs_join_type: Some(JoinType::Inner),
                    batch: Some(PipelineBatch {
                        size: Some(100),
                        window_ms: Some(1000),
                        rolling: true,
                    }),
                    ..named_step("c")
                },
            ],
            output: Some(PipelineOutput {
                steps: strings(&["c"]),
                join_window_ms: 2,
                steps_join: Some(JoinType::Any),
                tensor_map: BTreeMap::new(),
            }),
            ..Default::default()
        };
        let expected = LoadPipelineRequest {
            pipeline: Some(pb::Pipeline {
                name: "foo".into(),
                uid: String::new(),
                version: 0,
                steps: vec![
                    pb::PipelineStep {
                        name: "a".into(),
                        ..Default::default()
                    },
                    pb::PipelineStep {
                        name: "b".into(),
                        inputs: strings(&["a"]),
                        ..Default::default()
                    },
                    pb::PipelineStep {
                        name: "c".into(),
                        inputs: strings(&["b"]),
                        join_window_ms: Some(20),
                        inputs_join: pipeline_step::JoinOp::Inner as i32,
                        batch: Some(Batch {
                            size: Some(100),
                            window_ms: Some(1000),
                        }),
                        ..Default::default()
                    },
                ],
                output: Some(pb::PipelineOutput {
                    steps: strings(&["c"]),
                    join_window_ms: 2,
                    steps_join: pipeline_output::JoinOp::Any as i32,
                    tensor_map: HashMap::new(),
                }),
                kubernetes_meta: k8s_meta(),
                input: None,
                dataflow_spec: None,
                allow_cycles: false,
                max_step_revisits: 0,
            }),
        };
        assert_eq!(load_pipeline_request(&pipeline(spec)), Ok(expected));
    }

    /// Vector 25: a pipeline with no steps.
    #[test]
    fn no_steps() {
        assert_eq!(
            load_pipeline_request(&pipeline(PipelineSpec::default())),
            Ok(LoadPipelineRequest {
                pipeline: Some(pb::Pipeline {
                    name: "foo".into(),
                    kubernetes_meta: k8s_meta(),
                    ..Default::default()
                })
            })
        );
    }

    /// A step, input and output with every option set, every join type used,
    /// tensor maps, cycles and dataflow.
    #[test]
    fn every_option() {
        let spec = PipelineSpec {
            input: Some(PipelineInput {
                external_inputs: strings(&["upstream.outputs", "other.step.outputs.t"]),
                external_triggers: strings(&["trigger-pipeline.outputs.ok"]),
                join_window_ms: Some(500),
                join_type: Some(JoinType::Outer),
                triggers_join_type: Some(JoinType::Any),
                tensor_map: BTreeMap::from([("upstream.outputs.t".into(), "x".into())]),
            }),
            steps: vec![PipelineStep {
                name: "classifier".into(),
                inputs: strings(&["foo.inputs", "preprocess.outputs.features"]),
                join_window_ms: Some(30),
                tensor_map: BTreeMap::from([
                    ("foo.inputs.a".into(), "input-a".into()),
                    ("preprocess.outputs.features".into(), "input-b".into()),
                ]),
                triggers: strings(&["gate.outputs.go"]),
                inputs_join_type: Some(JoinType::Outer),
                triggers_join_type: Some(JoinType::Any),
                batch: Some(PipelineBatch {
                    size: Some(8),
                    window_ms: Some(250),
                    rolling: true,
                }),
            }],
            output: Some(PipelineOutput {
                steps: strings(&["classifier", "preprocess"]),
                join_window_ms: 40,
                steps_join: Some(JoinType::Outer),
                tensor_map: BTreeMap::from([("classifier.outputs.out".into(), "label".into())]),
            }),
            dataflow: Some(DataflowConfig {
                clean_topics_on_delete: true,
            }),
            allow_cycles: true,
            max_step_revisits: 5,
        };
        let expected = pb::Pipeline {
            name: "foo".into(),
            uid: String::new(),
            version: 0,
            steps: vec![pb::PipelineStep {
                name: "classifier".into(),
                inputs: strings(&["foo.inputs", "preprocess.outputs.features"]),
                join_window_ms: Some(30),
                tensor_map: HashMap::from([
                    ("foo.inputs.a".into(), "input-a".into()),
                    ("preprocess.outputs.features".into(), "input-b".into()),
                ]),
                inputs_join: pipeline_step::JoinOp::Outer as i32,
                triggers: strings(&["gate.outputs.go"]),
                triggers_join: pipeline_step::JoinOp::Any as i32,
                batch: Some(Batch {
                    size: Some(8),
                    window_ms: Some(250),
                }),
            }],
            output: Some(pb::PipelineOutput {
                steps: strings(&["classifier", "preprocess"]),
                join_window_ms: 40,
                steps_join: pipeline_output::JoinOp::Outer as i32,
                tensor_map: HashMap::from([("classifier.outputs.out".into(), "label".into())]),
            }),
            kubernetes_meta: k8s_meta(),
            input: Some(pb::PipelineInput {
                external_inputs: strings(&["upstream.outputs", "other.step.outputs.t"]),
                external_triggers: strings(&["trigger-pipeline.outputs.ok"]),
                join_window_ms: Some(500),
                join_type: pipeline_input::JoinOp::Outer as i32,
                triggers_join: pipeline_input::JoinOp::Any as i32,
                tensor_map: HashMap::from([("upstream.outputs.t".into(), "x".into())]),
            }),
            dataflow_spec: Some(DataflowSpec {
                clean_topics_on_delete: true,
            }),
            allow_cycles: true,
            max_step_revisits: 5,
        };
        assert_eq!(
            load_pipeline_request(&pipeline(spec)),
            Ok(LoadPipelineRequest {
                pipeline: Some(expected)
            })
        );
    }

    #[test]
    fn every_join_type_in_every_position() {
        for (join, op) in [
            (None, 0),
            (Some(JoinType::Inner), 0),
            (Some(JoinType::Outer), 1),
            (Some(JoinType::Any), 2),
        ] {
            let spec = PipelineSpec {
                input: Some(PipelineInput {
                    join_type: join,
                    triggers_join_type: join,
                    ..Default::default()
                }),
                steps: vec![PipelineStep {
                    inputs_join_type: join,
                    triggers_join_type: join,
                    ..named_step("s")
                }],
                output: Some(PipelineOutput {
                    steps_join: join,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let got = scheduler_pipeline(&pipeline(spec)).expect("valid pipeline");
            let expected = pb::Pipeline {
                name: "foo".into(),
                kubernetes_meta: k8s_meta(),
                steps: vec![pb::PipelineStep {
                    name: "s".into(),
                    inputs_join: op,
                    triggers_join: op,
                    ..Default::default()
                }],
                input: Some(pb::PipelineInput {
                    join_type: op,
                    triggers_join: op,
                    ..Default::default()
                }),
                output: Some(pb::PipelineOutput {
                    steps_join: op,
                    ..Default::default()
                }),
                ..Default::default()
            };
            assert_eq!(got, expected, "{join:?}");
        }
    }

    #[test]
    fn unload_is_the_name_only() {
        let mut p = pipeline(PipelineSpec::default());
        p.metadata.namespace = None;
        assert_eq!(
            unload_pipeline_request(&p),
            Ok(UnloadPipelineRequest { name: "foo".into() })
        );
        p.metadata.name = None;
        assert_eq!(
            unload_pipeline_request(&p),
            Err(TranslateError::MissingName { kind: "Pipeline" })
        );
    }

    #[test]
    fn load_needs_a_namespace() {
        let mut p = pipeline(PipelineSpec::default());
        p.metadata.namespace = None;
        assert_eq!(
            load_pipeline_request(&p).unwrap_err().fields(),
            ["metadata.namespace"]
        );
    }
}
