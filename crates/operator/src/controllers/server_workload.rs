//! A Server's pods: its StatefulSet (or Deployment) and, in StatefulSet
//! mode, one headless Service per replica, built from its ServerConfig by
//! `switchyard-workloads` and applied through the [`Applier`]
//! (docs/seldon-compat.md#server-workloads). Seldon's order: the Services,
//! then the workload; Services beyond the replica count are deleted first
//! (envoy resolves agents by pod name through them). Every object carries a
//! controller owner reference, so garbage collection removes them with
//! the Server.
//!
//! [`Applier`]: crate::owned::Applier

use k8s_openapi::api::core::v1::Service;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use switchyard_api::{Server, ServerConfig};
use switchyard_workloads::Workload;
use switchyard_workloads::server::{self as built, REPLICA_LABEL};

use super::context::ControllerContext;
use super::error::ReconcileError;
use super::workload::template;
use crate::owned::controlled_by;

/// Builds and applies the workload of `server`, with `replicas` (its
/// validated scaling).
pub(crate) async fn apply(
    server: &Server,
    ctx: &ControllerContext,
    replicas: i32,
) -> Result<(), ReconcileError> {
    let shared = &ctx.shared;
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let wanted = (server.spec.server_config.as_str(), "spec.serverConfig");
    let config: ServerConfig = template(server, "Server", wanted, ctx).await?;
    let objects =
        built::build(server, &config, shared.server_mode, replicas).map_err(|source| {
            ReconcileError::Build {
                kind: "Server",
                namespace: namespace.clone(),
                name: name.clone(),
                source,
            }
        })?;
    let wanted: Vec<String> = objects.services.iter().map(ResourceExt::name_any).collect();
    remove_extra_services(server, ctx, &wanted).await?;
    for service in &objects.services {
        shared.applier.ensure(&shared.writer, service).await?;
    }
    match &objects.workload {
        Workload::StatefulSet(sts) => shared.applier.ensure(&shared.writer, sts).await?,
        Workload::Deployment(deployment) => {
            shared.applier.ensure(&shared.writer, deployment).await?
        }
    };
    Ok(())
}

/// Deletes this Server's per-replica Services that are not in `wanted`.
async fn remove_extra_services(
    server: &Server,
    ctx: &ControllerContext,
    wanted: &[String],
) -> Result<(), ReconcileError> {
    let shared = &ctx.shared;
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let api: Api<Service> = Api::namespaced(shared.writer.client().clone(), &namespace);
    let params = ListParams::default().labels(&format!("{REPLICA_LABEL}={name}"));
    let services = api
        .list_metadata(&params)
        .await
        .map_err(|source| ReconcileError::Read {
            what: format!("listing the replica Services of Server {namespace}/{name}"),
            source,
        })?;
    for service in services.items {
        let service_name = service.name_any();
        if wanted.contains(&service_name) || !controlled_by(server, &service) {
            continue;
        }
        shared
            .applier
            .delete::<Service>(&shared.writer, &namespace, &service_name)
            .await?;
    }
    Ok(())
}
