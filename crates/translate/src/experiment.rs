//! Experiment -> `StartExperimentRequest` and `StopExperimentRequest`
//! (docs/seldon-compat.md#translate-experiment).
//!
//! `resourceType: pipeline` makes an experiment over pipelines; any other
//! value, or none, one over models (Seldon's rule, kept so manifests behave
//! the same). `config` (sticky sessions) cannot be expressed in the resource
//! and is never sent.

use super::TranslateError;
use super::meta::{kubernetes_meta, name};
use switchyard_api::experiment::{Experiment, ExperimentSpec};
use switchyard_proto::scheduler::{
    self as pb, ExperimentCandidate, ExperimentMirror, ResourceType, StartExperimentRequest,
    StopExperimentRequest,
};

const KIND: &str = "Experiment";

/// The `resourceType` value that selects pipelines.
pub const PIPELINE_RESOURCE_TYPE: &str = "pipeline";

/// The request the operator sends when an Experiment is created or changed.
pub fn start_experiment_request(
    experiment: &Experiment,
) -> Result<StartExperimentRequest, TranslateError> {
    Ok(StartExperimentRequest {
        experiment: Some(scheduler_experiment(experiment)?),
    })
}

/// The scheduler's `Experiment` for an Experiment resource.
pub fn scheduler_experiment(experiment: &Experiment) -> Result<pb::Experiment, TranslateError> {
    let kubernetes_meta = kubernetes_meta(&experiment.metadata, KIND)?;
    let ExperimentSpec {
        default,
        candidates,
        mirror,
        resource_type,
    } = &experiment.spec;
    let resource_type = match resource_type.as_deref() {
        Some(PIPELINE_RESOURCE_TYPE) => ResourceType::Pipeline,
        _ => ResourceType::Model,
    };
    Ok(pb::Experiment {
        name: name(&experiment.metadata, KIND)?.to_string(),
        default: default.clone(),
        candidates: candidates
            .iter()
            .map(|c| ExperimentCandidate {
                name: c.name.clone(),
                weight: c.weight,
            })
            .collect(),
        mirror: mirror.as_ref().map(|m| ExperimentMirror {
            name: m.name.clone(),
            percent: m.percent,
        }),
        config: None,
        kubernetes_meta: Some(kubernetes_meta),
        resource_type: resource_type as i32,
    })
}

/// The request the operator sends when an Experiment is being deleted: the
/// name only (no namespace or generation, as in Seldon).
pub fn stop_experiment_request(
    experiment: &Experiment,
) -> Result<StopExperimentRequest, TranslateError> {
    Ok(StopExperimentRequest {
        name: name(&experiment.metadata, KIND)?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::test_support::object_meta;
    use switchyard_api::experiment::{
        ExperimentCandidate as CrCandidate, ExperimentMirror as CrMirror,
    };
    use switchyard_proto::scheduler::KubernetesMeta;

    fn experiment(spec: ExperimentSpec) -> Experiment {
        Experiment {
            metadata: object_meta("foo", 1),
            spec,
            status: None,
        }
    }

    fn spec(prefix: &str, resource_type: Option<&str>) -> ExperimentSpec {
        ExperimentSpec {
            default: Some(format!("{prefix}1")),
            candidates: vec![
                CrCandidate {
                    name: format!("{prefix}1"),
                    weight: 20,
                },
                CrCandidate {
                    name: format!("{prefix}2"),
                    weight: 30,
                },
            ],
            mirror: Some(CrMirror {
                name: format!("{prefix}4"),
                percent: 40,
            }),
            resource_type: resource_type.map(str::to_string),
        }
    }

    fn expected(prefix: &str, resource_type: ResourceType) -> StartExperimentRequest {
        StartExperimentRequest {
            experiment: Some(pb::Experiment {
                name: "foo".into(),
                default: Some(format!("{prefix}1")),
                candidates: vec![
                    ExperimentCandidate {
                        name: format!("{prefix}1"),
                        weight: 20,
                    },
                    ExperimentCandidate {
                        name: format!("{prefix}2"),
                        weight: 30,
                    },
                ],
                mirror: Some(ExperimentMirror {
                    name: format!("{prefix}4"),
                    percent: 40,
                }),
                config: None,
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: "default".into(),
                    generation: 1,
                }),
                resource_type: resource_type as i32,
            }),
        }
    }

    /// Vector 11: models, with a mirror.
    #[test]
    fn over_models() {
        assert_eq!(
            start_experiment_request(&experiment(spec("model", None))),
            Ok(expected("model", ResourceType::Model))
        );
        assert_eq!(
            start_experiment_request(&experiment(spec("model", Some("model")))),
            Ok(expected("model", ResourceType::Model))
        );
    }

    /// Vector 12: pipelines.
    #[test]
    fn over_pipelines() {
        assert_eq!(
            start_experiment_request(&experiment(spec("pipeline", Some("pipeline")))),
            Ok(expected("pipeline", ResourceType::Pipeline))
        );
    }

    /// Seldon's rule: only the exact string `pipeline` selects pipelines.
    #[test]
    fn other_resource_types_mean_models() {
        for other in ["", "Pipeline", "pipelines", "model"] {
            assert_eq!(
                start_experiment_request(&experiment(spec("x", Some(other)))),
                Ok(expected("x", ResourceType::Model)),
                "{other:?}"
            );
        }
    }

    /// Vector 27: an experiment with nothing but a name.
    #[test]
    fn empty_spec() {
        assert_eq!(
            start_experiment_request(&experiment(ExperimentSpec::default())),
            Ok(StartExperimentRequest {
                experiment: Some(pb::Experiment {
                    name: "foo".into(),
                    kubernetes_meta: Some(KubernetesMeta {
                        namespace: "default".into(),
                        generation: 1,
                    }),
                    ..Default::default()
                })
            })
        );
    }

    #[test]
    fn stop_is_the_name_only() {
        let mut e = experiment(spec("model", None));
        e.metadata.namespace = None;
        assert_eq!(
            stop_experiment_request(&e),
            Ok(StopExperimentRequest { name: "foo".into() })
        );
        assert_eq!(
            start_experiment_request(&e).unwrap_err().fields(),
            ["metadata.namespace"]
        );
    }
}
