//! The controller-runtime metrics of one controller: reconcile counts by
//! result, errors, durations, the concurrency limit, running workers and a
//! queue depth (see [`switchyard_core::metrics::WORKQUEUE_DEPTH`] for exactly what it
//! counts). Every label value is the controller's name or a result word.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use switchyard_core::metrics as m;

/// How a reconcile ended, for `controller_runtime_reconcile_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReconcileResult {
    /// Done; nothing more until the object changes.
    Success,
    /// Failed; requeued with backoff (retryable) or left for the user to
    /// fix (final).
    Error,
    /// Succeeded but asked to be reconciled again after a delay.
    Requeue,
}

impl ReconcileResult {
    fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::Requeue => "requeue",
        }
    }
}

/// Handles on one controller's metrics. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ControllerMetrics {
    controller: &'static str,
    active: Arc<AtomicI64>,
    depth: Arc<AtomicI64>,
}

impl ControllerMetrics {
    /// The metrics of `controller`, with its concurrency limit published.
    pub(crate) fn new(controller: &'static str, concurrency: u16) -> Self {
        metrics::gauge!(m::MAX_CONCURRENT_RECONCILES, "controller" => controller)
            .set(f64::from(concurrency));
        // Every result and the error count start at 0, as controller-runtime's
        // do, so rate() and error panels have a series before the first error.
        for result in [
            ReconcileResult::Success,
            ReconcileResult::Error,
            ReconcileResult::Requeue,
        ] {
            metrics::counter!(m::RECONCILE_TOTAL, "controller" => controller, "result" => result.as_str())
                .increment(0);
        }
        metrics::counter!(m::RECONCILE_ERRORS_TOTAL, "controller" => controller).increment(0);
        let this = ControllerMetrics {
            controller,
            active: Arc::default(),
            depth: Arc::default(),
        };
        this.publish();
        this
    }

    pub(crate) fn controller(&self) -> &'static str {
        self.controller
    }

    fn publish(&self) {
        metrics::gauge!(m::ACTIVE_WORKERS, "controller" => self.controller)
            .set(self.active.load(Ordering::Relaxed) as f64);
        metrics::gauge!(m::WORKQUEUE_DEPTH, "name" => self.controller)
            .set(self.depth.load(Ordering::Relaxed) as f64);
    }

    /// A reconcile starts; the guard records its end.
    pub(crate) fn start(&self) -> ReconcileTimer {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.publish();
        ReconcileTimer {
            metrics: self.clone(),
            started: Instant::now(),
            finished: false,
        }
    }

    /// A retry of some object was scheduled.
    pub(crate) fn retry_scheduled(&self) {
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.publish();
    }

    /// A scheduled retry started (or its object went away).
    pub(crate) fn retry_done(&self) {
        self.depth.fetch_sub(1, Ordering::Relaxed);
        self.publish();
    }
}

/// One running reconcile. Dropping it unfinished (the reconcile was
/// cancelled) still releases the worker and depth counts.
pub(crate) struct ReconcileTimer {
    metrics: ControllerMetrics,
    started: Instant,
    finished: bool,
}

impl ReconcileTimer {
    /// Records the result and duration.
    pub(crate) fn finish(mut self, result: ReconcileResult) {
        let controller = self.metrics.controller;
        metrics::counter!(m::RECONCILE_TOTAL, "controller" => controller, "result" => result.as_str())
            .increment(1);
        if result == ReconcileResult::Error {
            metrics::counter!(m::RECONCILE_ERRORS_TOTAL, "controller" => controller).increment(1);
        }
        metrics::histogram!(m::RECONCILE_TIME_SECONDS, "controller" => controller)
            .record(self.started.elapsed().as_secs_f64());
        self.finished = true;
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        if !self.finished {
            tracing::debug!(controller = self.metrics.controller, "reconcile cancelled");
        }
        self.metrics.active.fetch_sub(1, Ordering::Relaxed);
        self.metrics.depth.fetch_sub(1, Ordering::Relaxed);
        self.metrics.publish();
    }
}
