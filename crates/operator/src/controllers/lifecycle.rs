//! The reconcile shared by Model, Pipeline and Experiment: finalizer, one
//! scheduler call per spec generation, one deletion call, conditions and
//! events; and [`observe`], which wraps every reconcile (Server's too) with
//! the metrics and turns a [`ReconcileError`] into the next [`Action`].
//!
//! Flow of one object: add the finalizer (through the writer) -> skip when
//! this generation was already handled (the generation predicate: label,
//! annotation, status and finalizer updates do not call the scheduler) ->
//! translate (invalid: condition + `InvalidSpec` event naming the field, no
//! retry) -> call the scheduler with a timeout (success: nothing written, the
//! scheduler's status stream writes the status and `observedGeneration`;
//! retryable failure: condition + requeue with backoff; final: condition +
//! event, no retry). So a Model costs three writes from creation to Ready:
//! the finalizer and the stream's two states (progressing, available). An
//! object whose status says the scheduler dropped it (unloaded directly,
//! [`ManagedKind::lost`]) is sent again. A deleting object gets one deletion call;
//! the finalizer stays until the status writer sees the terminal state, or
//! goes at once when the scheduler answers that it does not know the object.

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::context::{ControllerContext, NAMESPACE_BUSY_RETRY, now};
use super::error::ReconcileError;
use super::metrics::ReconcileResult;
use super::presence::GoneCall;
use crate::WriteError;
use switchyard_api::{Condition, DuckStatus};
use switchyard_core::schedulers::{self, Scheduler};
use switchyard_translate::TranslateError;
use switchyard_translate::conditions::Retryability;

/// Bound on one Load/Unload/Start/Stop call: a slow scheduler costs its own
/// objects at most this much per attempt, and never blocks other objects
/// (the Go operator's per-attempt timeout, without its three blind retries).
pub const SCHEDULER_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Event reason for a spec that cannot be translated.
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";

/// A scheduler call, ready to run.
pub(crate) type Call = schedulers::Call<()>;

/// How a reconcile that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing more to do until the object changes.
    Done,
    /// A retry is scheduled and not due yet: wait this long.
    Wait(Duration),
}

/// A kind whose objects the scheduler loads and unloads (Model, Pipeline,
/// Experiment).
pub(crate) trait ManagedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The finalizer that keeps a deleted object until the scheduler let
    /// it go.
    const FINALIZER: &'static str;
    /// RPC names, for errors and event actions.
    const APPLY_RPC: &'static str;
    const DELETE_RPC: &'static str;
    /// Event reasons: apply failed, deletion requested, deletion failed.
    const REASON_APPLY_FAILED: &'static str;
    const REASON_DELETE_REQUESTED: &'static str;
    const REASON_DELETE_FAILED: &'static str;

    /// The create/update call (translation errors name the field).
    fn apply_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError>;
    /// The deletion call.
    fn delete_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError>;
    /// Asks whether the scheduler is done with the object
    /// ([`super::presence`]).
    fn gone_call(&self, client: &dyn Scheduler) -> GoneCall;
    /// The shared part of the status, if there is a status.
    fn duck(&self) -> Option<&DuckStatus>;
    /// Whether the status says the scheduler no longer holds this
    /// generation though the object is not being deleted (unloaded
    /// directly, or lost by the scheduler): the apply call is sent again.
    fn lost(&self) -> bool {
        false
    }
    /// Marks the apply call failed in `conditions`.
    fn apply_failed(conditions: &mut Vec<Condition>, now: Time, retry: Retryability, error: &str);
    /// Marks the deletion call accepted in `conditions` (only Pipeline
    /// writes anything).
    fn delete_accepted(_conditions: &mut Vec<Condition>, _now: Time) {}
}

/// Whether `duck` describes `generation` and its `condition` has one of
/// `reasons` (the scheduler states that mean it no longer holds the
/// object): the common part of [`ManagedKind::lost`].
pub(crate) fn reported_gone(
    duck: Option<&DuckStatus>,
    generation: Option<i64>,
    condition: &str,
    reasons: &[&str],
) -> bool {
    duck.is_some_and(|d| {
        d.observed_generation == generation
            && switchyard_translate::conditions::get(&d.conditions, condition)
                .is_some_and(|c| reasons.contains(&c.reason.as_str()))
    })
}

