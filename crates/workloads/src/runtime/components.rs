//! One workload per enabled SeldonConfig component: a StatefulSet for a
//! component with volume claim templates (the scheduler), a Deployment
//! otherwise, named after the component and selected by
//! `app.kubernetes.io/name=<component>` (`docs/seldon-compat.md#server-workloads`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use switchyard_api::seldon_config::ComponentDefn;

use crate::labels::non_empty;
use crate::owner::Owner;
use crate::workload::claim_templates;
use crate::{NAME_LABEL, Workload, labels};

/// The scheduler (a StatefulSet in the default SeldonConfig).
pub const SCHEDULER: &str = "seldon-scheduler";
/// Envoy, behind the `seldon-mesh` Service.
pub const ENVOY: &str = "seldon-envoy";
/// The Kafka Streams dataflow engine (capped by Pipelines).
pub const DATAFLOW_ENGINE: &str = "seldon-dataflow-engine";
/// Usage metrics.
pub const HODOMETER: &str = "hodometer";
/// The model gateway (capped by Models).
pub const MODEL_GATEWAY: &str = "seldon-modelgateway";
/// The pipeline gateway (capped by Pipelines).
pub const PIPELINE_GATEWAY: &str = "seldon-pipelinegateway";

/// The component's workload. `labels` and `annotations` are the runtime's
/// merged over its SeldonConfig's; the component's own win over them.
pub(super) fn workload(
    owner: &Owner,
    component: &ComponentDefn,
    pod: PodSpec,
    replicas: i32,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Workload {
    let name = component.name.as_str();
    let mut labels = labels::merge(&component.labels, labels);
    labels.insert(NAME_LABEL.to_owned(), name.to_owned());
    let annotations = labels::merge(&component.annotations, annotations);

    let mut meta = owner.meta(name);
    meta.labels = Some(labels.clone());
    meta.annotations = non_empty(annotations.clone());
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(owner.namespace.clone()),
            labels: Some(labels),
            annotations: non_empty(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod),
    };
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([(NAME_LABEL.to_owned(), name.to_owned())])),
        ..LabelSelector::default()
    };
    match claim_templates(&component.volume_claim_templates) {
        Some(claims) => Workload::StatefulSet(StatefulSet {
            metadata: meta,
            spec: StatefulSetSpec {
                service_name: Some(name.to_owned()),
                replicas: Some(replicas),
                selector,
                template,
                pod_management_policy: Some("Parallel".to_owned()),
                volume_claim_templates: Some(claims),
                ..StatefulSetSpec::default()
            },
            status: None,
        }),
        None => Workload::Deployment(Deployment {
            metadata: meta,
            spec: DeploymentSpec {
                replicas: Some(replicas),
                selector,
                template,
                ..DeploymentSpec::default()
            },
            status: None,
        }),
    }
}
