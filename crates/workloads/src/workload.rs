//! `Workload`: a StatefulSet or a Deployment, the two shapes a Server's or a
//! runtime component's pods take.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use switchyard_api::server_config::PersistentVolumeClaimTemplate;

/// A generated StatefulSet or Deployment.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// Pods with stable names and volume claims.
    StatefulSet(StatefulSet),
    /// Interchangeable pods.
    Deployment(Deployment),
}

impl Workload {
    /// `StatefulSet` or `Deployment`.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::StatefulSet(_) => "StatefulSet",
            Workload::Deployment(_) => "Deployment",
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        let meta = match self {
            Workload::StatefulSet(s) => &s.metadata,
            Workload::Deployment(d) => &d.metadata,
        };
        meta.name.as_deref().unwrap_or_default()
    }

    /// The desired replicas.
    pub fn replicas(&self) -> Option<i32> {
        match self {
            Workload::StatefulSet(s) => s.spec.replicas,
            Workload::Deployment(d) => d.spec.replicas,
        }
    }

    /// The pod template (what adoption must leave unchanged).
    pub fn pod_template(&self) -> &PodTemplateSpec {
        match self {
            Workload::StatefulSet(s) => &s.spec.template,
            Workload::Deployment(d) => &d.spec.template,
        }
    }
}

/// A template's claim templates as a StatefulSet's: name and spec only.
pub(crate) fn claim_templates(
    templates: &[PersistentVolumeClaimTemplate],
) -> Option<Vec<PersistentVolumeClaim>> {
    let claims: Vec<PersistentVolumeClaim> = templates
        .iter()
        .map(|t| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(t.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(t.spec.clone()),
            status: None,
        })
        .collect();
    (!claims.is_empty()).then_some(claims)
}
