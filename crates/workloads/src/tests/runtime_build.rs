//! SeldonRuntime -> control plane: Seldon's objects for the sample runtime,
//! the adjustments and disabled components reported, and bad input.

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use serde_json::Value;
use switchyard_api::pod_spec::OverridePodSpec;
use switchyard_api::runtime::OverrideSpec;

use super::fixtures::{self, assert_same_objects, json};
use crate::runtime::{self, Adjusted, Counts, RuntimeObjects};
use crate::{BuildError, Workload};

const SAMPLE_COUNTS: Counts = Counts {
    models: 1,
    pipelines: 0,
};

pub(super) fn objects_json(objects: &RuntimeObjects) -> Vec<Value> {
    let mut values = Vec::new();
    values.extend(objects.service_accounts.iter().map(json));
    values.extend(objects.roles.iter().map(json));
    values.extend(objects.role_bindings.iter().map(json));
    values.extend(objects.config_maps.iter().map(json));
    values.extend(objects.services.iter().map(json));
    values.extend(objects.workloads.iter().map(|w| match w {
        Workload::StatefulSet(s) => json(s),
        Workload::Deployment(d) => json(d),
    }));
    values
}

#[test]
fn the_sample_runtime_is_built_as_seldon_builds_it() {
    let objects = runtime::build(
        &fixtures::runtime(),
        &fixtures::seldon_config(),
        SAMPLE_COUNTS,
    )
    .unwrap();
    assert_same_objects(
        objects_json(&objects),
        fixtures::seldon_built("runtime-fraud.yaml"),
    );
}

#[test]
fn disabled_components_and_adjusted_replicas_are_reported() {
    let objects = runtime::build(
        &fixtures::runtime(),
        &fixtures::seldon_config(),
        SAMPLE_COUNTS,
    )
    .unwrap();
    assert_eq!(objects.disabled, ["hodometer"]);
    let adjusted = Adjusted {
        component: "seldon-modelgateway".to_owned(),
        from: 3,
        to: 1,
        reason: "ModelGatewayReplicasAdjusted",
    };
    assert_eq!(objects.adjusted, std::slice::from_ref(&adjusted));
    assert_eq!(
        adjusted.message(),
        "seldon-modelgateway requested replicas (3) exceeded maximum of 1 based on KafkaConfig \
         and resource count, adjusted to 1"
    );
    let order: Vec<_> = objects
        .workloads
        .iter()
        .map(|w| (w.kind(), w.name()))
        .collect();
    assert_eq!(
        order,
        [
            ("StatefulSet", "seldon-scheduler"),
            ("Deployment", "seldon-pipelinegateway"),
            ("Deployment", "seldon-modelgateway"),
            ("Deployment", "seldon-envoy"),
            ("Deployment", "seldon-dataflow-engine"),
        ]
    );
}

#[test]
fn without_overrides_every_component_runs_one_replica() {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides.clear();
    let mut config = fixtures::seldon_config();
    // The component's own replicas are ignored, as in Seldon.
    config.spec.components[1].replicas = Some(5);
    let objects = runtime::build(&runtime, &config, Counts::default()).unwrap();
    assert!(objects.disabled.is_empty());
    assert!(objects.adjusted.is_empty());
    assert_eq!(objects.workloads.len(), 6);
    assert!(objects.workloads.iter().all(|w| w.replicas() == Some(1)));
    // Without an override the Services take the service config's type.
    let types: Vec<_> = objects
        .services
        .iter()
        .map(|s| s.spec.as_ref().unwrap().type_.clone())
        .collect();
    assert_eq!(
        types,
        [
            Some("LoadBalancer".to_owned()),
            Some("LoadBalancer".to_owned())
        ]
    );
}

fn override_(name: &str) -> OverrideSpec {
    OverrideSpec {
        name: name.to_owned(),
        ..OverrideSpec::default()
    }
}

#[test]
fn an_unknown_override_is_named() {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides.push(override_("seldon-foo"));
    let error = runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SeldonRuntime fraud/seldon: spec.overrides[4].name \"seldon-foo\" is not a component of \
         SeldonConfig default"
    );
}

