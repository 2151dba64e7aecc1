//! The Server controller: ServerNotify(isFirstSync=false) once per spec
//! generation (Seldon notified on every reconcile, status updates included,
//! docs/seldon-compat.md#server-controller), scaling validation failures as `StatefulSetOrDeploymentReady`
//! False naming the fields plus a Warning event (not retried), and one
//! ServerNotify with 0/0/0 replicas when a Server goes away. No finalizer,
//! as in Seldon: a deletion is seen either on a Server that still has
//! someone else's finalizer (reconcile) or as the watch's delete event
//! ([`watch_deletions`]); a deletion missed while the watch was down is
//! not notified (the server pods disconnecting tell the scheduler too).
//!
//! Workloads (StatefulSets, Services) are not created here yet (their
//! builders are in `switchyard-workloads`); their readiness is read
//! against the Server's own replicas ([`workload`]). Scaling requests from the scheduler are the
//! status writer's job.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kube::runtime::events::EventType;
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{ControllerContext, NAMESPACE_BUSY_RETRY};
use super::error::{ReconcileError, RetryBackoff};
use super::lifecycle::{Outcome, REASON_INVALID_SPEC, call_scheduler, write_status};
use super::{server_workload, workload};
use switchyard_api::{DuckStatus, Server};
use switchyard_translate::conditions::{self, Retryability, STATEFUL_SET_OR_DEPLOYMENT_READY};
use switchyard_translate::scaling::validate_scaling;
use switchyard_translate::server::server_notify_request;

