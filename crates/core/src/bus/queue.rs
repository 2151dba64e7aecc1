//! A conflating queue: per subscriber, the set of keys with unseen changes
//! and the latest event of each, in first-dirtied order.
//!
//! Status is state, not events: a slow reader skips straight to the latest
//! state of each object. Memory is bounded by `capacity` keys whatever the
//! event rate. Past that, the queue is cleared and marked lagged; the
//! reader then resynchronises from the bus's snapshot, so the final state
//! of every object still reaches it.
//!
//! It is bounded in bytes too: each pending key counts what it adds (its
//! name, twice, and its slots; the payload is shared, see [`entry_bytes`]).
//! An offer that would take the queue past `max_bytes` is handled as a
//! full queue ([`Offer::OverBudget`]): cleared and marked lagged, so a
//! reader that does not read holds nothing, and one that reads again
//! resynchronises from the shared snapshot (whose events the bus holds
//! anyway) instead of from a private backlog.

use std::collections::{HashMap, VecDeque};

use super::event::{StatusEvent, StatusKey};

/// What `offer` did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A new dirty key.
    Queued,
    /// Replaced the pending event of the same key.
    Conflated,
    /// The queue was full: it was cleared (dropping this many keys) and
    /// marked lagged.
    Overflowed { dropped: usize },
    /// Queuing it would pass the byte budget: the queue was cleared
    /// (dropping this many keys) and marked lagged.
    OverBudget { dropped: usize },
}

/// Fixed cost of one pending key beyond its name: the map and deque
/// slots, the key's and the event's `Arc`s.
const ENTRY_OVERHEAD_BYTES: usize = 160;

/// What one pending key adds to a subscriber's memory: its name, held in
/// the order and in the map, and the slots. The event's payload is shared
/// (an `Arc`) with the bus's current state and every other subscriber, so
/// it is not this queue's to count; a name is copied into every queue.
/// Cheap: called on every offer.
pub fn entry_bytes(event: &StatusEvent) -> usize {
    2 * event.payload.name().len() + ENTRY_OVERHEAD_BYTES
}

/// The pending changes of one subscriber.
#[derive(Debug)]
pub struct ConflatingQueue {
    order: VecDeque<StatusKey>,
    latest: HashMap<StatusKey, StatusEvent>,
    capacity: usize,
    /// Sum of [`entry_bytes`] of the pending keys.
    bytes: usize,
    max_bytes: usize,
    lagged: bool,
}

/// What the reader gets next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Event(StatusEvent),
    /// Changes were dropped: re-read the full state.
    Lagged,
    Empty,
}

impl ConflatingQueue {
    /// A queue that holds at most `capacity` dirty keys (at least one),
    /// with no byte budget.
    pub fn new(capacity: usize) -> Self {
        ConflatingQueue::with_budget(capacity, usize::MAX)
    }