#[test]
fn two_overrides_of_one_component_are_refused() {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides.push(override_("seldon-envoy"));
    let error = runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).unwrap_err();
    assert_eq!(
        error,
        BuildError::DuplicateOverride {
            object: "SeldonRuntime fraud/seldon".to_owned(),
            index: 4,
            first: 1,
            name: "seldon-envoy".to_owned(),
        }
    );
}

#[test]
fn two_components_of_one_name_are_refused() {
    let mut config = fixtures::seldon_config();
    let copy = config.spec.components[0].clone();
    config.spec.components.push(copy);
    let error = runtime::build(&fixtures::runtime(), &config, SAMPLE_COUNTS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SeldonConfig default: spec.components[6].name \"seldon-scheduler\" repeats spec.components[0]"
    );
}

#[test]
fn an_enabled_component_without_a_pod_is_named_a_disabled_one_is_fine() {
    let mut config = fixtures::seldon_config();
    config.spec.components[3].pod_spec = None; // hodometer, disabled by the sample
    assert!(runtime::build(&fixtures::runtime(), &config, SAMPLE_COUNTS).is_ok());
    config.spec.components[4].pod_spec = None; // envoy
    let error = runtime::build(&fixtures::runtime(), &config, SAMPLE_COUNTS).unwrap_err();
    assert_eq!(
        error,
        BuildError::MissingPodSpec {
            config: "default".to_owned(),
            index: 4,
            name: "seldon-envoy".to_owned(),
        }
    );
}

#[test]
fn a_bad_override_pod_spec_is_named() {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides[1].pod_spec = Some(OverridePodSpec(PodSpec {
        volumes: Some(vec![k8s_openapi::api::core::v1::Volume {
            name: "tracing-config-volume".to_owned(),
            ..Default::default()
        }]),
        ..PodSpec::default()
    }));
    // envoy's template has no volumes: appending one is fine.
    assert!(runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).is_ok());
    runtime.spec.overrides[3].pod_spec = runtime.spec.overrides[1].pod_spec.clone();
    // The scheduler's has it already.
    let error = runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).unwrap_err();
    let BuildError::PodSpecMerge { object, field, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(object, "SeldonRuntime fraud/seldon");
    assert_eq!(field, "spec.overrides[3].podSpec.volumes[0].name");
}

#[test]
fn negative_override_replicas_are_named() {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides[1].replicas = Some(-2);
    let error = runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SeldonRuntime fraud/seldon: spec.overrides[1].replicas = \"-2\": replicas cannot be negative"
    );
}

fn with_max_consumers(value: &str) -> OverridePodSpec {
    OverridePodSpec(PodSpec {
        containers: vec![Container {
            name: "modelgateway".to_owned(),
            env: Some(vec![EnvVar {
                name: "MODELGATEWAY_MAX_NUM_CONSUMERS".to_owned(),
                value: Some(value.to_owned()),
                value_from: None,
            }]),
            ..Container::default()
        }],
        ..PodSpec::default()
    })
}

#[test]
fn a_bad_max_consumers_value_is_named() {
    for bad in ["abc", "0", "-3", "1.5"] {
        let mut config = fixtures::seldon_config();
        let pod = config.spec.components[2].pod_spec.as_mut().unwrap();
        pod.containers[0].env.as_mut().unwrap()[0].value = Some(bad.to_owned());
        let error = runtime::build(&fixtures::runtime(), &config, SAMPLE_COUNTS).unwrap_err();
        let BuildError::InvalidValue {
            object,
            field,
            value,
            ..
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!(object, "SeldonRuntime fraud/seldon");
        assert!(field.contains("seldon-modelgateway"), "{field}");
        assert!(field.contains("MODELGATEWAY_MAX_NUM_CONSUMERS"), "{field}");
        assert_eq!(value, bad);
    }
}

#[test]
fn the_override_env_counts_only_when_first() {
    // The override's entry is appended after the template's, and Seldon
    // reads the first: the template's 100 stays in force.
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides[2].pod_spec = Some(with_max_consumers("abc"));
    assert!(runtime::build(&runtime, &fixtures::seldon_config(), SAMPLE_COUNTS).is_ok());
}
