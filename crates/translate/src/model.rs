//! Model -> `LoadModelRequest` (docs/seldon-compat.md#translate-model) and Model deletion ->
//! `UnloadModelRequest` docs/seldon-compat.md#translate-model-unload.
//!
//! Field by field: the storage URI, artifact version, requirements (with
//! `modelType` appended), pinned server, secret (as `storageSecretName`),
//! memory (exact bytes, see `quantity`), parameters, and the explainer or LLM
//! oneof go into `ModelSpec`; the scaling rules and the logger's presence
//! into `DeploymentSpec`; `dataflow` into `DataflowSpec`. `schemaUri`,
//! `preloaded`, `dedicated` and `logger.percent` have no place in the
//! scheduler API and are dropped, as Seldon does.

use super::meta::{kubernetes_meta, name};
use super::{TranslateError, quantity_to_bytes, validate_scaling};
use switchyard_api::model::{Model, ModelSpec};
use switchyard_proto::scheduler::{
    self as pb, DataflowSpec, DeploymentSpec, ExplainerSpec, LlmSpec, LoadModelRequest, MetaData,
    ModelReference, ParameterSpec, StorageConfig, UnloadModelRequest, model_spec, storage_config,
};

const KIND: &str = "Model";

/// The request the operator sends when a Model is created or changed.
pub fn load_model_request(model: &Model) -> Result<LoadModelRequest, TranslateError> {
    Ok(LoadModelRequest {
        model: Some(scheduler_model(model)?),
    })
}

/// The scheduler's `Model` for a Model resource (also what the SEND_MODELS
/// resync re-sends).
pub fn scheduler_model(model: &Model) -> Result<pb::Model, TranslateError> {
    let kubernetes_meta = kubernetes_meta(&model.metadata, KIND)?;
    let name = name(&model.metadata, KIND)?;
    Ok(pb::Model {
        meta: Some(MetaData {
            name: name.to_string(),
            kind: None,
            version: None,
            kubernetes_meta: Some(kubernetes_meta),
        }),
        model_spec: Some(model_spec(&model.spec)?),
        deployment_spec: Some(deployment_spec(&model.spec)?),
        stream_spec: None,
        dataflow_spec: model.spec.dataflow.as_ref().map(|d| DataflowSpec {
            clean_topics_on_delete: d.clean_topics_on_delete,
        }),
    })
}

/// The request the operator sends when a Model is being deleted. The
/// generation is the object's current one (the API server bumps it when it
/// sets `deletionTimestamp` on an object with finalizers).
pub fn unload_model_request(model: &Model) -> Result<UnloadModelRequest, TranslateError> {
    let kubernetes_meta = kubernetes_meta(&model.metadata, KIND)?;
    Ok(UnloadModelRequest {
        model: Some(ModelReference {
            name: name(&model.metadata, KIND)?.to_string(),
            version: None,
        }),
        kubernetes_meta: Some(kubernetes_meta),
    })
}

/// What to load: everything but scaling, logging and dataflow.
fn model_spec(spec: &ModelSpec) -> Result<pb::ModelSpec, TranslateError> {
    let oneof = match (&spec.explainer, &spec.llm) {
        (Some(_), Some(_)) => return Err(TranslateError::ExplainerAndLlm),
        (Some(explainer), None) => Some(model_spec::ModelSpec::Explainer(ExplainerSpec {
            r#type: explainer.type_.clone(),
            model_ref: explainer.model_ref.clone(),
            pipeline_ref: explainer.pipeline_ref.clone(),
        })),
        (None, Some(llm)) => Some(model_spec::ModelSpec::Llm(LlmSpec {
            model_ref: llm.model_ref.clone(),
            pipeline_ref: llm.pipeline_ref.clone(),
        })),
        (None, None) => None,
    };
    let memory_bytes = spec
        .memory
        .as_ref()
        .map(|q| {
            quantity_to_bytes(&q.0).map_err(|cause| TranslateError::Memory {
                quantity: q.0.clone(),
                cause,
            })
        })
        .transpose()?;
    Ok(pb::ModelSpec {
        uri: spec.storage_uri.clone(),
        artifact_version: spec.artifact_version,
        storage_config: spec.secret_name.as_ref().map(|secret| StorageConfig {
            config: Some(storage_config::Config::StorageSecretName(secret.clone())),
        }),
        requirements: spec
            .requirements
            .iter()
            .chain(spec.model_type.as_ref())
            .cloned()
            .collect(),
        memory_bytes,
        server: spec.server.clone(),
        parameters: spec
            .parameters
            .iter()
            .map(|p| ParameterSpec {
                name: p.name.clone(),
                value: p.value.clone(),
            })
            .collect(),
        // Filled in by the agent that loads the model, never by us.
        model_runtime_info: None,
        model_spec: oneof,
    })
}

