//! Replica caps of the Kafka-sharded components: the dataflow engine and
//! the pipeline gateway by the namespace's Pipelines, the model gateway by
//! its Models. The cap is 1 with none, else the shard multiplier times
//! `min(count, max consumers)`; replicas above it are lowered and reported,
//! so the caller emits Seldon's Warning events
//! (`docs/seldon-compat.md#server-workloads`).

use k8s_openapi::api::core::v1::PodSpec;
use switchyard_api::seldon_config::SeldonConfiguration;

use super::components::{DATAFLOW_ENGINE, MODEL_GATEWAY, PIPELINE_GATEWAY};
use crate::BuildError;

/// Consumers per gateway when its env does not say.
const DEFAULT_MAX_CONSUMERS: i64 = 100;
/// Shard multiplier when the scaling config does not say.
const DEFAULT_SHARD_MULTIPLIER: i64 = 1;

/// Objects in the runtime's namespace the caps depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Models in the namespace (caps the model gateway).
    pub models: usize,
    /// Pipelines in the namespace (cap the dataflow engine and pipeline gateway).
    pub pipelines: usize,
}

/// A component whose replicas were lowered to its cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjusted {
    /// The component, e.g. `seldon-modelgateway`.
    pub component: String,
    /// Replicas asked for (the override's).
    pub from: i32,
    /// Replicas built.
    pub to: i32,
    /// The Warning event's reason, e.g. `ModelGatewayReplicasAdjusted`.
    pub reason: &'static str,
}

impl Adjusted {
    /// The Warning event's message (Seldon's sentence, plus what was asked).
    pub fn message(&self) -> String {
        format!(
            "{} requested replicas ({}) exceeded maximum of {} based on KafkaConfig and resource \
             count, adjusted to {}",
            self.component, self.from, self.to, self.to
        )
    }
}

/// What caps one component: the count it follows, its env, its event.
struct Rule {
    pipelines: bool,
    env: Option<&'static str>,
    reason: &'static str,
}

fn rule(component: &str) -> Option<Rule> {
    match component {
        DATAFLOW_ENGINE => Some(Rule {
            pipelines: true,
            env: None,
            reason: "DataflowEngineReplicasAdjusted",
        }),
        PIPELINE_GATEWAY => Some(Rule {
            pipelines: true,
            env: Some("PIPELINEGATEWAY_MAX_NUM_CONSUMERS"),
            reason: "PipelineGatewayReplicasAdjusted",
        }),
        MODEL_GATEWAY => Some(Rule {
            pipelines: false,
            env: Some("MODELGATEWAY_MAX_NUM_CONSUMERS"),
            reason: "ModelGatewayReplicasAdjusted",
        }),
        _ => None,
    }
}

/// The replicas `component` may run, and the adjustment if `replicas` was
/// above the cap. `pod` is the merged pod (its first container's env gives
/// the max consumers).
pub(super) fn apply(
    object: &str,
    component: &str,
    pod: &PodSpec,
    replicas: i32,
    config: &SeldonConfiguration,
    counts: Counts,
) -> Result<(i32, Option<Adjusted>), BuildError> {
    let Some(rule) = rule(component) else {
        return Ok((replicas, None));
    };
    let multiplier = shard_multiplier(object, config)?;
    let max_consumers = match rule.env {
        Some(env) => max_consumers(object, component, pod, env)?,
        None => DEFAULT_MAX_CONSUMERS,
    };
    let count = if rule.pipelines {
        counts.pipelines
    } else {
        counts.models
    };
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let cap = if count == 0 {
        1
    } else {
        multiplier.saturating_mul(count.min(max_consumers))
    };
    let cap = i32::try_from(cap).unwrap_or(i32::MAX);
    if i64::from(replicas) <= i64::from(cap) {
        return Ok((replicas, None));
    }
    Ok((
        cap,
        Some(Adjusted {
            component: component.to_owned(),
            from: replicas,
            to: cap,
            reason: rule.reason,
        }),
    ))
}

/// `scalingConfig.pipelines.maxShardCountMultiplier`. Does better than
/// Seldon (`docs/seldon-compat.md#workload-building`), which takes a present block's value as is: 0 (the field left
/// out, `pipelines: {}`) means the default 1 rather than capping every
/// sharded component to zero replicas; a negative value is an error.
fn shard_multiplier(object: &str, config: &SeldonConfiguration) -> Result<i64, BuildError> {
    let value = config
        .scaling_config
        .as_ref()
        .and_then(|s| s.pipelines.as_ref())
        .map_or(0, |p| p.max_shard_count_multiplier);
    match value {
        0 => Ok(DEFAULT_SHARD_MULTIPLIER),
        v if v > 0 => Ok(i64::from(v)),
        v => Err(BuildError::InvalidValue {
            object: object.to_owned(),
            field: "config.scalingConfig.pipelines.maxShardCountMultiplier (the runtime's, else \
                    its SeldonConfig's)"
                .to_owned(),
            value: v.to_string(),
            reason: "must be a positive integer".to_owned(),
        }),
    }
}

/// The component's first container's `env` value, as Seldon reads it: unset
/// or empty is the default 100; anything but a positive integer is an
/// error (Seldon also rejects 0 and non-numbers; it takes a negative
/// number, which would cap the component below zero).
fn max_consumers(
    object: &str,
    component: &str,
    pod: &PodSpec,
    env: &str,
) -> Result<i64, BuildError> {
    let Some(container) = pod.containers.first() else {
        return Ok(DEFAULT_MAX_CONSUMERS);
    };
    let value = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == env)
        .and_then(|e| e.value.clone())
        .unwrap_or_default();
    if value.is_empty() {
        return Ok(DEFAULT_MAX_CONSUMERS);
    }
    match value.parse::<i32>() {
        Ok(n) if n > 0 => Ok(i64::from(n)),
        _ => Err(BuildError::InvalidValue {
            object: object.to_owned(),
            field: format!(
                "component {component} containers[0] ({:?}) env {env} (SeldonConfig or override podSpec)",
                container.name
            ),
            value,
            reason: "must be a positive integer (the gateway's Kafka consumers)".to_owned(),
        }),
    }
}
