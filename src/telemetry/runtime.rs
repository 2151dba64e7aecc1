//! tokio runtime metrics, from the stable part of
//! [`tokio::runtime::RuntimeMetrics`], read when `/metrics` is scraped.

use super::Sample;
use switchyard_core::metrics as m;

/// The current values of the runtime this is called on; empty outside one.
pub(super) fn sample() -> Vec<Sample> {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Vec::new();
    };
    let metrics = handle.metrics();
    vec![
        (m::TOKIO_WORKERS, metrics.num_workers() as f64),
        (m::TOKIO_ALIVE_TASKS, metrics.num_alive_tasks() as f64),
        (
            m::TOKIO_GLOBAL_QUEUE_DEPTH,
            metrics.global_queue_depth() as f64,
        ),
    ]
}
