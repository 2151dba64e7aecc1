//! Delayed life-cycle steps (Progressing -> Available, Terminating ->
//! Terminated, ...): the `Transition`s the store asks for, the `Timers`
//! queue that holds them until due, and the one task that fires them.
//!
//! The queue is a plain sorted map inside the simulator's state lock; the
//! task sleeps until the earliest deadline, or until told that an earlier
//! one was added, then applies every due transition under the lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;

/// A step the store takes later. Each carries the revision of the object
/// it was scheduled for; a newer change to the object cancels it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    ModelAvailable { name: String, rev: u64 },
    ModelTerminated { name: String, rev: u64 },
    PipelineReady { name: String, rev: u64 },
    PipelineTerminated { name: String, rev: u64 },
    ExperimentActive { name: String, rev: u64 },
}

/// Pending transitions by due time (insertion order breaks ties).
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: BTreeMap<(Instant, u64), Transition>,
    seq: u64,
}

impl Timers {
    /// Queues `transition` for `at`. Returns true when it is now the
    /// earliest, so the firing task must recompute its sleep.
    pub(crate) fn schedule(&mut self, at: Instant, transition: Transition) -> bool {
        let earliest = self.next_deadline().is_none_or(|first| at < first);
        self.seq += 1;
        self.queue.insert((at, self.seq), transition);
        earliest
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns every transition due at `now`, in order.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Transition> {
        let later = self.queue.split_off(&(now, u64::MAX));
        std::mem::replace(&mut self.queue, later)
            .into_values()
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}

/// Fires due transitions until `stop` is cancelled.
pub(crate) async fn run_timers(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let next = shared.next_deadline();
        tokio::select! {
            () = stop.cancelled() => return,
            () = shared.timers_changed.notified() => continue,
            () = sleep_until_or_forever(next) => shared.fire_due(Instant::now()),
        }
    }
}

async fn sleep_until_or_forever(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(name: &str) -> Transition {
        Transition::ModelAvailable {
            name: name.into(),
            rev: 1,
        }
    }

    #[test]
    fn due_transitions_come_out_in_order() {
        let now = Instant::now();
        let mut timers = Timers::default();
        assert!(timers.schedule(now + Duration::from_millis(20), t("b")));
        assert!(timers.schedule(now + Duration::from_millis(10), t("a")));
        assert!(!timers.schedule(now + Duration::from_millis(20), t("c")));
        assert!(!timers.schedule(now + Duration::from_millis(30), t("d")));
        assert_eq!(timers.take_due(now), vec![]);
        assert_eq!(
            timers.take_due(now + Duration::from_millis(20)),
            vec![t("a"), t("b"), t("c")]
        );
        assert_eq!(timers.len(), 1);
        assert_eq!(
            timers.next_deadline(),
            Some(now + Duration::from_millis(30))
        );
    }
}