/// What a reconcile of `obj` acts on, hashed: its generation, deletion,
/// finalizers and whether the scheduler lost it ([`ManagedKind::lost`]).
/// Changes to anything else (status, labels, annotations) do not trigger
/// a reconcile; retries come from the requeue, not from changes.
pub(crate) fn acted_on<K: ManagedKind>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = obj.meta();
    let mut hasher = std::hash::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    obj.lost().hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs one reconcile with its metrics, and maps the result to the next
/// action: retryable errors back off per object, final errors wait for a
/// change of the object.
pub(crate) async fn observe<K, F>(
    obj: &K,
    ctx: &ControllerContext,
    reconcile: F,
) -> Result<Action, Infallible>
where
    K: Resource<DynamicType = ()>,
    F: Future<Output = Result<Outcome, ReconcileError>>,
{
    ctx.started(obj);
    let timer = ctx.metrics.start();
    let controller = ctx.metrics.controller();
    let kind = K::kind(&());
    let namespace = obj.meta().namespace.as_deref().unwrap_or_default();
    let name = obj.meta().name.as_deref().unwrap_or_default();
    // Every line logged while reconciling this object carries its
    // namespace, kind and name as fields (through the span), and the
    // warnings below carry them themselves.
    let span = tracing::info_span!("reconcile", controller, %kind, namespace, name);
    let action = match reconcile.instrument(span).await {
        Ok(Outcome::Done) => {
            timer.finish(ReconcileResult::Success);
            Action::await_change()
        }
        Ok(Outcome::Wait(delay)) => {
            ctx.defer(obj);
            timer.finish(ReconcileResult::Requeue);
            Action::requeue(delay)
        }
        Err(error) if error.is_retryable() => {
            let delay = ctx.retry_after_failure(obj);
            tracing::warn!(controller, %kind, namespace, name, %error, retry_in = ?delay, "reconcile failed; will retry");
            timer.finish(ReconcileResult::Error);
            Action::requeue(delay)
        }
        Err(error) => {
            tracing::warn!(controller, %kind, namespace, name, %error, "reconcile failed for good; waiting for a change");
            timer.finish(ReconcileResult::Error);
            Action::await_change()
        }
    };
    Ok(action)
}

/// Runs `call` within `timeout`, classifying what went wrong.
pub(crate) async fn call_scheduler(
    rpc: &'static str,
    namespace: &str,
    name: &str,
    timeout: Duration,
    call: Call,
) -> Result<(), ReconcileError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(status)) => Err(ReconcileError::Scheduler {
            rpc,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            code: status.code,
            message: status.message,
        }),
        Err(_) => Err(ReconcileError::Timeout {
            rpc,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            after: timeout,
        }),
    }
}

/// Read-modify-write of the status of `obj` through the writer: `change`
/// edits the conditions; `observed` raises `observedGeneration` (never
/// lowers it). Nothing is written when nothing changes, and conditions set
/// by the status writer in the meantime are kept.
pub(crate) async fn write_status<K>(
    ctx: &ControllerContext,
    obj: &K,
    duck: fn(&K) -> Option<&DuckStatus>,
    observed: Option<i64>,
    change: impl Fn(&mut Vec<Condition>, Time),
) -> Result<(), WriteError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
{
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let now = now();
    ctx.shared
        .writer
        .update_status::<K, serde_json::Value>(&namespace, &name, |current| {
            let old = duck(current).cloned().unwrap_or_default();
            let mut conditions = old.conditions.clone();
            change(&mut conditions, now.clone());
            let generation = match (old.observed_generation, observed) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if conditions == old.conditions && generation == old.observed_generation {
                return None;
            }
            let mut status = serde_json::Map::new();
            status.insert(
                "conditions".into(),
                serde_json::to_value(&conditions).unwrap_or_default(),
            );
            if let Some(generation) = generation {
                status.insert("observedGeneration".into(), generation.into());
            }
            Some(serde_json::Value::Object(status))
        })
        .await
        .map(drop)
}

