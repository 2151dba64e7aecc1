//! A runtime's configuration: `SeldonRuntime.spec.config` with the gaps
//! filled from its SeldonConfig's `spec.config` (Seldon's `AddDefaults`,
//! `docs/seldon-compat.md#server-workloads`). The result has every block
//! set, as Seldon's Go structs always do, so the ConfigMaps built from it
//! match Seldon's.

use switchyard_api::seldon_config::{
    AgentConfiguration, KafkaConfig, RcloneConfiguration, ScalingConfig, SeldonConfiguration,
    ServiceConfig, TracingConfig,
};

/// `runtime` over `defaults`:
/// * tracing: ratio, endpoint and protocol filled when empty (`disable`
///   is the runtime's);
/// * kafka: bootstrap servers, consumer group prefix, debug and topic prefix
///   filled when empty; consumer, producer and streams merged key by key
///   (the runtime's keys win); topics taken whole when the runtime has none;
/// * agent rclone: `config` and `config_secrets` concatenated, the
///   runtime's first (duplicates kept);
/// * service: port-name prefix and service type filled when empty;
/// * scaling: models, servers and pipelines each taken whole when absent.
pub fn merge(
    runtime: Option<&SeldonConfiguration>,
    defaults: Option<&SeldonConfiguration>,
) -> SeldonConfiguration {
    let runtime = runtime.cloned().unwrap_or_default();
    let defaults = defaults.cloned().unwrap_or_default();
    SeldonConfiguration {
        scaling_config: Some(scaling(
            runtime.scaling_config.unwrap_or_default(),
            defaults.scaling_config.unwrap_or_default(),
        )),
        tracing_config: Some(tracing(
            runtime.tracing_config.unwrap_or_default(),
            defaults.tracing_config.unwrap_or_default(),
        )),
        kafka_config: Some(kafka(
            runtime.kafka_config.unwrap_or_default(),
            defaults.kafka_config.unwrap_or_default(),
        )),
        agent_config: Some(agent(
            runtime.agent_config.unwrap_or_default(),
            defaults.agent_config.unwrap_or_default(),
        )),
        service_config: Some(service(
            runtime.service_config.unwrap_or_default(),
            defaults.service_config.unwrap_or_default(),
        )),
    }
}

fn fill(value: &mut String, default: String) {
    if value.is_empty() {
        *value = default;
    }
}

fn tracing(mut t: TracingConfig, d: TracingConfig) -> TracingConfig {
    fill(&mut t.ratio, d.ratio);
    fill(&mut t.otel_exporter_endpoint, d.otel_exporter_endpoint);
    fill(&mut t.otel_exporter_protocol, d.otel_exporter_protocol);
    t
}

fn kafka(mut k: KafkaConfig, d: KafkaConfig) -> KafkaConfig {
    fill(&mut k.bootstrap_servers, d.bootstrap_servers);
    fill(&mut k.consumer_group_id_prefix, d.consumer_group_id_prefix);
    fill(&mut k.debug, d.debug);
    fill(&mut k.topic_prefix, d.topic_prefix);
    for (own, defaults) in [
        (&mut k.consumer, d.consumer),
        (&mut k.producer, d.producer),
        (&mut k.streams, d.streams),
    ] {
        for (key, value) in defaults {
            own.entry(key).or_insert(value);
        }
    }
    // Seldon copies the topics only into a nil map; an empty map reads as
    // absent here (the CRD prunes nothing, but our type cannot tell them apart).
    if k.topics.is_empty() {
        k.topics = d.topics;
    }
    k
}

fn agent(a: AgentConfiguration, d: AgentConfiguration) -> AgentConfiguration {
    let mut rclone = a.rclone.unwrap_or_default();
    let defaults = d.rclone.unwrap_or_default();
    rclone.config.extend(defaults.config);
    rclone.config_secrets.extend(defaults.config_secrets);
    AgentConfiguration {
        rclone: Some(RcloneConfiguration {
            config_secrets: rclone.config_secrets,
            config: rclone.config,
        }),
    }
}

fn service(mut s: ServiceConfig, d: ServiceConfig) -> ServiceConfig {
    fill(&mut s.grpc_service_prefix, d.grpc_service_prefix);
    fill(&mut s.service_type, d.service_type);
    s
}

fn scaling(s: ScalingConfig, d: ScalingConfig) -> ScalingConfig {
    ScalingConfig {
        models: s.models.or(d.models),
        servers: s.servers.or(d.servers),
        pipelines: s.pipelines.or(d.pipelines),
    }
}
