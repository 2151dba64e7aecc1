//! The SeldonRuntime controller: a namespace's control plane (scheduler,
//! envoy, gateways, dataflow engine, hodometer; their Services, ConfigMaps,
//! ServiceAccounts, Roles and RoleBindings), built by `switchyard-workloads`
//! from the SeldonConfig the runtime names and applied through the
//! [`Applier`](crate::owned::Applier) (docs/seldon-compat.md#server-workloads). Components an override
//! disables are deleted (Seldon leaves them running). Replicas lowered to
//! their cap get a Warning event. The status holds one condition per
//! component, from its workload's ready replicas, and `Ready`.
//!
//! The runtime's finalizer and its deletion are discovery's
//! ([`crate::runtimes`]); garbage collection removes what is built here.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::ListParams;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;
use switchyard_api::{Model, Pipeline, SeldonConfig, SeldonRuntime};
use switchyard_translate::conditions::runtime::{
    RuntimeComponent, apply_failed, component_disabled, component_observed,
};
use switchyard_translate::conditions::{self, WorkloadKind, WorkloadReadiness};
use switchyard_workloads::Workload;
use switchyard_workloads::runtime::{self as built, Counts};

use super::context::{ControllerContext, now};
use super::error::ReconcileError;
use super::lifecycle::Outcome;
use super::workload::{readiness, template};
use crate::owned::controlled_by;

/// The controller's name in metrics and logs.
pub const RUNTIME_CONTROLLER: &str = "seldonruntime";
/// Event reasons (Seldon's).
const REASON_READY: &str = "RuntimeReady";
const REASON_NOT_READY: &str = "SeldonRuntimeNotReady";
const REASON_UPDATE_FAILED: &str = "UpdateFailed";

/// The reconcile of one SeldonRuntime.
pub(crate) async fn reconcile(
    runtime: Arc<SeldonRuntime>,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    if !ctx.shared.writer.is_leader() || runtime.meta().deletion_timestamp.is_some() {
        return Ok(Outcome::Done);
    }
    if let Some(wait) = ctx.retry_wait(&*runtime) {
        return Ok(Outcome::Wait(wait));
    }
    match build_and_apply(&runtime, ctx).await {
        Ok(workloads) => {
            observe(&runtime, ctx, &workloads).await?;
            Ok(Outcome::Done)
        }
        Err(error) => {
            let message = error.condition_message();
            let (namespace, name) = (runtime.namespace().unwrap_or_default(), runtime.name_any());
            let now = now();
            ctx.shared
                .writer
                .update_status::<SeldonRuntime, serde_json::Value>(&namespace, &name, |current| {
                    let old = current.status.clone().unwrap_or_default().duck.conditions;
                    let mut list = old.clone();
                    apply_failed(&mut list, now.clone(), &message);
                    (list != old).then(|| json!({ "conditions": list }))
                })
                .await?;
            let first = ctx.recall(&*runtime).backoff.failures() == 0;
            if !error.is_retryable() || first {
                (ctx.shared.writer)
                    .event(
                        &*runtime,
                        EventType::Warning,
                        REASON_UPDATE_FAILED,
                        message,
                        "Apply",
                    )
                    .await;
            }
            if !error.is_retryable() {
                ctx.handled(&*runtime);
            }
            Err(error)
        }
    }
}

