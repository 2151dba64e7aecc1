//! Server -> workload: Seldon's objects for the sample Server, Deployment
//! mode, the capabilities rewrite, replica Services and bad input.

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use serde_json::Value;
use switchyard_api::pod_spec::OverridePodSpec;

use super::fixtures::{self, assert_same_objects, json};
use crate::server::{self, ServerMode, rewrite_capabilities};
use crate::{BuildError, Workload};

fn objects_json(objects: &server::ServerObjects) -> Vec<Value> {
    let mut values: Vec<Value> = objects.services.iter().map(json).collect();
    values.push(match &objects.workload {
        Workload::StatefulSet(s) => json(s),
        Workload::Deployment(d) => json(d),
    });
    values
}

#[test]
fn the_sample_server_is_built_as_seldon_builds_it() {
    let objects = server::build(
        &fixtures::server(),
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        2,
    )
    .unwrap();
    assert_same_objects(
        objects_json(&objects),
        fixtures::seldon_built("server-mlserver.yaml"),
    );
}

#[test]
fn the_triton_server_as_a_deployment_is_built_as_seldon_builds_it() {
    let objects = server::build(
        &fixtures::triton_server(),
        &fixtures::triton_config(),
        ServerMode::Deployment,
        1,
    )
    .unwrap();
    assert!(objects.services.is_empty());
    assert_same_objects(
        objects_json(&objects),
        fixtures::seldon_built("server-triton-deployment.yaml"),
    );
}

#[test]
fn deployment_mode_has_the_same_pods_a_strategy_and_no_services() {
    let mut server = fixtures::server();
    server.spec.deployment_strategy = Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
        type_: Some("Recreate".to_owned()),
        rolling_update: None,
    });
    let config = fixtures::mlserver_config();
    let stateful = server::build(&server, &config, ServerMode::StatefulSet, 3).unwrap();
    let deployed = server::build(&server, &config, ServerMode::Deployment, 3).unwrap();
    assert!(deployed.services.is_empty());
    let Workload::Deployment(deployment) = &deployed.workload else {
        panic!("a Deployment");
    };
    assert_eq!(deployed.workload.kind(), "Deployment");
    assert_eq!(deployed.workload.name(), "mlserver");
    assert_eq!(deployed.workload.replicas(), Some(3));
    assert_eq!(
        deployed.workload.pod_template(),
        stateful.workload.pod_template()
    );
    let spec = &deployment.spec;
    assert_eq!(
        spec.strategy.as_ref().unwrap().type_.as_deref(),
        Some("Recreate")
    );
    assert_eq!(
        deployment.metadata,
        match &stateful.workload {
            Workload::StatefulSet(s) => s.metadata.clone(),
            Workload::Deployment(_) => unreachable!(),
        }
    );
}

#[test]
fn retention_policy_and_replica_services_follow_the_server() {
    let mut server = fixtures::server();
    let policy = k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some("Delete".to_owned()),
        when_scaled: Some("Retain".to_owned()),
    };
    server
        .spec
        .stateful_set_persistent_volume_claim_retention_policy = Some(policy.clone());
    let objects = server::build(
        &server,
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        3,
    )
    .unwrap();
    let Workload::StatefulSet(set) = &objects.workload else {
        panic!("a StatefulSet");
    };
    let spec = &set.spec;
    assert_eq!(spec.persistent_volume_claim_retention_policy, Some(policy));
    let names: Vec<_> = objects
        .services
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["mlserver-0", "mlserver-1", "mlserver-2"]);
    assert_eq!(server::replica_service_names("mlserver", 3), names);
    assert!(server::replica_service_names("mlserver", 0).is_empty());
    assert_eq!(server::selector("mlserver"), "seldon-server-name=mlserver");

    let none = server::build(
        &server,
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        0,
    )
    .unwrap();
    assert!(none.services.is_empty());
    assert_eq!(none.workload.replicas(), Some(0));
}

#[test]
fn triton_without_override_keeps_the_template_pod_and_capabilities_replace() {
    let mut server = fixtures::server();
    server.metadata.name = Some("triton".to_owned());
    server.spec.pod_spec = None;
    server.spec.extra_capabilities = vec!["ignored".to_owned()];
    server.spec.capabilities = vec!["triton".to_owned(), "onnx".to_owned()];
    let config = fixtures::triton_config();
    let objects = server::build(&server, &config, ServerMode::StatefulSet, 1).unwrap();
    let template = objects.workload.pod_template();
    let pod = template.spec.as_ref().unwrap();
    let mut expected = config.spec.pod_spec.clone();
    rewrite_capabilities(
        &mut expected,
        &["triton".to_owned(), "onnx".to_owned()],
        &[],
    );
    assert_eq!(pod, &expected);
    let names: Vec<_> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["rclone", "agent", "triton"], "template order kept");
    let env = capabilities_env(pod);
    assert_eq!(env, [Some("triton,onnx".to_owned())]);
    let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
    assert_eq!(labels["seldon-server-name"], "triton");
    assert_eq!(labels["app.kubernetes.io/name"], "seldon-server");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
}

