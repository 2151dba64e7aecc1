//! Is a namespace's scheduler answering? A stopped scheduler process keeps
//! its TCP connection open, and HTTP/2 keepalive only notices after its
//! 60 s interval of silence plus the 2 s ping timeout (the interval is the
//! scheduler's contract: it refuses pings more often while it sends
//! nothing). Until then, calls would wait for their whole deadline and the
//! namespace would show Ready.
//!
//! So the pool asks the scheduler itself, with a `SchedulerStatus` call
//! (an RPC, not a ping, so the ping policy does not apply) answered within
//! [`PROBE_TIMEOUT`]:
//!
//! - when a call has waited [`SUSPECT_AFTER`] for its response, and
//! - when nothing was heard from the scheduler (no stream message, no
//!   response) for [`IDLE_PROBE_AFTER`] (the first time after up to twice
//!   that, spread by namespace, so runtimes added together are not probed
//!   together). A frozen idle scheduler leaves Ready within about 22 s.
//!
//! Any answer, even an error status, or any stream message meanwhile,
//! means alive. No answer in time
//! means silent: calls waiting fail with UNAVAILABLE, new calls fail at
//! once (`UpstreamChannel`), the namespace leaves Ready, and the probe is
//! repeated every [`PROBE_TIMEOUT`] until it is answered. A refused
//! connection is not silence (the streams' reconnects handle it; calls
//! fail fast by themselves).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tonic::Status;

use switchyard_core::metrics as m;
use switchyard_proto::scheduler::{SchedulerStatusRequest, SchedulerStatusResponse};

use crate::entry::NamespaceEntry;
use crate::link::Link;
use crate::subscriptions::SUBSCRIBER_NAME;

/// How long a call waits for its response before the scheduler is probed.
pub const SUSPECT_AFTER: Duration = Duration::from_secs(2);
/// How long a probe waits for its answer: the keepalive timeout.
pub const PROBE_TIMEOUT: Duration = crate::channel::KEEPALIVE_TIMEOUT;
/// Silence after which an idle namespace's scheduler is probed anyway.
pub const IDLE_PROBE_AFTER: Duration = Duration::from_secs(20);

/// What is known of one namespace's scheduler's answers.
pub struct Liveness {
    silent: watch::Sender<bool>,
    /// Woken when a call has waited [`SUSPECT_AFTER`].
    suspect: Notify,
    /// When the scheduler last answered, in ms after `base`.
    heard_ms: AtomicU64,
    base: Instant,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            silent: watch::channel(false).0,
            suspect: Notify::new(),
            heard_ms: AtomicU64::new(0),
            base: Instant::now(),
        }
    }
}

impl Liveness {
    /// The scheduler answered (a response, a stream message).
    pub fn heard(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.heard_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last_heard(&self) -> Instant {
        self.base + Duration::from_millis(self.heard_ms.load(Ordering::Relaxed))
    }

    pub fn is_silent(&self) -> bool {
        *self.silent.borrow()
    }

    /// UNAVAILABLE for a call of `namespace` while its scheduler is silent.
    pub(crate) fn fail_fast(&self, namespace: &str) -> Option<Status> {
        self.is_silent().then(|| self.silent_status(namespace))
    }

    pub(crate) fn silent_status(&self, namespace: &str) -> Status {
        metrics::counter!(m::UPSTREAM_FAST_FAILURES_TOTAL, "namespace" => namespace.to_owned())
            .increment(1);
        Status::unavailable(format!(
            "namespace {namespace:?}: its scheduler is not answering (a probe got no answer within {PROBE_TIMEOUT:?}); failing at once instead of waiting for the deadline"
        ))
    }

    /// `call`'s output, or `None` if the scheduler is found silent first.
    /// After [`SUSPECT_AFTER`] without an answer the scheduler is probed.
    pub(crate) async fn unless_silent<F: Future>(&self, call: F) -> Option<F::Output> {
        tokio::pin!(call);
        tokio::select! {
            biased;
            output = &mut call => return Some(output),
            () = tokio::time::sleep(SUSPECT_AFTER) => {}
        }
        self.suspect.notify_one();
        let mut silent = self.silent.subscribe();
        tokio::select! {
            biased;
            output = &mut call => Some(output),
            _ = silent.wait_for(|s| *s) => None,
        }
    }
}

/// How a probe went.
enum Probe {
    Answered,
    Silent,
    /// No connection: not silence.
    Unreachable,
}

async fn probe(channel: &Link) -> Probe {
    let request = SchedulerStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
    };
    let call = crate::stream_client::unary::<_, SchedulerStatusResponse>(
        channel,
        "/seldon.mlops.scheduler.Scheduler/SchedulerStatus",
        request,
    );
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Err(_) => Probe::Silent,
        Ok(Err(status)) if status.code() == tonic::Code::Unavailable => Probe::Unreachable,
        Ok(_) => Probe::Answered,
    }
}

/// Probes `entry`'s scheduler when a call suspects it or it has been quiet
/// for [`IDLE_PROBE_AFTER`], and keeps `liveness` and the entry's state in
/// step, until the entry is cancelled.
pub(crate) async fn watch_over(entry: Arc<NamespaceEntry>, liveness: Arc<Liveness>) {
    let cancel = entry.cancel.clone();
    // Spread over one more period by namespace, so that runtimes added
    // together are not all probed in the same instant.
    let spread = {
        use std::hash::{BuildHasher, RandomState};
        let hash = RandomState::new().hash_one(entry.namespace());
        IDLE_PROBE_AFTER.mul_f64((hash % 1000) as f64 / 1000.0)
    };
    let mut last_probe = Instant::now() + spread;
    loop {
        let idle = liveness.last_heard().max(last_probe) + IDLE_PROBE_AFTER;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = liveness.suspect.notified() => {}
            () = tokio::time::sleep_until(idle) => {
                if liveness.last_heard() + IDLE_PROBE_AFTER > Instant::now() {
                    continue;
                }
            }
        }
        loop {
            last_probe = Instant::now();
            let answer = tokio::select! {
                () = cancel.cancelled() => return,
                // Boxed: the probe's state (a gRPC call) is held only while
                // it runs, not by the task for the runtime's life.
                answer = Box::pin(probe(entry.channel.raw())) => answer,
            };
            // A stream message or a response meanwhile is an answer too (a
            // busy scheduler may answer the probe late, not its streams).
            let answer = match answer {
                Probe::Silent if liveness.last_heard() >= last_probe => Probe::Answered,
                answer => answer,
            };
            match answer {
                Probe::Answered => {
                    liveness.heard();
                    if liveness
                        .silent
                        .send_if_modified(|s| std::mem::replace(s, false))
                    {
                        tracing::info!(namespace = %entry.namespace(), "scheduler answers again");
                        entry.set_silent(false);
                    }
                    break;
                }
                Probe::Unreachable => break,
                Probe::Silent => {
                    if liveness
                        .silent
                        .send_if_modified(|s| !std::mem::replace(s, true))
                    {
                        tracing::warn!(namespace = %entry.namespace(), timeout = ?PROBE_TIMEOUT, "scheduler not answering: its calls fail with UNAVAILABLE until it does");
                        entry.set_silent(true);
                    }
                }
            }
        }
    }
}