/// The reconcile of a Model, Pipeline or Experiment.
pub(crate) async fn reconcile<K: ManagedKind>(
    obj: Arc<K>,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    if !ctx.shared.writer.is_leader() {
        return Ok(Outcome::Done);
    }
    if let Some(wait) = ctx.retry_wait(&*obj) {
        return Ok(Outcome::Wait(wait));
    }
    if obj.meta().deletion_timestamp.is_some() {
        return delete(&*obj, ctx).await;
    }
    let obj = ctx.shared.writer.add_finalizer(&*obj, K::FINALIZER).await?;
    apply(&obj, ctx).await
}

fn invalid<K: Resource<DynamicType = ()>>(obj: &K, source: TranslateError) -> ReconcileError {
    ReconcileError::Invalid {
        kind: leak_kind::<K>(),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        source,
    }
}

/// The kind name as a `&'static str` (the derive gives an owned `Cow`
/// that is in fact static).
fn leak_kind<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()) {
        std::borrow::Cow::Borrowed(kind) => kind,
        std::borrow::Cow::Owned(_) => "object",
    }
}

async fn apply<K: ManagedKind>(
    obj: &K,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    let generation = obj.meta().generation;
    let handled = ctx.recall(obj).handled_generation;
    let observed = obj.duck().and_then(|d| d.observed_generation);
    let lost = obj.lost();
    if generation.is_some() && (handled == generation || observed == generation) && !lost {
        return Ok(Outcome::Done);
    }
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    if lost {
        tracing::info!(
            namespace,
            kind = leak_kind::<K>(),
            name,
            "the scheduler no longer holds it; sending {} again",
            K::APPLY_RPC
        );
    }
    let result = match ctx.shared.schedulers.scheduler(&namespace) {
        Err(source) => Err(ReconcileError::NoRuntime {
            kind: leak_kind::<K>(),
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        }),
        Ok(client) => match obj.apply_call(&*client) {
            Err(e) => Err(invalid(obj, e)),
            Ok(call) => {
                let Some(_permit) = ctx.namespace_permit(&namespace) else {
                    return Ok(Outcome::Wait(NAMESPACE_BUSY_RETRY));
                };
                call_scheduler(
                    K::APPLY_RPC,
                    &namespace,
                    &name,
                    SCHEDULER_CALL_TIMEOUT,
                    call,
                )
                .await
            }
        },
    };
    match result {
        Ok(()) => {
            // No write: the scheduler's status stream writes the first
            // status, `observedGeneration` with it (the write budget,
            // docs/seldon-compat.md#model-controller).
            ctx.handled(obj);
            Ok(Outcome::Done)
        }
        Err(error) => {
            report_apply_failure(obj, ctx, &error).await?;
            Err(error)
        }
    }
}

/// Conditions and events for a failed apply; for a final failure also
/// `observedGeneration`, and the generation is remembered as handled.
async fn report_apply_failure<K: ManagedKind>(
    obj: &K,
    ctx: &ControllerContext,
    error: &ReconcileError,
) -> Result<(), ReconcileError> {
    let retry = error.retryability();
    let message = error.condition_message();
    let final_ = retry == Retryability::NonRetryable;
    let observed = if final_ { obj.meta().generation } else { None };
    write_status(ctx, obj, K::duck, observed, |conditions, now| {
        K::apply_failed(conditions, now, retry, &message)
    })
    .await?;
    let first_failure = ctx.recall(obj).backoff.failures() == 0;
    if final_ {
        ctx.handled(obj);
    }
    if final_ || first_failure {
        let reason = match error {
            ReconcileError::Invalid { .. } => REASON_INVALID_SPEC,
            _ => K::REASON_APPLY_FAILED,
        };
        (ctx.shared.writer)
            .event(obj, EventType::Warning, reason, message, K::APPLY_RPC)
            .await;
    }
    Ok(())
}