    /// A queue that holds at most `capacity` dirty keys (at least one) and
    /// `max_bytes` of pending state (see [`entry_bytes`]).
    pub fn with_budget(capacity: usize, max_bytes: usize) -> Self {
        ConflatingQueue {
            order: VecDeque::new(),
            latest: HashMap::new(),
            capacity: capacity.max(1),
            bytes: 0,
            max_bytes,
            lagged: false,
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Bytes of pending state (see [`entry_bytes`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty() && !self.lagged
    }

    /// Records `event` as the latest state of its key.
    pub fn offer(&mut self, event: StatusEvent) -> Offer {
        let key = event.key();
        let size = entry_bytes(&event);
        if let Some(slot) = self.latest.get_mut(&key) {
            let freed = entry_bytes(slot);
            if self.bytes - freed + size <= self.max_bytes {
                self.bytes = self.bytes - freed + size;
                *slot = event;
                return Offer::Conflated;
            }
            return Offer::OverBudget {
                dropped: self.lag(),
            };
        }
        if self.order.len() >= self.capacity {
            return Offer::Overflowed {
                dropped: self.lag(),
            };
        }
        if self.bytes + size > self.max_bytes {
            return Offer::OverBudget {
                dropped: self.lag(),
            };
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.latest.insert(key, event);
        Offer::Queued
    }

    /// Queues `event` without the capacity and budget checks (a new
    /// subscriber's snapshot, bounded by the number of objects).
    pub fn preload(&mut self, event: StatusEvent) {
        let key = event.key();
        self.bytes += entry_bytes(&event);
        match self.latest.insert(key.clone(), event) {
            None => self.order.push_back(key),
            Some(old) => self.bytes -= entry_bytes(&old),
        }
    }

    /// Drops every pending key and marks the queue lagged; returns how many.
    fn lag(&mut self) -> usize {
        self.lagged = true;
        self.clear()
    }

    /// Takes the oldest dirty key's latest event; a lag is reported first.
    pub fn pop(&mut self) -> Next {
        if self.lagged {
            self.lagged = false;
            return Next::Lagged;
        }
        while let Some(key) = self.order.pop_front() {
            if let Some(event) = self.latest.remove(&key) {
                self.bytes -= entry_bytes(&event);
                return Next::Event(event);
            }
        }
        Next::Empty
    }

    /// Drops every pending key; returns how many.
    pub fn clear(&mut self) -> usize {
        let n = self.order.len();
        self.order.clear();
        self.latest.clear();
        self.bytes = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bus::event::StatusPayload;
    use switchyard_proto::scheduler::ExperimentStatusResponse;

    fn exp(ns: &str, name: &str, description: &str) -> StatusEvent {
        StatusEvent::new(
            Arc::from(ns),
            StatusPayload::Experiment(ExperimentStatusResponse {
                experiment_name: name.into(),
                status_description: description.into(),
                ..Default::default()
            }),
        )
    }

    fn description(next: Next) -> String {
        match next {
            Next::Event(e) => match &*e.payload {
                StatusPayload::Experiment(x) => format!(
                    "{}/{}:{}",
                    e.namespace, x.experiment_name, x.status_description
                ),
                other => panic!("unexpected payload {other:?}"),
            },
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn keeps_first_dirtied_order_and_latest_value() {
        let mut q = ConflatingQueue::new(8);
        assert_eq!(q.offer(exp("a", "x", "1")), Offer::Queued);
        assert_eq!(q.offer(exp("a", "y", "1")), Offer::Queued);
        assert_eq!(q.offer(exp("a", "x", "2")), Offer::Conflated);
        assert_eq!(q.len(), 2);
        assert_eq!(description(q.pop()), "a/x:2");
        assert_eq!(description(q.pop()), "a/y:1");
        assert_eq!(q.pop(), Next::Empty);
    }

    #[test]
    fn same_name_in_two_namespaces_are_two_keys() {
        let mut q = ConflatingQueue::new(8);
        q.offer(exp("a", "x", "1"));
        assert_eq!(q.offer(exp("b", "x", "1")), Offer::Queued);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn memory_is_bounded_by_keys_not_events() {
        let mut q = ConflatingQueue::new(4);
        for i in 0..10_000 {
            q.offer(exp("a", &format!("m{}", i % 3), &i.to_string()));
        }
        assert_eq!(q.len(), 3);
        assert_eq!(description(q.pop()), "a/m0:9999");
        assert_eq!(description(q.pop()), "a/m1:9997");
        assert_eq!(description(q.pop()), "a/m2:9998");
    }

    #[test]
    fn overflow_clears_and_reports_lag_once() {
        let mut q = ConflatingQueue::new(2);
        q.offer(exp("a", "x", "1"));
        q.offer(exp("a", "y", "1"));
        assert_eq!(
            q.offer(exp("a", "z", "1")),
            Offer::Overflowed { dropped: 2 }
        );
        assert_eq!(q.len(), 0);
        assert!(!q.is_empty(), "a lag is pending");
        assert_eq!(q.pop(), Next::Lagged);
        assert_eq!(q.pop(), Next::Empty);
        assert!(q.is_empty());
        assert_eq!(q.offer(exp("a", "z", "2")), Offer::Queued);
    }

    #[test]
    fn bytes_are_bounded_and_accounted() {
        let small = exp("a", "x", "1");
        let budget = 2 * entry_bytes(&small) + 10;
        let long_name = "n".repeat(1 << 20);
        let mut q = ConflatingQueue::with_budget(1024, budget);
        assert_eq!(q.offer(small.clone()), Offer::Queued);
        assert_eq!(q.bytes(), entry_bytes(&small));
        assert_eq!(q.offer(exp("a", "y", "1")), Offer::Queued);
        let big = exp("a", &long_name, "1");
        assert_eq!(q.offer(big.clone()), Offer::OverBudget { dropped: 2 });
        assert_eq!(
            (q.len(), q.bytes()),
            (0, 0),
            "a lagging reader holds nothing"
        );
        assert_eq!(q.pop(), Next::Lagged);
        assert_eq!(q.offer(small.clone()), Offer::Queued);
        assert_eq!(q.offer(exp("a", "x", "2")), Offer::Conflated);
        assert_eq!(
            q.bytes(),
            entry_bytes(&small),
            "a conflated key costs nothing more"
        );
        let _ = q.pop();
        assert_eq!(q.bytes(), 0, "a read key is released");
        q.preload(big.clone());
        assert_eq!(q.bytes(), entry_bytes(&big), "a snapshot is counted");
        q.clear();
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn preload_ignores_capacity_and_conflates() {
        let mut q = ConflatingQueue::new(1);
        q.preload(exp("a", "x", "1"));
        q.preload(exp("a", "y", "1"));
        q.preload(exp("a", "x", "2"));
        assert_eq!(q.len(), 2);
        assert_eq!(description(q.pop()), "a/x:2");
    }
}