/// Builds the runtime's objects and applies them (RBAC, ConfigMaps,
/// Services, then the workloads, as Seldon orders them); deletes disabled
/// components. Returns the workloads built.
async fn build_and_apply(
    runtime: &SeldonRuntime,
    ctx: &ControllerContext,
) -> Result<Vec<Workload>, ReconcileError> {
    let shared = &ctx.shared;
    let namespace = runtime.namespace().unwrap_or_default();
    let name = runtime.name_any();
    let wanted = (runtime.spec.seldon_config.as_str(), "spec.seldonConfig");
    let config: SeldonConfig = template(runtime, "SeldonRuntime", wanted, ctx).await?;
    let counts = counts(ctx, &namespace).await?;
    let objects =
        built::build(runtime, &config, counts).map_err(|source| ReconcileError::Build {
            kind: "SeldonRuntime",
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let (writer, applier) = (&shared.writer, &shared.applier);
    for account in &objects.service_accounts {
        applier.ensure(writer, account).await?;
    }
    for role in &objects.roles {
        applier.ensure(writer, role).await?;
    }
    for binding in &objects.role_bindings {
        applier.ensure(writer, binding).await?;
    }
    for config_map in &objects.config_maps {
        applier.ensure(writer, config_map).await?;
    }
    for service in &objects.services {
        applier.ensure(writer, service).await?;
    }
    for workload in &objects.workloads {
        match workload {
            Workload::StatefulSet(sts) => applier.ensure(writer, sts).await?,
            Workload::Deployment(deployment) => applier.ensure(writer, deployment).await?,
        };
    }
    for component in &objects.disabled {
        remove_component(runtime, ctx, component).await?;
    }
    for adjusted in &objects.adjusted {
        writer
            .event(
                runtime,
                EventType::Warning,
                adjusted.reason,
                adjusted.message(),
                "Apply",
            )
            .await;
    }
    Ok(objects.workloads)
}

/// The namespace's Models and Pipelines (the gateways' replica caps).
async fn counts(ctx: &ControllerContext, namespace: &str) -> Result<Counts, ReconcileError> {
    let client = ctx.shared.writer.client().clone();
    let read = |what: &str| {
        let what = format!("counting the {what} of {namespace}");
        move |source| ReconcileError::Read { what, source }
    };
    let params = ListParams::default();
    let models = Api::<Model>::namespaced(client.clone(), namespace)
        .list_metadata(&params)
        .await
        .map_err(read("Models"))?
        .items
        .len();
    let pipelines = Api::<Pipeline>::namespaced(client, namespace)
        .list_metadata(&params)
        .await
        .map_err(read("Pipelines"))?
        .items
        .len();
    Ok(Counts { models, pipelines })
}

/// Deletes the workload of a disabled `component` if this runtime owns it.
async fn remove_component(
    runtime: &SeldonRuntime,
    ctx: &ControllerContext,
    component: &str,
) -> Result<(), ReconcileError> {
    let shared = &ctx.shared;
    let namespace = runtime.namespace().unwrap_or_default();
    let client = shared.writer.client().clone();
    let read = |source| ReconcileError::Read {
        what: format!("reading the workload of component {component} in {namespace}"),
        source,
    };
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &namespace)
        .get_metadata_opt(component)
        .await
        .map_err(read)?;
    if sts.is_some_and(|s| controlled_by(runtime, &s)) {
        (shared.applier)
            .delete::<StatefulSet>(&shared.writer, &namespace, component)
            .await?;
    }
    let deployment = Api::<Deployment>::namespaced(client, &namespace)
        .get_metadata_opt(component)
        .await
        .map_err(read)?;
    if deployment.is_some_and(|d| controlled_by(runtime, &d)) {
        (shared.applier)
            .delete::<Deployment>(&shared.writer, &namespace, component)
            .await?;
    }
    Ok(())
}

/// Writes one condition per component (from its workload's ready
/// replicas against the replicas asked for) and `Ready`, with an event
/// when `Ready` flips.
async fn observe(
    runtime: &SeldonRuntime,
    ctx: &ControllerContext,
    workloads: &[Workload],
) -> Result<(), ReconcileError> {
    let namespace = runtime.namespace().unwrap_or_default();
    let name = runtime.name_any();
    let mut observed = Vec::new();
    for component in RuntimeComponent::ALL {
        let built = workloads.iter().find(|w| w.name() == component.name());
        let readiness = match built {
            Some(workload) => Some(
                readiness(
                    ctx,
                    &namespace,
                    workload.name(),
                    kind_of(workload),
                    workload.replicas().unwrap_or(1),
                )
                .await?
                .unwrap_or(WorkloadReadiness {
                    kind: kind_of(workload),
                    desired_replicas: workload.replicas().unwrap_or(1),
                    ready_replicas: 0,
                }),
            ),
            None => None,
        };
        observed.push((component, readiness));
    }
    let now = now();
    let flipped = Mutex::new(None);
    ctx.shared
        .writer
        .update_status::<SeldonRuntime, serde_json::Value>(&namespace, &name, |current| {
            let old = current.status.clone().unwrap_or_default();
            let mut list = old.duck.conditions.clone();
            for (component, readiness) in &observed {
                match readiness {
                    Some(w) => component_observed(&mut list, now.clone(), *component, w),
                    None => component_disabled(&mut list, now.clone(), *component),
                }
            }
            let generation = current.metadata.generation;
            if list == old.duck.conditions && old.duck.observed_generation == generation {
                return None;
            }
            let (was, is) = (
                conditions::is_ready(&old.duck.conditions),
                conditions::is_ready(&list),
            );
            *flipped.lock() = (was != is).then_some(is);
            Some(json!({ "conditions": list, "observedGeneration": generation }))
        })
        .await?;
    let flipped = *flipped.lock();
    if let Some(ready) = flipped {
        let (type_, reason, note) = if ready {
            (EventType::Normal, REASON_READY, "is Ready")
        } else {
            (EventType::Warning, REASON_NOT_READY, "is not Ready")
        };
        (ctx.shared.writer)
            .event(
                runtime,
                type_,
                reason,
                format!("SeldonRuntime {name} {note}"),
                "Observe",
            )
            .await;
    }
    Ok(())
}

fn kind_of(workload: &Workload) -> WorkloadKind {
    match workload {
        Workload::StatefulSet(_) => WorkloadKind::StatefulSet,
        Workload::Deployment(_) => WorkloadKind::Deployment,
    }
}
