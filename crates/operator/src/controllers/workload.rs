//! A Server's readiness, read from the StatefulSet switchyard builds for it
//! (`server_workload`, docs/seldon-compat.md#server-workloads): `StatefulSetOrDeploymentReady`
//! and `Ready` say whether as many replicas as the Server asks for are
//! ready. Without the StatefulSet (not applied yet) the condition is
//! Unknown, saying so. Also writes `status.replicas` and `status.selector`,
//! which the scale subresource (`kubectl scale`, autoscalers) reads.

use parking_lot::Mutex;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use serde_json::json;
use switchyard_workloads::server::ServerMode;

use super::context::{ControllerContext, now};
use super::error::ReconcileError;
use switchyard_api::Server;
use switchyard_translate::conditions::{self, WorkloadKind, WorkloadReadiness};
use switchyard_translate::scaling::validate_scaling;

/// Label every Server pod carries, and the selector in `status.selector`.
pub const SERVER_NAME_LABEL: &str = "seldon-server-name";
/// Event reason when a Server becomes Ready (Seldon's).
pub const REASON_SERVER_READY: &str = "ServerReady";
/// Event reason when a Server stops being Ready (Seldon's).
pub const REASON_SERVER_NOT_READY: &str = "ServerNotReady";

/// The readiness of the `kind` named `name` in `namespace` against the
/// replicas asked of it (`desired`: for a Server, what **the Server** asks
/// for, so a workload someone scaled down by hand is not Ready); `None`
/// when there is no such workload.
pub(crate) async fn readiness(
    ctx: &ControllerContext,
    namespace: &str,
    name: &str,
    kind: WorkloadKind,
    desired: i32,
) -> Result<Option<WorkloadReadiness>, ReconcileError> {
    let client = ctx.shared.writer.client().clone();
    let read = |source| ReconcileError::Read {
        what: format!("reading {kind:?} {namespace}/{name}"),
        source,
    };
    let ready_replicas = match kind {
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, namespace)
            .get_opt(name)
            .await
            .map_err(read)?
            .map(|sts| sts.status.and_then(|s| s.ready_replicas)),
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, namespace)
            .get_opt(name)
            .await
            .map_err(read)?
            .map(|d| d.status.and_then(|s| s.ready_replicas)),
    };
    Ok(ready_replicas.map(|ready| WorkloadReadiness {
        kind,
        desired_replicas: desired,
        ready_replicas: ready.unwrap_or(0),
    }))
}

/// Writes the Server's workload condition, `status.replicas`,
/// `status.selector` and `observedGeneration` (raised to `observed`, never
/// lowered) when they changed, with a `ServerNotReady` event when a Ready
/// Server stops being Ready and a `ServerReady` event when it comes back
/// (becoming Ready the first time is the condition's news alone). Call
/// only when the spec is valid and the scheduler accepted it.
pub(crate) async fn observe(
    server: &Server,
    ctx: &ControllerContext,
    observed: Option<i64>,
) -> Result<(), ReconcileError> {
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let spec = &server.spec;
    let replicas = validate_scaling(spec.replicas, spec.min_replicas, spec.max_replicas)
        .map(|s| i32::try_from(s.replicas).unwrap_or(i32::MAX))
        .unwrap_or_default();
    let kind = match ctx.shared.server_mode {
        ServerMode::StatefulSet => WorkloadKind::StatefulSet,
        ServerMode::Deployment => WorkloadKind::Deployment,
    };
    let workload = readiness(ctx, &namespace, &name, kind, replicas).await?;
    let selector = format!("{SERVER_NAME_LABEL}={name}");
    let now = now();
    let flipped = Mutex::new(None);
    ctx.shared
        .writer
        .update_status::<Server, serde_json::Value>(&namespace, &name, |current| {
            let old = current.status.clone().unwrap_or_default();
            let mut conditions = old.duck.conditions.clone();
            match &workload {
                Some(w) => conditions::server::workload_observed(&mut conditions, now.clone(), w),
                None => conditions::server::workload_missing(
                    &mut conditions,
                    now.clone(),
                    &format!("no workload named {name} in {namespace} yet"),
                ),
            }
            let generation = match (old.duck.observed_generation, observed) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if conditions == old.duck.conditions
                && old.replicas == replicas
                && old.selector == selector
                && generation == old.duck.observed_generation
            {
                return None;
            }
            let was = conditions::is_ready(&old.duck.conditions);
            let is = conditions::is_ready(&conditions);
            *flipped.lock() = (was != is).then_some(is);
            let mut status = json!({
                "conditions": conditions,
                "replicas": replicas,
                "selector": selector,
            });
            if let Some(generation) = generation {
                status["observedGeneration"] = generation.into();
            }
            Some(status)
        })
        .await?;
    let flipped = *flipped.lock();
    if let Some(ready) = flipped {
        let fell = ctx.remember(server, |m| std::mem::replace(&mut m.fell, !ready));
        if ready && !fell {
            return Ok(());
        }
        let (type_, reason, note) = if ready {
            (EventType::Normal, REASON_SERVER_READY, "is Ready")
        } else {
            (
                EventType::Warning,
                REASON_SERVER_NOT_READY,
                "is no longer Ready",
            )
        };
        (ctx.shared.writer)
            .event(
                server,
                type_,
                reason,
                format!("Server {name} {note}"),
                "Observe",
            )
            .await;
    }
    Ok(())
}

/// The template `wanted` (a SeldonConfig or ServerConfig, named in the
/// owner's `field`) from the templates namespace; its absence is a
/// [`ReconcileError::Template`] naming the owner (of `owner_kind`) and the
/// field.
pub(super) async fn template<T, O>(
    owner: &O,
    owner_kind: &'static str,
    (wanted, field): (&str, &str),
    ctx: &ControllerContext,
) -> Result<T, ReconcileError>
where
    T: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    O: ResourceExt,
{
    let shared = &ctx.shared;
    let kind = T::kind(&());
    let api: Api<T> = Api::namespaced(shared.writer.client().clone(), &shared.templates_namespace);
    let found = api
        .get_opt(wanted)
        .await
        .map_err(|source| ReconcileError::Read {
            what: format!("reading {kind} {}/{wanted}", shared.templates_namespace),
            source,
        })?;
    found.ok_or_else(|| ReconcileError::Template {
        kind: owner_kind,
        namespace: owner.namespace().unwrap_or_default(),
        name: owner.name_any(),
        template: format!("{kind} {}/{wanted} ({field})", shared.templates_namespace),
    })
}
