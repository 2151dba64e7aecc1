//! The building blocks of a resync pass: scheduler calls with a deadline
//! and their classification, translation, API reads.

use k8s_openapi::NamespaceResourceScope;
use kube::api::ListParams;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use switchyard_core::schedulers::{Call, SchedulerError};

use super::{CALL_TIMEOUT, Ctx, ResyncError, is_retryable_code};
use crate::writer::WRITE_TIMEOUT;
use switchyard_core::metrics as m;
use switchyard_translate as translate;

pub(super) fn sent(ns: &str, kind: &'static str) {
    metrics::counter!(m::RESYNC_OBJECTS_SENT_TOTAL, "namespace" => ns.to_owned(), "kind" => kind)
        .increment(1);
}

/// A scheduler call with a deadline; `Ok(Err(status))` is the scheduler's
/// own answer, for the caller to classify.
pub(super) async fn call<T>(
    what: impl FnOnce() -> String,
    fut: Call<T>,
) -> Result<Result<T, SchedulerError>, ResyncError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(answer) => Ok(answer),
        Err(_) => Err(ResyncError::Timeout { what: what() }),
    }
}

/// Collects a finite status listing within the call deadline; any error
/// (the scheduler's or the deadline) fails the pass, to be retried.
pub(super) async fn listing<T>(
    what: impl Fn() -> String,
    collect: Call<T>,
) -> Result<T, ResyncError> {
    match tokio::time::timeout(CALL_TIMEOUT, collect).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(status)) => Err(ResyncError::Scheduler {
            what: what(),
            status,
        }),
        Err(_) => Err(ResyncError::Timeout { what: what() }),
    }
}

/// A retryable scheduler error aborts the pass; a final one is logged for
/// the caller to skip (or release) the object.
pub(super) fn classify(what: String, status: SchedulerError) -> Result<(), ResyncError> {
    if is_retryable_code(status.code) {
        Err(ResyncError::Scheduler { what, status })
    } else {
        tracing::warn!(%what, %status, "scheduler refused; skipping this object");
        Ok(())
    }
}

/// The request `rpc` of `ns/name`, or `None` (logged) when the object
/// cannot become one: it is not re-sent.
pub(super) fn translated<R>(
    ns: &str,
    rpc: &str,
    name: &str,
    request: Result<R, translate::TranslateError>,
) -> Option<R> {
    request
        .inspect_err(|error| {
            tracing::warn!(namespace = ns, rpc, name, %error, "cannot build the request; not re-sent");
        })
        .ok()
}

/// Re-sends one object's call: counted when the scheduler accepts it
/// (`true`); a retryable error aborts the pass; a final refusal is `false`,
/// for the caller to skip the object or, when it is being deleted, release
/// it.
pub(super) async fn resend<T>(
    ns: &str,
    kind: &'static str,
    what: String,
    fut: Call<T>,
) -> Result<bool, ResyncError> {
    match call(|| what.clone(), fut).await? {
        Ok(_) => {
            sent(ns, kind);
            Ok(true)
        }
        Err(status) => classify(what, status).map(|()| false),
    }
}

pub(super) async fn list<K>(ctx: &Ctx, ns: &str) -> Result<Vec<K>, ResyncError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let kind = K::kind(&());
    let api: Api<K> = Api::namespaced(ctx.writer.client().clone(), ns);
    let what = || format!("listing {kind}s in {ns}");
    match tokio::time::timeout(WRITE_TIMEOUT, api.list(&ListParams::default())).await {
        Ok(Ok(list)) => Ok(list.items),
        Ok(Err(source)) => Err(ResyncError::Kube {
            what: what(),
            source,
        }),
        Err(_) => Err(ResyncError::Timeout { what: what() }),
    }
}

pub(super) async fn get_opt<K>(ctx: &Ctx, ns: &str, name: &str) -> Result<Option<K>, ResyncError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let kind = K::kind(&());
    let api: Api<K> = Api::namespaced(ctx.writer.client().clone(), ns);
    let what = || format!("reading {kind} {ns}/{name}");
    match tokio::time::timeout(WRITE_TIMEOUT, api.get_opt(name)).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(source)) => Err(ResyncError::Kube {
            what: what(),
            source,
        }),
        Err(_) => Err(ResyncError::Timeout { what: what() }),
    }
}

pub(super) fn deleting<K: Resource>(obj: &K) -> bool {
    obj.meta().deletion_timestamp.is_some()
}

pub(super) fn has_finalizer<K: Resource>(obj: &K, finalizer: &str) -> bool {
    obj.finalizers().iter().any(|f| f == finalizer)
}
