//! Resync: answers each namespace's control-plane requests (SEND_SERVERS,
//! SEND_MODELS, SEND_PIPELINES, SEND_EXPERIMENTS) by re-sending that
//! namespace's CRs to its scheduler (docs/seldon-compat.md#resync-protocol), and repairs partial
//! loss.
//!
//! In: the pool's [`ControlPlaneEvent`] channel. Each (namespace, event)
//! runs in its own task, so a slow namespace never blocks another; a
//! repeated event while one runs is coalesced into one more pass after it.
//! A pass that fails transiently is retried with capped backoff for at most
//! [`RESYNC_WINDOW`]; per-object non-retryable errors skip that object. Only
//! the leader resyncs (scheduler calls are skipped otherwise, and writes are
//! gated by the [`ApiWriter`]); on becoming leader, every namespace of the
//! pool is resynced.
//!
//! Differences from Seldon's Go operator, on purpose:
//! - Pipelines and experiments the scheduler lacks are re-sent even when it
//!   has others (Go re-sends only when it has none, docs/seldon-compat.md#resync-partial-loss); deleting ones
//!   are unloaded / stopped while the scheduler still has them, and only
//!   lose their finalizer once it does not.
//! - SEND_SERVERS always answers with a first-sync ServerNotify, empty when
//!   there is no valid Server, so the scheduler never waits its 600 s ready
//!   timeout (docs/seldon-compat.md#first-sync).
//! - switchyard does not create server workloads: a Server without a
//!   StatefulSet or Deployment of its name is notified with its own
//!   validated `spec.replicas` instead of being skipped.
//! - NotFound from Unload / Stop means there is nothing left to remove, so
//!   it is final (Go would retry it).

mod calls;
mod passes;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use switchyard_core::schedulers::{Code, SchedulerError, Schedulers, UnknownNamespace};
use switchyard_tasks::TaskGroup;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::controllers::error::is_final_code;
use super::writer::{ApiWriter, WriteError};
use switchyard_core::control_plane::ControlPlaneEvent;
use switchyard_core::control_plane::Event;
use switchyard_core::metrics as m;

/// How long one control-plane request is retried (Go: 10 minutes).
pub const RESYNC_WINDOW: Duration = Duration::from_secs(600);
/// First pause between attempts of a failed pass (Go: 500 ms).
pub const RETRY_INITIAL: Duration = Duration::from_millis(500);
/// Longest pause between attempts.
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// Bound on one scheduler call (Go: 10 s, 30 s for ServerNotify).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a resync pass (or one step of it) failed.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    #[error(transparent)]
    Pool(#[from] UnknownNamespace),
    #[error("{what}: scheduler answered {status}")]
    Scheduler {
        what: String,
        status: SchedulerError,
    },
    #[error("{what}: no answer within {CALL_TIMEOUT:?}")]
    Timeout { what: String },
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl ResyncError {
    /// Whether another attempt of the pass could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ResyncError::Pool(_) => false,
            ResyncError::Scheduler { status, .. } => is_retryable_code(status.code),
            ResyncError::Write(WriteError::NotLeader) => false,
            ResyncError::Timeout { .. } | ResyncError::Kube { .. } | ResyncError::Write(_) => true,
        }
    }
}

/// Whether a scheduler error on one object's call is worth running the
/// whole pass again: not for the codes the controllers treat as final
/// ([`is_final_code`], docs/seldon-compat.md#retry-classification), nor for NotFound and
/// InvalidArgument, which are about that one object and would be answered
/// the same on every pass. Such an object is skipped; its controller still
/// owns it and reports the error on the CR.
pub fn is_retryable_code(code: Code) -> bool {
    !is_final_code(code) && !matches!(code, Code::NotFound | Code::InvalidArgument)
}

/// The resync dispatcher, a task of the caller's group.
pub struct Resync;

impl Resync {
    /// Consumes `control_plane` until the group is cancelled or the channel
    /// closes. A pass that panics takes the dispatcher with it, so the
    /// group reports it (its namespace would otherwise never resync again).
    pub fn start(
        writer: ApiWriter,
        schedulers: Arc<dyn Schedulers>,
        control_plane: mpsc::Receiver<ControlPlaneEvent>,
        tasks: &TaskGroup,
    ) {
        let ctx = Arc::new(Ctx { writer, schedulers });
        tasks.spawn("resync", dispatch(ctx, control_plane, tasks.token()));
    }
}

struct Ctx {
    writer: ApiWriter,
    schedulers: Arc<dyn Schedulers>,
}

type PassKey = (Arc<str>, Event);

const KINDS: [Event; 4] = [
    Event::SendServers,
    Event::SendExperiments,
    Event::SendModels,
    Event::SendPipelines,
];

/// The passes in flight and those asked for again meanwhile.
struct Passes {
    ctx: Arc<Ctx>,
    running: HashSet<PassKey>,
    again: HashSet<PassKey>,
    set: JoinSet<PassKey>,
    cancel: CancellationToken,
}

impl Passes {
    fn submit(&mut self, key: PassKey) {
        if self.running.contains(&key) {
            self.again.insert(key);
        } else {
            self.running.insert(key.clone());
            self.set
                .spawn(run(self.ctx.clone(), key, self.cancel.clone()));
        }
    }

