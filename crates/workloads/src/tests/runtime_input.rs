//! The runtime's inputs: the configuration merge (`AddDefaults`), the
//! Services' type rule, the ConfigMaps' encodings and the replica caps.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use switchyard_api::runtime::OverrideSpec;
use switchyard_api::seldon_config::{
    AgentConfiguration, KafkaConfig, ModelScalingConfig, PipelineScalingConfig,
    RcloneConfiguration, ScalingConfig, SeldonConfiguration, ServiceConfig, TracingConfig,
};

use super::fixtures;
use crate::BuildError;
use crate::runtime::{self, Counts, config};

fn s(value: &str) -> IntOrString {
    IntOrString::String(value.to_owned())
}

#[test]
fn the_runtime_config_wins_and_the_seldon_config_fills_gaps() {
    let own = SeldonConfiguration {
        tracing_config: Some(TracingConfig {
            disable: true,
            ratio: "0.5".to_owned(),
            ..TracingConfig::default()
        }),
        kafka_config: Some(KafkaConfig {
            topic_prefix: "fraud".to_owned(),
            consumer: BTreeMap::from([("a".to_owned(), IntOrString::Int(1))]),
            topics: BTreeMap::from([("numPartitions".to_owned(), s("8"))]),
            ..KafkaConfig::default()
        }),
        agent_config: Some(AgentConfiguration {
            rclone: Some(RcloneConfiguration {
                config_secrets: vec!["mine".to_owned(), "shared".to_owned()],
                config: vec![],
            }),
        }),
        service_config: Some(ServiceConfig {
            grpc_service_prefix: "grpc-".to_owned(),
            service_type: String::new(),
        }),
        scaling_config: Some(ScalingConfig {
            models: Some(ModelScalingConfig { enabled: true }),
            ..ScalingConfig::default()
        }),
    };
    let defaults = SeldonConfiguration {
        tracing_config: Some(TracingConfig {
            disable: false,
            otel_exporter_endpoint: "collector:4317".to_owned(),
            otel_exporter_protocol: "grpc".to_owned(),
            ratio: "1".to_owned(),
        }),
        kafka_config: Some(KafkaConfig {
            bootstrap_servers: "kafka:9092".to_owned(),
            topic_prefix: "seldon".to_owned(),
            debug: "all".to_owned(),
            consumer: BTreeMap::from([
                ("a".to_owned(), IntOrString::Int(2)),
                ("b".to_owned(), s("x")),
            ]),
            producer: BTreeMap::from([("p".to_owned(), IntOrString::Int(0))]),
            streams: BTreeMap::from([("r".to_owned(), IntOrString::Int(3))]),
            topics: BTreeMap::from([
                ("numPartitions".to_owned(), s("4")),
                ("replicationFactor".to_owned(), s("3")),
            ]),
            ..KafkaConfig::default()
        }),
        agent_config: Some(AgentConfiguration {
            rclone: Some(RcloneConfiguration {
                config_secrets: vec!["shared".to_owned()],
                config: vec!["{}".to_owned()],
            }),
        }),
        service_config: Some(ServiceConfig {
            grpc_service_prefix: "ignored-".to_owned(),
            service_type: "NodePort".to_owned(),
        }),
        scaling_config: Some(ScalingConfig {
            models: Some(ModelScalingConfig { enabled: false }),
            servers: None,
            pipelines: Some(PipelineScalingConfig {
                max_shard_count_multiplier: 4,
            }),
        }),
    };
    let merged = config::merge(Some(&own), Some(&defaults));
    assert_eq!(
        merged.tracing_config,
        Some(TracingConfig {
            disable: true,
            otel_exporter_endpoint: "collector:4317".to_owned(),
            otel_exporter_protocol: "grpc".to_owned(),
            ratio: "0.5".to_owned(),
        })
    );
    assert_eq!(
        merged.kafka_config,
        Some(KafkaConfig {
            bootstrap_servers: "kafka:9092".to_owned(),
            consumer_group_id_prefix: String::new(),
            debug: "all".to_owned(),
            topic_prefix: "fraud".to_owned(),
            consumer: BTreeMap::from([
                ("a".to_owned(), IntOrString::Int(1)),
                ("b".to_owned(), s("x")),
            ]),
            producer: BTreeMap::from([("p".to_owned(), IntOrString::Int(0))]),
            streams: BTreeMap::from([("r".to_owned(), IntOrString::Int(3))]),
            // The runtime's topics are taken as they are, not merged.
            topics: BTreeMap::from([("numPartitions".to_owned(), s("8"))]),
        })
    );
    assert_eq!(
        merged.agent_config,
        Some(AgentConfiguration {
            rclone: Some(RcloneConfiguration {
                config_secrets: vec!["mine".to_owned(), "shared".to_owned(), "shared".to_owned()],
                config: vec!["{}".to_owned()],
            }),
        })
    );
    assert_eq!(
        merged.service_config,
        Some(ServiceConfig {
            grpc_service_prefix: "grpc-".to_owned(),
            service_type: "NodePort".to_owned(),
        })
    );
    assert_eq!(
        merged.scaling_config,
        Some(ScalingConfig {
            models: Some(ModelScalingConfig { enabled: true }),
            servers: None,
            pipelines: Some(PipelineScalingConfig {
                max_shard_count_multiplier: 4,
            }),
        })
    );
}

