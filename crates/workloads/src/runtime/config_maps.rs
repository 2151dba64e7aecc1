//! The four ConfigMaps a runtime's components and agents read, from the
//! merged configuration: `seldon-agent` (`agent.yaml`), `seldon-kafka`
//! (`kafka.json`), `seldon-tracing` (`tracing.json` and the three `OTEL_*`
//! keys the dataflow engine reads as env) and `seldon-scaling`
//! (`scaling.yaml`). The bytes follow Go's encoders (field order, key
//! order, HTML escaping) so that adopting Seldon's ConfigMaps changes
//! nothing (`docs/seldon-compat.md#server-workloads`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use switchyard_api::seldon_config::{KafkaConfig, SeldonConfiguration, TracingConfig};

use crate::owner::Owner;
use crate::yaml;

/// Agent settings (rclone remotes).
pub const AGENT: &str = "seldon-agent";
/// Kafka settings of the gateways, the dataflow engine and the scheduler.
pub const KAFKA: &str = "seldon-kafka";
/// Tracing settings of every component.
pub const TRACING: &str = "seldon-tracing";
/// Autoscaling settings of the scheduler.
pub const SCALING: &str = "seldon-scaling";

pub(super) fn config_maps(owner: &Owner, config: &SeldonConfiguration) -> Vec<ConfigMap> {
    let tracing = config.tracing_config.clone().unwrap_or_default();
    let agent =
        serde_json::to_value(config.agent_config.clone().unwrap_or_default()).unwrap_or_default();
    let scaling =
        serde_json::to_value(config.scaling_config.clone().unwrap_or_default()).unwrap_or_default();
    vec![
        config_map(owner, AGENT, [("agent.yaml", yaml::to_string(&agent))]),
        config_map(
            owner,
            KAFKA,
            [(
                "kafka.json",
                kafka_json(&config.kafka_config.clone().unwrap_or_default()),
            )],
        ),
        config_map(
            owner,
            TRACING,
            [
                ("tracing.json", tracing_json(&tracing)),
                ("OTEL_JAVAAGENT_ENABLED", (!tracing.disable).to_string()),
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("http://{}", tracing.otel_exporter_endpoint),
                ),
                (
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                    tracing.otel_exporter_protocol.clone(),
                ),
            ],
        ),
        config_map(
            owner,
            SCALING,
            [("scaling.yaml", yaml::to_string(&scaling))],
        ),
    ]
}

fn config_map<const N: usize>(owner: &Owner, name: &str, data: [(&str, String); N]) -> ConfigMap {
    ConfigMap {
        metadata: owner.meta(name),
        data: Some(data.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
        ..ConfigMap::default()
    }
}

/// Kafka settings in the field order of Seldon's Go struct.
#[derive(Serialize)]
struct GoKafka<'a> {
    #[serde(rename = "bootstrap.servers", skip_serializing_if = "is_empty_str")]
    bootstrap_servers: &'a str,
    #[serde(rename = "consumerGroupIdPrefix", skip_serializing_if = "is_empty_str")]
    consumer_group_id_prefix: &'a str,
    #[serde(skip_serializing_if = "is_empty_str")]
    debug: &'a str,
    #[serde(skip_serializing_if = "is_empty_map")]
    consumer: &'a BTreeMap<String, IntOrString>,
    #[serde(skip_serializing_if = "is_empty_map")]
    producer: &'a BTreeMap<String, IntOrString>,
    #[serde(skip_serializing_if = "is_empty_map")]
    streams: &'a BTreeMap<String, IntOrString>,
    #[serde(skip_serializing_if = "is_empty_map")]
    topics: &'a BTreeMap<String, IntOrString>,
    #[serde(rename = "topicPrefix", skip_serializing_if = "is_empty_str")]
    topic_prefix: &'a str,
}

fn is_empty_str(value: &&str) -> bool {
    value.is_empty()
}

fn is_empty_map(value: &&BTreeMap<String, IntOrString>) -> bool {
    value.is_empty()
}

/// `kafka.json` as Go's `json.Marshal` writes it.
pub fn kafka_json(kafka: &KafkaConfig) -> String {
    go_json(&GoKafka {
        bootstrap_servers: &kafka.bootstrap_servers,
        consumer_group_id_prefix: &kafka.consumer_group_id_prefix,
        debug: &kafka.debug,
        consumer: &kafka.consumer,
        producer: &kafka.producer,
        streams: &kafka.streams,
        topics: &kafka.topics,
        topic_prefix: &kafka.topic_prefix,
    })
}

/// `tracing.json` as Go's `json.Marshal` writes it (our type has Go's field
/// order and omits what Go omits).
pub fn tracing_json(tracing: &TracingConfig) -> String {
    go_json(tracing)
}

/// Compact JSON with Go's escaping of `<`, `>`, `&`, U+2028 and U+2029
/// (outside strings none of them can occur, so replacing them is safe).
fn go_json(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
