//! SeldonRuntime -> the namespace's control plane: ServiceAccounts, Roles
//! and RoleBindings, the four ConfigMaps, the `seldon-scheduler` and
//! `seldon-mesh` Services, and one workload per enabled SeldonConfig
//! component with the runtime's overrides applied
//! (`docs/seldon-compat.md#server-workloads`).
//!
//! In: the runtime as stored (uid and namespace set), its SeldonConfig and
//! the namespace's Model and Pipeline counts. Out: [`RuntimeObjects`], every
//! object owned by the runtime, plus the replica adjustments to report and
//! the disabled components whose workloads the caller deletes (Seldon
//! leaves them running; we do better).

mod components;
pub mod config;
mod config_maps;
mod rbac;
mod replica_caps;
mod services;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use switchyard_api::runtime::OverrideSpec;
use switchyard_api::{SeldonConfig, SeldonRuntime};

use crate::owner::Owner;
use crate::{BuildError, Workload, labels, pod_spec};

pub use components::{
    DATAFLOW_ENGINE, ENVOY, HODOMETER, MODEL_GATEWAY, PIPELINE_GATEWAY, SCHEDULER,
};
pub use config_maps::{AGENT, KAFKA, SCALING, TRACING, kafka_json, tracing_json};
pub use rbac::{HODOMETER_ACCOUNT, SCHEDULER_ACCOUNT, SERVER_ACCOUNT};
pub use replica_caps::{Adjusted, Counts};
pub use services::{MESH_SERVICE, SCHEDULER_SERVICE};

/// What a SeldonRuntime becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeObjects {
    /// `hodometer`, `seldon-scheduler`, `seldon-server`.
    pub service_accounts: Vec<ServiceAccount>,
    /// `agent-role`, `hodometer-role`, `seldon-scheduler-role`.
    pub roles: Vec<Role>,
    /// One per Role, binding it to its ServiceAccount.
    pub role_bindings: Vec<RoleBinding>,
    /// `seldon-agent`, `seldon-kafka`, `seldon-tracing`, `seldon-scaling`.
    pub config_maps: Vec<ConfigMap>,
    /// `seldon-scheduler`, `seldon-mesh`.
    pub services: Vec<Service>,
    /// One per enabled component, in the SeldonConfig's order.
    pub workloads: Vec<Workload>,
    /// Components whose replicas were lowered to their cap: emit a Warning
    /// event `reason` with [`Adjusted::message`] for each.
    pub adjusted: Vec<Adjusted>,
    /// Components disabled by an override: delete their StatefulSet or
    /// Deployment if one exists.
    pub disabled: Vec<String>,
}

/// Builds every object of `runtime` from `config`, the SeldonConfig it
/// names. `counts` are the namespace's Models and Pipelines (replica caps).
pub fn build(
    runtime: &SeldonRuntime,
    config: &SeldonConfig,
    counts: Counts,
) -> Result<RuntimeObjects, BuildError> {
    let owner = Owner::new("SeldonRuntime", &runtime.metadata)?;
    let config_name = config.metadata.name.clone().unwrap_or_default();
    let components = &config.spec.components;
    check_components(&config_name, components)?;
    let overrides = overrides(&owner, &config_name, runtime, components)?;
    let merged = config::merge(runtime.spec.config.as_ref(), config.spec.config.as_ref());

    let base_labels = labels::merge_opt(
        runtime.metadata.labels.as_ref(),
        config.metadata.labels.as_ref(),
    );
    let base_annotations = labels::merge_opt(
        runtime.metadata.annotations.as_ref(),
        config.metadata.annotations.as_ref(),
    );
    let mut workloads = Vec::new();
    let mut adjusted = Vec::new();
    let mut disabled = Vec::new();
    for (index, component) in components.iter().enumerate() {
        let over = overrides.get(component.name.as_str()).copied();
        if over.is_some_and(|(_, o)| o.disable) {
            disabled.push(component.name.clone());
            continue;
        }
        let template = component
            .pod_spec
            .as_ref()
            .ok_or_else(|| BuildError::MissingPodSpec {
                config: config_name.clone(),
                index,
                name: component.name.clone(),
            })?;
        let pod = pod_spec::merge(
            template,
            over.and_then(|(_, o)| o.pod_spec.as_ref()).map(|p| &p.0),
        )
        .map_err(|e| BuildError::PodSpecMerge {
            object: owner.display.clone(),
            field: e.field_under(&format!(
                "spec.overrides[{}].podSpec",
                over.map_or(0, |(i, _)| i)
            )),
            reason: e.reason,
        })?;
        // The override's replicas, else 1: Seldon ignores the component's own.
        let replicas = match over.and_then(|(i, o)| o.replicas.map(|r| (i, r))) {
            Some((i, r)) if r < 0 => {
                return Err(BuildError::InvalidValue {
                    object: owner.display.clone(),
                    field: format!("spec.overrides[{i}].replicas"),
                    value: r.to_string(),
                    reason: "replicas cannot be negative".to_owned(),
                });
            }
            Some((_, r)) => r,
            None => 1,
        };
        let (replicas, adjustment) = replica_caps::apply(
            &owner.display,
            &component.name,
            &pod,
            replicas,
            &merged,
            counts,
        )?;
        adjusted.extend(adjustment);
        workloads.push(components::workload(
            &owner,
            component,
            pod,
            replicas,
            &base_labels,
            &base_annotations,
        ));
    }

    let (roles, role_bindings) = rbac::roles_and_bindings(&owner);
    Ok(RuntimeObjects {
        service_accounts: rbac::service_accounts(&owner),
        roles,
        role_bindings,
        config_maps: config_maps::config_maps(&owner, &merged),
        services: services::services(
            &owner,
            &merged.service_config.clone().unwrap_or_default(),
            &overrides,
        ),
        workloads,
        adjusted,
        disabled,
    })
}

/// Component names are unique (Seldon would build two workloads of one name).
fn check_components(
    config: &str,
    components: &[switchyard_api::seldon_config::ComponentDefn],
) -> Result<(), BuildError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, component) in components.iter().enumerate() {
        if let Some(first) = seen.insert(component.name.as_str(), index) {
            return Err(BuildError::DuplicateComponent {
                config: config.to_owned(),
                index,
                first,
                name: component.name.clone(),
            });
        }
    }
    Ok(())
}

/// The runtime's overrides by component name, with their index. Does better
/// than Seldon (`docs/seldon-compat.md#workload-building`), which silently ignores an override naming no component and
/// lets the last of two overrides of one component win: both are errors.
fn overrides<'a>(
    owner: &Owner,
    config: &str,
    runtime: &'a SeldonRuntime,
    components: &[switchyard_api::seldon_config::ComponentDefn],
) -> Result<BTreeMap<&'a str, (usize, &'a OverrideSpec)>, BuildError> {
    let mut by_name: BTreeMap<&str, (usize, &OverrideSpec)> = BTreeMap::new();
    for (index, over) in runtime.spec.overrides.iter().enumerate() {
        if !components.iter().any(|c| c.name == over.name) {
            return Err(BuildError::UnknownOverride {
                object: owner.display.clone(),
                index,
                name: over.name.clone(),
                config: config.to_owned(),
            });
        }
        if let Some((first, _)) = by_name.insert(over.name.as_str(), (index, over)) {
            return Err(BuildError::DuplicateOverride {
                object: owner.display.clone(),
                index,
                first,
                name: over.name.clone(),
            });
        }
    }
    Ok(by_name)
}