#[test]
fn with_no_config_at_all_the_config_maps_are_seldons_empty_ones() {
    let mut runtime = fixtures::runtime();
    runtime.spec.config = None;
    let mut seldon_config = fixtures::seldon_config();
    seldon_config.spec.config = None;
    let objects = runtime::build(&runtime, &seldon_config, Counts::default()).unwrap();
    let data: BTreeMap<_, _> = objects
        .config_maps
        .iter()
        .map(|c| (c.metadata.name.clone().unwrap(), c.data.clone().unwrap()))
        .collect();
    assert_eq!(data["seldon-agent"]["agent.yaml"], "rclone: {}\n");
    assert_eq!(data["seldon-kafka"]["kafka.json"], "{}");
    assert_eq!(data["seldon-scaling"]["scaling.yaml"], "{}\n");
    assert_eq!(data["seldon-tracing"]["tracing.json"], "{}");
    assert_eq!(data["seldon-tracing"]["OTEL_JAVAAGENT_ENABLED"], "true");
    assert_eq!(
        data["seldon-tracing"]["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://"
    );
    assert_eq!(data["seldon-tracing"]["OTEL_EXPORTER_OTLP_PROTOCOL"], "");
}

#[test]
fn json_is_escaped_as_go_escapes_it() {
    let kafka = KafkaConfig {
        debug: "a&b<c>".to_owned(),
        topic_prefix: "t".to_owned(),
        ..KafkaConfig::default()
    };
    assert_eq!(
        runtime::kafka_json(&kafka),
        r#"{"debug":"a\u0026b\u003cc\u003e","topicPrefix":"t"}"#
    );
    let tracing = TracingConfig {
        disable: true,
        ..TracingConfig::default()
    };
    assert_eq!(runtime::tracing_json(&tracing), r#"{"disable":true}"#);
}

fn service_types(overrides: Vec<OverrideSpec>, configured: &str) -> Vec<Option<String>> {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides = overrides;
    runtime.spec.config = None;
    let mut seldon_config = fixtures::seldon_config();
    if let Some(service) = seldon_config
        .spec
        .config
        .as_mut()
        .and_then(|c| c.service_config.as_mut())
    {
        service.service_type = configured.to_owned();
    }
    let objects = runtime::build(&runtime, &seldon_config, Counts::default()).unwrap();
    objects
        .services
        .iter()
        .map(|s| s.spec.as_ref().unwrap().type_.clone())
        .collect()
}

#[test]
fn service_types_follow_seldons_rule() {
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        service_types(vec![], ""),
        [some("LoadBalancer"), some("LoadBalancer")]
    );
    assert_eq!(
        service_types(vec![], "NodePort"),
        [some("NodePort"), some("NodePort")]
    );
    let envoy_replicas = OverrideSpec {
        name: "seldon-envoy".to_owned(),
        replicas: Some(2),
        ..OverrideSpec::default()
    };
    let scheduler_type = OverrideSpec {
        name: "seldon-scheduler".to_owned(),
        service_type: Some("ClusterIP".to_owned()),
        ..OverrideSpec::default()
    };
    // An override without a type still decides: the cluster's default.
    assert_eq!(
        service_types(vec![envoy_replicas, scheduler_type], "NodePort"),
        [some("ClusterIP"), None]
    );
}

#[test]
fn port_names_take_the_grpc_prefix_except_stats() {
    let mut runtime = fixtures::runtime();
    runtime.spec.config = Some(SeldonConfiguration {
        service_config: Some(ServiceConfig {
            grpc_service_prefix: "grpc-".to_owned(),
            service_type: String::new(),
        }),
        ..SeldonConfiguration::default()
    });
    let objects = runtime::build(&runtime, &fixtures::seldon_config(), Counts::default()).unwrap();
    let names: Vec<Vec<String>> = objects
        .services
        .iter()
        .map(|s| {
            s.spec
                .as_ref()
                .unwrap()
                .ports
                .iter()
                .flatten()
                .map(|p| p.name.clone().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [
            vec![
                "grpc-xds",
                "grpc-scheduler",
                "grpc-scheduler-mtls",
                "grpc-agent",
                "grpc-agent-mtls",
                "grpc-dataflow"
            ],
            vec!["grpc-data", "stats"],
        ]
    );
}

/// Replicas built for the three capped components, each asking for `asked`.
fn capped(asked: i32, multiplier: Option<i32>, counts: Counts) -> Result<Vec<i32>, BuildError> {
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides = [
        "seldon-dataflow-engine",
        "seldon-pipelinegateway",
        "seldon-modelgateway",
    ]
    .into_iter()
    .map(|name| OverrideSpec {
        name: name.to_owned(),
        replicas: Some(asked),
        ..OverrideSpec::default()
    })
    .collect();
    runtime.spec.config = multiplier.map(|m| SeldonConfiguration {
        scaling_config: Some(ScalingConfig {
            pipelines: Some(PipelineScalingConfig {
                max_shard_count_multiplier: m,
            }),
            ..ScalingConfig::default()
        }),
        ..SeldonConfiguration::default()
    });
    let objects = runtime::build(&runtime, &fixtures::seldon_config(), counts)?;
    let by_name: BTreeMap<_, _> = objects
        .workloads
        .iter()
        .map(|w| (w.name().to_owned(), w.replicas().unwrap()))
        .collect();
    Ok(vec![
        by_name["seldon-dataflow-engine"],
        by_name["seldon-pipelinegateway"],
        by_name["seldon-modelgateway"],
    ])
}

#[test]
fn replica_caps() {
    let counts = |models, pipelines| Counts { models, pipelines };
    // None of their objects: at most one each.
    assert_eq!(capped(5, None, counts(0, 0)).unwrap(), [1, 1, 1]);
    // The SeldonConfig's multiplier (1) times the count.
    assert_eq!(capped(5, None, counts(2, 3)).unwrap(), [3, 3, 2]);
    // The runtime's multiplier.
    assert_eq!(capped(50, Some(4), counts(2, 3)).unwrap(), [12, 12, 8]);
    // Below the cap nothing changes.
    assert_eq!(capped(2, Some(4), counts(2, 3)).unwrap(), [2, 2, 2]);
    // The count is bounded by the max consumers (100 by default).
    assert_eq!(
        capped(1000, Some(2), counts(500, 500)).unwrap(),
        [200, 200, 200]
    );
    // A multiplier left out (0) is 1, not a cap of zero (Seldon: zero).
    assert_eq!(capped(5, Some(0), counts(2, 3)).unwrap(), [3, 3, 2]);
    let error = capped(5, Some(-1), counts(2, 3)).unwrap_err();
    assert!(
        error.to_string().contains("maxShardCountMultiplier"),
        "{error}"
    );
}

#[test]
fn max_consumers_bound_the_gateways() {
    let mut config = fixtures::seldon_config();
    for (index, value) in [(1, "2"), (2, "")] {
        let pod = config.spec.components[index].pod_spec.as_mut().unwrap();
        pod.containers[0].env.as_mut().unwrap()[0].value = Some(value.to_owned());
    }
    let mut runtime = fixtures::runtime();
    runtime.spec.overrides = vec![
        OverrideSpec {
            name: "seldon-pipelinegateway".to_owned(),
            replicas: Some(10),
            ..OverrideSpec::default()
        },
        OverrideSpec {
            name: "seldon-modelgateway".to_owned(),
            replicas: Some(10),
            ..OverrideSpec::default()
        },
    ];
    runtime.spec.config = None;
    let counts = Counts {
        models: 7,
        pipelines: 7,
    };
    let objects = runtime::build(&runtime, &config, counts).unwrap();
    let adjusted: Vec<_> = objects
        .adjusted
        .iter()
        .map(|a| (a.component.as_str(), a.from, a.to, a.reason))
        .collect();
    // Pipeline gateway: 1 x min(7, 2); model gateway: empty env is 100.
    assert_eq!(
        adjusted,
        [
            (
                "seldon-pipelinegateway",
                10,
                2,
                "PipelineGatewayReplicasAdjusted"
            ),
            ("seldon-modelgateway", 10, 7, "ModelGatewayReplicasAdjusted")
        ]
    );
}