fn capabilities_env(pod: &PodSpec) -> Vec<Option<String>> {
    pod.containers
        .iter()
        .flat_map(|c| c.env.iter().flatten())
        .filter(|e| e.name == server::CAPABILITIES_ENV)
        .map(|e| e.value.clone())
        .collect()
}

#[test]
fn capabilities_rewrite_only_where_the_variable_is() {
    let with = |value: Option<&str>, from_field: bool| Container {
        name: "agent".to_owned(),
        env: Some(vec![
            EnvVar {
                name: "OTHER".to_owned(),
                value: Some("x".to_owned()),
                value_from: None,
            },
            EnvVar {
                name: server::CAPABILITIES_ENV.to_owned(),
                value: value.map(str::to_owned),
                value_from: from_field.then(Default::default),
            },
        ]),
        ..Container::default()
    };
    let pod = PodSpec {
        containers: vec![
            with(Some("a,b"), false),
            with(None, true),
            Container {
                name: "server".to_owned(),
                ..Container::default()
            },
        ],
        ..PodSpec::default()
    };

    let mut untouched = pod.clone();
    rewrite_capabilities(&mut untouched, &[], &[]);
    assert_eq!(untouched, pod);

    let mut extra = pod.clone();
    rewrite_capabilities(&mut extra, &[], &["c".to_owned(), "d".to_owned()]);
    assert_eq!(
        capabilities_env(&extra),
        [Some("a,b,c,d".to_owned()), Some(",c,d".to_owned())]
    );
    // The rewritten entry is a plain value; others and other containers stay.
    let second = &extra.containers[1].env.as_ref().unwrap()[1];
    assert!(second.value_from.is_none());
    assert_eq!(
        extra.containers[0].env.as_ref().unwrap()[0],
        pod.containers[0].env.as_ref().unwrap()[0]
    );
    assert_eq!(extra.containers[2], pod.containers[2]);

    let mut replaced = pod.clone();
    rewrite_capabilities(
        &mut replaced,
        &["x".to_owned(), "y".to_owned()],
        &["z".to_owned()],
    );
    assert_eq!(
        capabilities_env(&replaced),
        [Some("x,y".to_owned()), Some("x,y".to_owned())]
    );
}

#[test]
fn a_server_not_read_from_the_api_server_is_refused() {
    let mut server = fixtures::server();
    server.metadata.uid = None;
    let error = server::build(
        &server,
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        1,
    )
    .unwrap_err();
    assert_eq!(
        error,
        BuildError::MissingMetadata {
            object: "Server fraud/mlserver".to_owned(),
            field: "uid"
        }
    );
    assert_eq!(
        error.to_string(),
        "Server fraud/mlserver: metadata.uid is not set (build from the object as the API server stores it)"
    );
    let mut server = fixtures::server();
    server.metadata.namespace = None;
    let error = server::build(
        &server,
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        1,
    )
    .unwrap_err();
    assert!(matches!(
        error,
        BuildError::MissingMetadata {
            field: "namespace",
            ..
        }
    ));
}

#[test]
fn negative_replicas_are_refused() {
    let error = server::build(
        &fixtures::server(),
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        -1,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Server fraud/mlserver: spec.replicas = \"-1\": replicas cannot be negative"
    );
}

#[test]
fn an_override_that_makes_an_invalid_pod_names_the_field() {
    let mut server = fixtures::server();
    let mut pod = server.spec.pod_spec.clone().unwrap().0;
    pod.containers.push(Container {
        name: "sidecar".to_owned(),
        ..Container::default()
    });
    server.spec.pod_spec = Some(OverridePodSpec(pod));
    let error = server::build(
        &server,
        &fixtures::mlserver_config(),
        ServerMode::StatefulSet,
        1,
    )
    .unwrap_err();
    let BuildError::PodSpecMerge { object, field, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(object, "Server fraud/mlserver");
    assert_eq!(field, "spec.podSpec.containers[1].image");
    assert!(
        error
            .to_string()
            .contains("\"sidecar\" is not in the template"),
        "{error}"
    );
}

#[test]
fn a_server_named_like_a_runtime_component_is_refused() {
    let mut server = fixtures::server();
    server.metadata.name = Some("seldon-scheduler".to_owned());
    for mode in [ServerMode::StatefulSet, ServerMode::Deployment] {
        let error = server::build(&server, &fixtures::mlserver_config(), mode, 1).unwrap_err();
        assert_eq!(
            error,
            BuildError::NameConflict {
                object: "Server fraud/seldon-scheduler".to_owned(),
                name: "seldon-scheduler".to_owned(),
            }
        );
    }
}