    fn finished(&mut self, key: PassKey) {
        self.running.remove(&key);
        if self.again.remove(&key) {
            self.submit(key);
        }
    }
}

async fn dispatch(
    ctx: Arc<Ctx>,
    mut control_plane: mpsc::Receiver<ControlPlaneEvent>,
    cancel: CancellationToken,
) {
    let mut leadership = ctx.writer.leadership();
    let mut leadership_open = true;
    let mut input_open = true;
    let mut passes = Passes {
        ctx: ctx.clone(),
        running: HashSet::new(),
        again: HashSet::new(),
        set: JoinSet::new(),
        cancel: cancel.child_token(),
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            event = control_plane.recv(), if input_open => match event {
                Some(ControlPlaneEvent { namespace, event }) => {
                    if KINDS.contains(&event) {
                        passes.submit((namespace, event));
                    } else {
                        tracing::warn!(%namespace, ?event, "unknown control-plane event; ignored");
                    }
                }
                None => {
                    input_open = false;
                    if passes.set.is_empty() { break }
                }
            },
            changed = leadership.changed(), if leadership_open => {
                if changed.is_err() {
                    leadership_open = false;
                } else if *leadership.borrow_and_update() {
                    tracing::info!("became leader: resyncing every namespace");
                    for ns in ctx.schedulers.namespaces() {
                        let ns: Arc<str> = ns.into();
                        for kind in KINDS {
                            passes.submit((ns.clone(), kind));
                        }
                    }
                }
            }
            Some(done) = passes.set.join_next() => {
                match done {
                    Ok(key) => passes.finished(key),
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    // Cancelled: only on the way out.
                    Err(_) => {}
                }
                if !input_open && passes.set.is_empty() { break }
            }
        }
    }
    passes.cancel.cancel();
    while passes.set.join_next().await.is_some() {}
}

/// The `kind` label of the objects a pass for `event` re-sends.
fn resent_kind(event: Event) -> Option<&'static str> {
    match event {
        Event::SendServers => Some("server"),
        Event::SendModels => Some("model"),
        Event::SendPipelines => Some("pipeline"),
        Event::SendExperiments => Some("experiment"),
        Event::UnknownEvent => None,
    }
}

fn event_label(event: Event) -> &'static str {
    match event {
        Event::SendServers => "send_servers",
        Event::SendModels => "send_models",
        Event::SendPipelines => "send_pipelines",
        Event::SendExperiments => "send_experiments",
        Event::UnknownEvent => "unknown",
    }
}

/// One control-plane request, retried until done, final, or out of time.
async fn run(ctx: Arc<Ctx>, key: PassKey, cancel: CancellationToken) -> PassKey {
    let (ns, event) = (&*key.0, key.1);
    let deadline = Instant::now() + RESYNC_WINDOW;
    let mut delay = RETRY_INITIAL;
    let result = loop {
        if !ctx.writer.is_leader() {
            break "not_leader";
        }
        let outcome = tokio::select! {
            () = cancel.cancelled() => break "cancelled",
            outcome = pass(&ctx, ns, event) => outcome,
        };
        match outcome {
            Ok(()) => break "ok",
            Err(error) if error.is_retryable() && Instant::now() + delay < deadline => {
                tracing::warn!(namespace = ns, event = event_label(event), %error, retry_in = ?delay, "resync failed; retrying");
                tokio::select! {
                    () = cancel.cancelled() => break "cancelled",
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 3 / 2).min(RETRY_MAX);
            }
            Err(error) => {
                tracing::error!(namespace = ns, event = event_label(event), %error, "resync failed; giving up");
                break "error";
            }
        }
    };
    metrics::counter!(m::RESYNCS_TOTAL, "namespace" => ns.to_owned(), "event" => event_label(event), "result" => result)
        .increment(1);
    key
}

async fn pass(ctx: &Ctx, ns: &str, event: Event) -> Result<(), ResyncError> {
    let client = ctx.schedulers.scheduler(ns)?;
    // The kind a pass covers is exported even when it re-sends nothing.
    if let Some(kind) = resent_kind(event) {
        metrics::counter!(m::RESYNC_OBJECTS_SENT_TOTAL, "namespace" => ns.to_owned(), "kind" => kind)
            .increment(0);
    }
    match event {
        Event::SendServers => passes::servers(ctx, ns, client).await,
        Event::SendModels => passes::models(ctx, ns, client).await,
        Event::SendPipelines => passes::pipelines(ctx, ns, client).await,
        Event::SendExperiments => passes::experiments(ctx, ns, client).await,
        Event::UnknownEvent => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_codes_are_not_retried() {
        assert!(!is_retryable_code(Code::FailedPrecondition));
        assert!(!is_retryable_code(Code::Unimplemented));
        assert!(!is_retryable_code(Code::NotFound));
        assert!(is_retryable_code(Code::Unavailable));
        assert!(is_retryable_code(Code::DeadlineExceeded));
        assert!(is_retryable_code(Code::Internal));
    }
}
