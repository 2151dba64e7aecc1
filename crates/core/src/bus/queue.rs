//! A conflating queue: per subscriber, the set of keys with unseen changes
//! and the latest event of each, in first-dirtied order.
//!
//! Status is state, not events: a slow reader skips straight to the latest
//! state of each object. Memory is bounded by `capacity` keys whatever the
//! event rate. Past that, the queue is cleared and marked lagged; the
//! reader then resynchronises from the bus's snapshot, so the final state
//! of every object still reaches it.

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
}

/// The pending changes of one subscriber.
#[derive(Debug)]
pub struct ConflatingQueue {
    order: VecDeque<StatusKey>,
    latest: HashMap<StatusKey, StatusEvent>,
    capacity: usize,
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
    /// A queue that holds at most `capacity` dirty keys (at least one).
    pub fn new(capacity: usize) -> Self {
        ConflatingQueue {
            order: VecDeque::new(),
            latest: HashMap::new(),
            capacity: capacity.max(1),
            lagged: false,
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty() && !self.lagged
    }

    /// Records `event` as the latest state of its key.
    pub fn offer(&mut self, event: StatusEvent) -> Offer {
        let key = event.key();
        if let Some(slot) = self.latest.get_mut(&key) {
            *slot = event;
            return Offer::Conflated;
        }
        if self.order.len() >= self.capacity {
            let dropped = self.order.len();
            self.order.clear();
            self.latest.clear();
            self.lagged = true;
            return Offer::Overflowed { dropped };
        }
        self.order.push_back(key.clone());
        self.latest.insert(key, event);
        Offer::Queued
    }

    /// Queues `event` without the capacity check (a new subscriber's
    /// snapshot, bounded by the number of objects).
    pub fn preload(&mut self, event: StatusEvent) {
        let key = event.key();
        if self.latest.insert(key.clone(), event).is_none() {
            self.order.push_back(key);
        }
    }

    /// Takes the oldest dirty key's latest event; a lag is reported first.
    pub fn pop(&mut self) -> Next {
        if self.lagged {
            self.lagged = false;
            return Next::Lagged;
        }
        while let Some(key) = self.order.pop_front() {
            if let Some(event) = self.latest.remove(&key) {
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
    fn preload_ignores_capacity_and_conflates() {
        let mut q = ConflatingQueue::new(1);
        q.preload(exp("a", "x", "1"));
        q.preload(exp("a", "y", "1"));
        q.preload(exp("a", "x", "2"));
        assert_eq!(q.len(), 2);
        assert_eq!(description(q.pop()), "a/x:2");
    }
}