/// How many replicas, and whether payloads are logged.
fn deployment_spec(spec: &ModelSpec) -> Result<DeploymentSpec, TranslateError> {
    let scaling = validate_scaling(spec.replicas, spec.min_replicas, spec.max_replicas)?;
    Ok(DeploymentSpec {
        replicas: scaling.replicas,
        min_replicas: scaling.min_replicas,
        max_replicas: scaling.max_replicas,
        log_payloads: spec.logger.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;
    use crate::meta::test_support::object_meta;
    use crate::quantity::QuantityError;
    use crate::scaling::{ScalingError, UNBOUNDED};
    use switchyard_api::DataflowConfig;
    use switchyard_api::model::{
        ExplainerSpec as CrExplainer, LlmSpec as CrLlm, LoggingSpec, ParameterSpec as CrParameter,
    };

    fn model(spec: ModelSpec) -> Model {
        Model {
            metadata: object_meta("foo", 1),
            spec,
            status: None,
        }
    }

    fn meta() -> Option<MetaData> {
        Some(MetaData {
            name: "foo".into(),
            kind: None,
            version: None,
            kubernetes_meta: Some(pb::KubernetesMeta {
                namespace: "default".into(),
                generation: 1,
            }),
        })
    }

    fn deployment(replicas: u32, min: u32, max: u32, log_payloads: bool) -> Option<DeploymentSpec> {
        Some(DeploymentSpec {
            replicas,
            min_replicas: min,
            max_replicas: max,
            log_payloads,
        })
    }

    fn request(
        model_spec: pb::ModelSpec,
        deployment_spec: Option<DeploymentSpec>,
    ) -> LoadModelRequest {
        LoadModelRequest {
            model: Some(pb::Model {
                meta: meta(),
                model_spec: Some(model_spec),
                deployment_spec,
                stream_spec: None,
                dataflow_spec: None,
            }),
        }
    }

    fn uri(uri: &str) -> pb::ModelSpec {
        pb::ModelSpec {
            uri: uri.into(),
            ..Default::default()
        }
    }

    fn with_memory(memory: &str) -> ModelSpec {
        ModelSpec {
            storage_uri: "gs://test".into(),
            memory: Some(Quantity(memory.into())),
            ..Default::default()
        }
    }

    /// Vector 1: explainer and llm exclude each other; either alone is fine.
    #[test]
    fn explainer_and_llm_are_exclusive() {
        let explainer = Some(CrExplainer {
            type_: "anchor_tabular".into(),
            model_ref: Some("income".into()),
            pipeline_ref: None,
        });
        let llm = Some(CrLlm {
            model_ref: Some("chat-gpt".into()),
            pipeline_ref: None,
        });
        let both = ModelSpec {
            explainer: explainer.clone(),
            llm: llm.clone(),
            ..Default::default()
        };
        let err = load_model_request(&model(both)).unwrap_err();
        assert_eq!(err, TranslateError::ExplainerAndLlm);
        assert!(
            err.to_string()
                .contains("Can't have both explainer and llm in model spec.")
        );
        for spec in [
            ModelSpec {
                explainer,
                ..Default::default()
            },
            ModelSpec {
                llm,
                ..Default::default()
            },
            ModelSpec::default(),
        ] {
            assert!(load_model_request(&model(spec)).is_ok());
        }
    }

    /// Vector 2 ("simple").
    #[test]
    fn simple() {
        let spec = ModelSpec {
            storage_uri: "gs://test".into(),
            ..Default::default()
        };
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(request(
                uri("gs://test"),
                deployment(1, 0, UNBOUNDED, false)
            ))
        );
    }

    fn complex(explainer: Option<CrExplainer>, llm: Option<CrLlm>) -> ModelSpec {
        ModelSpec {
            storage_uri: "gs://test".into(),
            model_type: Some("sklearn".into()),
            secret_name: Some("secret".into()),
            logger: Some(LoggingSpec::default()),
            requirements: vec!["a".into(), "b".into()],
            replicas: Some(4),
            server: Some("server".into()),
            explainer,
            llm,
            parameters: vec![
                CrParameter {
                    name: "foo".into(),
                    value: "bar".into(),
                },
                CrParameter {
                    name: "foo2".into(),
                    value: "bar2".into(),
                },
            ],
            ..Default::default()
        }
    }

    fn complex_expected(oneof: model_spec::ModelSpec) -> LoadModelRequest {
        request(
            pb::ModelSpec {
                uri: "gs://test".into(),
                requirements: vec!["a".into(), "b".into(), "sklearn".into()],
                storage_config: Some(StorageConfig {
                    config: Some(storage_config::Config::StorageSecretName("secret".into())),
                }),
                server: Some("server".into()),
                model_spec: Some(oneof),
                parameters: vec![
                    ParameterSpec {
                        name: "foo".into(),
                        value: "bar".into(),
                    },
                    ParameterSpec {
                        name: "foo2".into(),
                        value: "bar2".into(),
                    },
                ],
                ..Default::default()
            },
            deployment(4, 0, UNBOUNDED, true),
        )
    }

    /// Vector 3 ("complex - explainer").
    #[test]
    fn complex_explainer() {
        let spec = complex(
            Some(CrExplainer {
                type_: "anchor_tabular".into(),
                model_ref: Some("income".into()),
                pipeline_ref: None,
            }),
            None,
        );
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(complex_expected(model_spec::ModelSpec::Explainer(
                ExplainerSpec {
                    r#type: "anchor_tabular".into(),
                    model_ref: Some("income".into()),
                    pipeline_ref: None,
                }
            )))
        );
    }

    /// Vector 4 ("complex - llm").
    #[test]
    fn complex_llm() {
        let spec = complex(
            None,
            Some(CrLlm {
                model_ref: Some("chat-gpt".into()),
                pipeline_ref: None,
            }),
        );
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(complex_expected(model_spec::ModelSpec::Llm(LlmSpec {
                model_ref: Some("chat-gpt".into()),
                pipeline_ref: None,
            })))
        );
    }

    /// Vector 5 ("memory"): decimal mega.
    #[test]
    fn memory_decimal() {
        let spec = ModelSpec {
            replicas: Some(1),
            ..with_memory("1M")
        };
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(request(
                pb::ModelSpec {
                    memory_bytes: Some(1_000_000),
                    ..uri("gs://test")
                },
                deployment(1, 0, UNBOUNDED, false)
            ))
        );
    }

    /// A user's usual memory request: binary giga.
    #[test]
    fn memory_2gi() {
        assert_eq!(
            load_model_request(&model(with_memory("2Gi"))),
            Ok(request(
                pb::ModelSpec {
                    memory_bytes: Some(2_147_483_648),
                    ..uri("gs://test")
                },
                deployment(1, 0, UNBOUNDED, false)
            ))
        );
    }

    #[test]
    fn memory_that_is_not_whole_bytes_names_the_field() {
        let err = load_model_request(&model(with_memory("100m"))).unwrap_err();
        assert_eq!(
            err,
            TranslateError::Memory {
                quantity: "100m".into(),
                cause: QuantityError::NotWholeBytes
            }
        );
        assert_eq!(
            err.to_string(),
            "spec.memory: Can't convert model memory quantity to bytes. 100m: not a whole number of bytes"
        );
    }

    /// Seldon wraps negative memory around to a huge uint64; we refuse it.
    #[test]
    fn negative_memory_is_rejected() {
        let err = load_model_request(&model(with_memory("-1Gi"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.memory: Can't convert model memory quantity to bytes. -1Gi: negative quantities are not allowed"
        );
        assert_eq!(err.fields(), ["spec.memory"]);
    }

    #[test]
    fn memory_overflow_and_garbage() {
        assert_eq!(
            load_model_request(&model(with_memory("16Ei"))).unwrap_err(),
            TranslateError::Memory {
                quantity: "16Ei".into(),
                cause: QuantityError::TooLarge
            }
        );
        assert_eq!(
            load_model_request(&model(with_memory("2GB"))).unwrap_err(),
            TranslateError::Memory {
                quantity: "2GB".into(),
                cause: QuantityError::UnknownSuffix("GB".into())
            }
        );
    }

    /// Vector 6 ("simple min replica").
    #[test]
    fn min_replicas_only() {
        let spec = ModelSpec {
            storage_uri: "gs://test".into(),
            min_replicas: Some(4),
            ..Default::default()
        };
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(request(
                uri("gs://test"),
                deployment(4, 4, UNBOUNDED, false)
            ))
        );
    }

    /// Vector 7 ("simple max replica").
    #[test]
    fn max_replicas() {
        let spec = ModelSpec {
            storage_uri: "gs://test".into(),
            replicas: Some(1),
            max_replicas: Some(4),
            ..Default::default()
        };
        assert_eq!(
            load_model_request(&model(spec)),
            Ok(request(uri("gs://test"), deployment(1, 0, 4, false)))
        );
    }

    /// Vectors 8 and 9 ("range violation min" / "max").
    #[test]
    fn range_violations() {
        let below_min = ModelSpec {
            storage_uri: "gs://test".into(),
            replicas: Some(1),
            min_replicas: Some(4),
            ..Default::default()
        };
        let err = load_model_request(&model(below_min)).unwrap_err();
        assert_eq!(
            err,
            TranslateError::Scaling {
                cause: ScalingError::ReplicasBelowMin {
                    replicas: 1,
                    min: 4
                }
            }
        );
        assert_eq!(
            err.to_string(),
            "spec.replicas, spec.minReplicas: scaling spec is invalid: number of replicas 1 must be >= min replicas 4"
        );
        let above_max = ModelSpec {
            storage_uri: "gs://test".into(),
            replicas: Some(4),
            max_replicas: Some(1),
            ..Default::default()
        };
        assert_eq!(
            load_model_request(&model(above_max))
                .unwrap_err()
                .to_string(),
            "spec.replicas, spec.maxReplicas: scaling spec is invalid: number of replicas 4 must be <= max replicas 1"
        );
    }

    /// Vector 26: the resync of a Model with an empty spec.
    #[test]
    fn empty_spec() {
        assert_eq!(
            load_model_request(&model(ModelSpec::default())),
            Ok(request(uri(""), deployment(1, 0, UNBOUNDED, false)))
        );
    }

    /// Every CR field set at once, including the ones the scheduler ignores.
    #[test]
    fn every_field() {
        let spec = ModelSpec {
            storage_uri: "s3://models/iris".into(),
            model_type: Some("sklearn".into()),
            artifact_version: Some(0),
            schema_uri: Some("s3://models/iris/schema.json".into()),
            secret_name: Some("s3-creds".into()),
            requirements: vec!["mlserver".into()],
            memory: Some(Quantity("1.5Gi".into())),
            replicas: Some(2),
            min_replicas: Some(1),
            max_replicas: Some(3),
            server: Some("mlserver-a".into()),
            preloaded: true,
            dedicated: true,
            logger: Some(LoggingSpec { percent: Some(10) }),
            explainer: Some(CrExplainer {
                type_: "anchor_tabular".into(),
                model_ref: None,
                pipeline_ref: Some("income-pipeline".into()),
            }),
            parameters: vec![CrParameter {
                name: "threshold".into(),
                value: "0.5".into(),
            }],
            llm: None,
            dataflow: Some(DataflowConfig {
                clean_topics_on_delete: true,
            }),
        };
        let mut m = model(spec);
        m.metadata.generation = Some(7);
        m.metadata.namespace = Some("team-a".into());
        let expected = LoadModelRequest {
            model: Some(pb::Model {
                meta: Some(MetaData {
                    name: "foo".into(),
                    kind: None,
                    version: None,
                    kubernetes_meta: Some(pb::KubernetesMeta {
                        namespace: "team-a".into(),
                        generation: 7,
                    }),
                }),
                model_spec: Some(pb::ModelSpec {
                    uri: "s3://models/iris".into(),
                    artifact_version: Some(0),
                    storage_config: Some(StorageConfig {
                        config: Some(storage_config::Config::StorageSecretName("s3-creds".into())),
                    }),
                    requirements: vec!["mlserver".into(), "sklearn".into()],
                    memory_bytes: Some(1_610_612_736),
                    server: Some("mlserver-a".into()),
                    parameters: vec![ParameterSpec {
                        name: "threshold".into(),
                        value: "0.5".into(),
                    }],
                    model_runtime_info: None,
                    model_spec: Some(model_spec::ModelSpec::Explainer(ExplainerSpec {
                        r#type: "anchor_tabular".into(),
                        model_ref: None,
                        pipeline_ref: Some("income-pipeline".into()),
                    })),
                }),
                deployment_spec: deployment(2, 1, 3, true),
                stream_spec: None,
                dataflow_spec: Some(DataflowSpec {
                    clean_topics_on_delete: true,
                }),
            }),
        };
        assert_eq!(load_model_request(&m), Ok(expected));
    }

    /// Vector 28 (docs/seldon-compat.md#translate-model-unload): unload carries name and kubernetesMeta only.
    #[test]
    fn unload() {
        let mut m = model(with_memory("not even a quantity"));
        assert_eq!(
            unload_model_request(&m),
            Ok(UnloadModelRequest {
                model: Some(ModelReference {
                    name: "foo".into(),
                    version: None
                }),
                kubernetes_meta: Some(pb::KubernetesMeta {
                    namespace: "default".into(),
                    generation: 1
                }),
            })
        );
        m.metadata.namespace = None;
        assert_eq!(
            unload_model_request(&m),
            Err(TranslateError::MissingNamespace {
                kind: "Model",
                name: "foo".into()
            })
        );
    }

    #[test]
    fn missing_namespace_is_reported_before_spec_errors() {
        let mut m = model(with_memory("100m"));
        m.metadata.namespace = None;
        assert_eq!(
            load_model_request(&m).unwrap_err().fields(),
            ["metadata.namespace"]
        );
    }
}