async fn delete<K: ManagedKind>(
    obj: &K,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    if !obj.finalizers().iter().any(|f| f == K::FINALIZER) {
        return Ok(Outcome::Done);
    }
    if ctx.recall(obj).deletion_sent {
        return recheck(obj, ctx).await;
    }
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let client = ctx
        .shared
        .schedulers
        .scheduler(&namespace)
        .map_err(|source| ReconcileError::NoRuntime {
            kind: leak_kind::<K>(),
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let call = match obj.delete_call(&*client) {
        Ok(call) => call,
        Err(e) => {
            // Nothing the scheduler could know by this name: let it go.
            let note = format!("{e}; finalizer removed");
            ctx.shared
                .writer
                .remove_finalizer(obj, K::FINALIZER)
                .await?;
            (ctx.shared.writer)
                .event(
                    obj,
                    EventType::Warning,
                    REASON_INVALID_SPEC,
                    note,
                    K::DELETE_RPC,
                )
                .await;
            return Ok(Outcome::Done);
        }
    };
    let Some(permit) = ctx.namespace_permit(&namespace) else {
        return Ok(Outcome::Wait(NAMESPACE_BUSY_RETRY));
    };
    let called = call_scheduler(
        K::DELETE_RPC,
        &namespace,
        &name,
        SCHEDULER_CALL_TIMEOUT,
        call,
    )
    .await;
    drop(permit);
    match called {
        Ok(()) => {
            ctx.remember(obj, |m| m.deletion_sent = true);
            ctx.handled(obj);
            write_status(ctx, obj, K::duck, None, K::delete_accepted).await?;
            let note = format!(
                "{} accepted; the finalizer goes when the scheduler reports the end",
                K::DELETE_RPC
            );
            (ctx.shared.writer)
                .event(
                    obj,
                    EventType::Normal,
                    K::REASON_DELETE_REQUESTED,
                    note,
                    K::DELETE_RPC,
                )
                .await;
            // In case the end is never reported (see `recheck`).
            Ok(Outcome::Wait(ctx.shared.deletion_recheck))
        }
        Err(error) if !error.is_retryable() => {
            // The scheduler does not know it (or cannot unload it ever):
            // nothing to wait for.
            ctx.shared
                .writer
                .remove_finalizer(obj, K::FINALIZER)
                .await?;
            ctx.handled(obj);
            let note = format!("{}; finalizer removed", error.condition_message());
            (ctx.shared.writer)
                .event(
                    obj,
                    EventType::Warning,
                    K::REASON_DELETE_FAILED,
                    note,
                    K::DELETE_RPC,
                )
                .await;
            Ok(Outcome::Done)
        }
        Err(error) => Err(error),
    }
}

/// Event reason when a deleting object is released because the scheduler
/// no longer has it, its end never reported on the status stream.
pub const REASON_RELEASED: &str = "Released";

/// A deletion the scheduler accepted a while ago whose end the status
/// stream has not reported (the event can be lost while the stream is
/// down): asks the scheduler, releases the object if it is done with it,
/// else asks again after [`Context::deletion_recheck`](super::Context).
async fn recheck<K: ManagedKind>(
    obj: &K,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    let later = Outcome::Wait(ctx.shared.deletion_recheck);
    let namespace = obj.namespace().unwrap_or_default();
    let Ok(client) = ctx.shared.schedulers.scheduler(&namespace) else {
        // No scheduler: the runtime's own deletion rules apply.
        return Ok(later);
    };
    let Some(_permit) = ctx.namespace_permit(&namespace) else {
        return Ok(Outcome::Wait(NAMESPACE_BUSY_RETRY));
    };
    match tokio::time::timeout(SCHEDULER_CALL_TIMEOUT, obj.gone_call(&*client)).await {
        Ok(Ok(true)) => {
            ctx.shared
                .writer
                .remove_finalizer(obj, K::FINALIZER)
                .await?;
            let note = "the scheduler no longer has it, its end never reported on the status stream; finalizer removed".to_owned();
            (ctx.shared.writer)
                .event(obj, EventType::Normal, REASON_RELEASED, note, K::DELETE_RPC)
                .await;
            Ok(Outcome::Done)
        }
        Ok(Ok(false)) => Ok(later),
        Ok(Err(status)) => {
            tracing::debug!(namespace, name = %obj.name_any(), %status, "deletion re-check failed; asking again later");
            Ok(later)
        }
        Err(_) => Ok(later),
    }
}