/// The controller's name in metrics and logs.
pub const SERVER_CONTROLLER: &str = "server";
/// Bound on one ServerNotify (Seldon's 30 s: the scheduler may reschedule
/// models before it answers).
pub const SERVER_NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of the 0-replica notify of a Server that is gone (there is no
/// object left to requeue, so the watcher task retries it itself).
pub const DELETED_NOTIFY_ATTEMPTS: u32 = 5;
/// Most 0-replica notifies in flight at once; further deletions wait.
pub const DELETED_NOTIFY_CONCURRENCY: usize = 16;

const RPC: &str = "ServerNotify";
const REASON_NOTIFY_FAILED: &str = "NotifyFailed";
/// Seldon's reason for a workload that could not be written.
const REASON_UPDATE_FAILED: &str = "UpdateFailed";

fn duck(server: &Server) -> Option<&DuckStatus> {
    server.status.as_ref().map(|s| &s.duck)
}

/// The reconcile of one Server.
pub(crate) async fn reconcile(
    server: Arc<Server>,
    ctx: &ControllerContext,
) -> Result<Outcome, ReconcileError> {
    if !ctx.shared.writer.is_leader() {
        return Ok(Outcome::Done);
    }
    if let Some(wait) = ctx.retry_wait(&*server) {
        return Ok(Outcome::Wait(wait));
    }
    if server.meta().deletion_timestamp.is_some() {
        return notify_deleted(&server, ctx).await.map(|()| Outcome::Done);
    }
    let generation = server.meta().generation;
    // The pods first, on every reconcile (unchanged objects cost a read,
    // no write), so drift and deleted objects are repaired. Invalid
    // scaling is the notify's to report; a generation refused for good
    // stays refused until the spec changes.
    let spec = &server.spec;
    let scaling = validate_scaling(spec.replicas, spec.min_replicas, spec.max_replicas);
    let settled = generation.is_some() && ctx.recall(&*server).handled_generation == generation;
    if let Ok(scaling) = scaling
        && !(settled && refused(&server))
    {
        let replicas = i32::try_from(scaling.replicas).unwrap_or(i32::MAX);
        if let Err(error) = server_workload::apply(&server, ctx, replicas).await {
            return failed(&server, ctx, generation, error).await;
        }
    }
    let handled = ctx.recall(&*server).handled_generation;
    let observed = duck(&server).and_then(|d| d.observed_generation);
    if generation.is_some() && (handled == generation || observed == generation) {
        // A workload change, or a restart: the readiness may have moved.
        if !refused(&server) {
            workload::observe(&server, ctx, None).await?;
        }
        return Ok(Outcome::Done);
    }
    match notify(&server, ctx).await {
        Ok(()) => {
            // One status write: the workload's readiness and the
            // generation the scheduler accepted, together.
            workload::observe(&server, ctx, generation).await?;
            ctx.handled(&*server);
            Ok(Outcome::Done)
        }
        Err(ReconcileError::Busy { .. }) => Ok(Outcome::Wait(NAMESPACE_BUSY_RETRY)),
        Err(error) => failed(&server, ctx, generation, error).await,
    }
}

/// Reports `error` on the Server (condition; an event on a final error or
/// the first of a run of failures) and hands it back for the retry policy.
async fn failed(
    server: &Server,
    ctx: &ControllerContext,
    generation: Option<i64>,
    error: ReconcileError,
) -> Result<Outcome, ReconcileError> {
    let retry = error.retryability();
    let message = error.condition_message();
    let final_ = retry == Retryability::NonRetryable;
    let invalid_scaling = matches!(error, ReconcileError::Invalid { .. });
    write_status(
        ctx,
        server,
        duck,
        if final_ { generation } else { None },
        |conditions, now| {
            if invalid_scaling {
                conditions::server::scaling_invalid(conditions, now, &message)
            } else {
                conditions::server::reconcile_failed(conditions, now, &message)
            }
        },
    )
    .await?;
    let first_failure = ctx.recall(server).backoff.failures() == 0;
    if final_ {
        ctx.handled(server);
    }
    if final_ || first_failure {
        let reason = match error {
            ReconcileError::Invalid { .. } | ReconcileError::Build { .. } => REASON_INVALID_SPEC,
            ReconcileError::Scheduler { .. }
            | ReconcileError::Timeout { .. }
            | ReconcileError::NoRuntime { .. } => REASON_NOTIFY_FAILED,
            _ => REASON_UPDATE_FAILED,
        };
        (ctx.shared.writer)
            .event(server, EventType::Warning, reason, message, RPC)
            .await;
    }
    Err(error)
}

/// Whether this generation was refused for good (invalid scaling, or a
/// final scheduler error): its condition stays until the spec changes.
fn refused(server: &Server) -> bool {
    let reason = duck(server)
        .and_then(|d| conditions::get(&d.conditions, STATEFUL_SET_OR_DEPLOYMENT_READY))
        .map(|c| c.reason.as_str());
    matches!(
        reason,
        Some(
            conditions::server::REASON_INVALID_SCALING
                | conditions::server::REASON_RECONCILE_FAILED
        )
    )
}

/// ServerNotify for `server` as it is (0/0/0 when it is being deleted).
async fn notify(server: &Server, ctx: &ControllerContext) -> Result<(), ReconcileError> {
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let batch = server_notify_request(std::iter::once(server), false);
    if let Some(failure) = batch.failures.into_iter().next() {
        return Err(ReconcileError::Invalid {
            kind: "Server",
            namespace,
            name,
            source: failure.error,
        });
    }
    let Some(request) = batch.request else {
        return Ok(());
    };
    let client = ctx
        .shared
        .schedulers
        .scheduler(&namespace)
        .map_err(|source| ReconcileError::NoRuntime {
            kind: "Server",
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let call = client.server_notify(request);
    let Some(_permit) = ctx.namespace_permit(&namespace) else {
        return Err(ReconcileError::Busy { namespace });
    };
    call_scheduler(RPC, &namespace, &name, SERVER_NOTIFY_TIMEOUT, call).await
}

/// The 0/0/0 notify of a Server being deleted or gone, once per object.
async fn notify_deleted(server: &Server, ctx: &ControllerContext) -> Result<(), ReconcileError> {
    if ctx.recall(server).deletion_sent {
        return Ok(());
    }
    let mut gone = server.clone();
    if gone.metadata.deletion_timestamp.is_none() {
        gone.metadata.deletion_timestamp = Some(super::context::now());
    }
    notify(&gone, ctx).await?;
    ctx.remember(server, |m| m.deletion_sent = true);
    tracing::info!(namespace = ?server.namespace(), server = %server.name_any(), "notified the scheduler of a deleted Server (0 replicas)");
    Ok(())
}

/// Follows Server delete events of `api` until `stop`, sending each gone
/// Server's 0-replica notify (bounded concurrency, own retries).
pub(crate) async fn watch_deletions(
    api: Api<Server>,
    ctx: Arc<ControllerContext>,
    stop: CancellationToken,
) {
    let events = watcher(api, watcher::Config::default());
    let mut events = std::pin::pin!(events);
    let mut notifies = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(done) = notifies.join_next(), if !notifies.is_empty() => {
                if let Err(e) = done {
                    tracing::warn!(error = %e, "a deleted-Server notify task failed");
                }
            }
            event = events.next() => match event {
                None => break,
                Some(Ok(watcher::Event::Delete(server))) => {
                    while notifies.len() >= DELETED_NOTIFY_CONCURRENCY {
                        notifies.join_next().await;
                    }
                    let ctx = ctx.clone();
                    let stop = stop.clone();
                    notifies.spawn(async move { notify_gone(server, &ctx, &stop).await });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "Server watch failed; retrying");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
    notifies.shutdown().await;
}

async fn notify_gone(server: Server, ctx: &ControllerContext, stop: &CancellationToken) {
    let mut backoff = RetryBackoff::default();
    let mut attempts = 0;
    while attempts < DELETED_NOTIFY_ATTEMPTS {
        if !ctx.shared.writer.is_leader() {
            return;
        }
        match notify_deleted(&server, ctx).await {
            Ok(()) => return,
            // The namespace's call slots are taken: no attempt was made.
            Err(ReconcileError::Busy { .. }) => {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(NAMESPACE_BUSY_RETRY) => {}
                }
                continue;
            }
            Err(e) if !e.is_retryable() => {
                tracing::warn!(error = %e, "0-replica notify of a deleted Server refused");
                return;
            }
            Err(e) => {
                attempts += 1;
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "0-replica notify of a deleted Server failed");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
