//! Server -> its model-server workload: a StatefulSet (or, with
//! `--use-deployments-for-servers`, a Deployment) named after the Server,
//! built from its ServerConfig's pod merged with `spec.podSpec`, and in
//! StatefulSet mode one headless Service per replica so that envoy can
//! resolve each agent by pod name (`docs/seldon-compat.md#server-workloads`).
//!
//! In: the Server as stored (uid and namespace set), its ServerConfig
//! (labels and annotations included), the mode and the validated replicas.
//! Out: [`ServerObjects`], every object owned by the Server.

mod capabilities;
mod services;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use switchyard_api::{Server, ServerConfig};

use crate::labels::non_empty;
use crate::owner::Owner;
use crate::runtime::{
    DATAFLOW_ENGINE, ENVOY, HODOMETER, MODEL_GATEWAY, PIPELINE_GATEWAY, SCHEDULER,
};
use crate::workload::claim_templates;
use crate::{BuildError, NAME_LABEL, Workload, labels, pod_spec};

pub use capabilities::{CAPABILITIES_ENV, rewrite_capabilities};
pub use services::{REPLICA_LABEL, REPLICA_NAME_LABEL, replica_service_names};

/// `app.kubernetes.io/name` of every Server workload.
pub const SERVER_LABEL_VALUE: &str = "seldon-server";
/// The label selecting one Server's pods: `seldon-server-name=<server>`.
pub const SERVER_NAME_LABEL: &str = "seldon-server-name";

/// The runtime's components, whose names a Server cannot take.
const COMPONENTS: [&str; 6] = [
    SCHEDULER,
    ENVOY,
    DATAFLOW_ENGINE,
    HODOMETER,
    MODEL_GATEWAY,
    PIPELINE_GATEWAY,
];

/// How Server pods run (Seldon's `--use-deployments-for-servers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerMode {
    /// A StatefulSet plus a headless Service per replica (Seldon's default).
    #[default]
    StatefulSet,
    /// A Deployment; agents advertise pod IPs, so no Services.
    Deployment,
}

/// What a Server becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerObjects {
    /// The StatefulSet or Deployment named after the Server.
    pub workload: Workload,
    /// `<server>-0` .. `<server>-<replicas-1>` (StatefulSet mode only);
    /// delete the Server's other Services labelled [`REPLICA_LABEL`].
    pub services: Vec<Service>,
}

/// The label selector of a Server's pods, as `status.selector` writes it.
pub fn selector(server_name: &str) -> String {
    format!("{SERVER_NAME_LABEL}={server_name}")
}

/// Builds the workload and Services of `server` from `config`, with
/// `replicas` (the caller validated the Server's scaling).
pub fn build(
    server: &Server,
    config: &ServerConfig,
    mode: ServerMode,
    replicas: i32,
) -> Result<ServerObjects, BuildError> {
    let owner = Owner::new("Server", &server.metadata)?;
    // Does better than Seldon (`docs/seldon-compat.md#workload-building`), whose Server and runtime controllers would
    // fight over one object: a SeldonConfig may run any of its components as
    // a StatefulSet or a Deployment, so all six names are refused.
    if COMPONENTS.contains(&owner.name.as_str()) {
        return Err(BuildError::NameConflict {
            object: owner.display.clone(),
            name: owner.name.clone(),
        });
    }
    if replicas < 0 {
        return Err(BuildError::InvalidValue {
            object: owner.display.clone(),
            field: "spec.replicas".to_owned(),
            value: replicas.to_string(),
            reason: "replicas cannot be negative".to_owned(),
        });
    }
    let mut pod = pod_spec::merge(
        &config.spec.pod_spec,
        server.spec.pod_spec.as_ref().map(|p| &p.0),
    )
    .map_err(|e| BuildError::PodSpecMerge {
        object: owner.display.clone(),
        field: e.field_under("spec.podSpec"),
        reason: e.reason,
    })?;
    rewrite_capabilities(
        &mut pod,
        &server.spec.capabilities,
        &server.spec.extra_capabilities,
    );

    let mut labels = labels::merge_opt(
        server.metadata.labels.as_ref(),
        config.metadata.labels.as_ref(),
    );
    labels.insert(NAME_LABEL.to_owned(), SERVER_LABEL_VALUE.to_owned());
    let annotations = labels::merge_opt(
        server.metadata.annotations.as_ref(),
        config.metadata.annotations.as_ref(),
    );
    let mut template_labels = labels.clone();
    template_labels.insert(SERVER_NAME_LABEL.to_owned(), owner.name.clone());

    let mut meta = owner.meta(&owner.name);
    meta.labels = Some(labels);
    meta.annotations = non_empty(annotations.clone());
    // Seldon names the template after the workload and puts it in the
    // namespace; kept so an adopted workload's template does not change.
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            name: Some(owner.name.clone()),
            namespace: Some(owner.namespace.clone()),
            labels: Some(template_labels),
            annotations: non_empty(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod),
    };
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([(
            SERVER_NAME_LABEL.to_owned(),
            owner.name.clone(),
        )])),
        ..LabelSelector::default()
    };

    Ok(match mode {
        ServerMode::StatefulSet => ServerObjects {
            workload: Workload::StatefulSet(StatefulSet {
                metadata: meta,
                spec: StatefulSetSpec {
                    // No Service of this name exists (Seldon's choice too): each
                    // replica has its own headless Service instead.
                    service_name: Some(owner.name.clone()),
                    replicas: Some(replicas),
                    selector,
                    template,
                    pod_management_policy: Some("Parallel".to_owned()),
                    persistent_volume_claim_retention_policy: server
                        .spec
                        .stateful_set_persistent_volume_claim_retention_policy
                        .clone(),
                    volume_claim_templates: claim_templates(&config.spec.volume_claim_templates),
                    ..StatefulSetSpec::default()
                },
                status: None,
            }),
            services: services::replica_services(&owner, replicas),
        },
        ServerMode::Deployment => ServerObjects {
            workload: Workload::Deployment(Deployment {
                metadata: meta,
                spec: DeploymentSpec {
                    replicas: Some(replicas),
                    selector,
                    template,
                    strategy: server.spec.deployment_strategy.clone(),
                    ..DeploymentSpec::default()
                },
                status: None,
            }),
            services: Vec::new(),
        },
    })
}
