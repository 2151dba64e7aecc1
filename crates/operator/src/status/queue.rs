//! A keyed, latest-wins work queue between one status-bus reader and a small
//! pool of writer workers.
//!
//! Status is state: when the API server is slow, a new event for an object
//! whose write is still waiting replaces the waiting one (conflation), and an
//! event for an object being written right now is parked and queued once
//! that write finishes, so no object is ever written by two workers at once
//! and the last state always gets written. Memory is bounded by `capacity`
//! distinct keys: the reader waits for room, and while it waits the bus
//! conflates upstream of it.

use parking_lot::{Mutex, MutexGuard};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

use tokio::sync::Notify;

/// What `push` did with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// A new dirty key.
    Queued,
    /// Replaced a value of the same key that was not yet taken.
    Conflated,
}

/// The synchronous state machine: no `.await`, no I/O.
#[derive(Debug)]
pub struct DirtySet<K, V> {
    order: VecDeque<K>,
    latest: HashMap<K, V>,
    in_flight: HashSet<K>,
    /// Values that arrived while their key was in flight.
    parked: HashMap<K, V>,
    capacity: usize,
}

impl<K: Clone + Eq + Hash, V> DirtySet<K, V> {
    /// A set that accepts new keys while fewer than `capacity` (at least
    /// one) are waiting.
    pub fn new(capacity: usize) -> Self {
        DirtySet {
            order: VecDeque::new(),
            latest: HashMap::new(),
            in_flight: HashSet::new(),
            parked: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Keys waiting (queued or parked), not counting those in flight.
    pub fn len(&self) -> usize {
        self.order.len() + self.parked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys being processed now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether `push` of a new key would stay within capacity.
    pub fn has_room(&self) -> bool {
        self.len() < self.capacity
    }

    /// Records `value` as the latest state of `key`. Never refuses: callers
    /// bound the set by waiting on [`DirtySet::has_room`] before pushing.
    pub fn push(&mut self, key: K, value: V) -> Push {
        if self.in_flight.contains(&key) {
            return match self.parked.insert(key, value) {
                Some(_) => Push::Conflated,
                None => Push::Queued,
            };
        }
        if let Some(slot) = self.latest.get_mut(&key) {
            *slot = value;
            return Push::Conflated;
        }
        self.order.push_back(key.clone());
        self.latest.insert(key, value);
        Push::Queued
    }

    /// Takes the oldest dirty key and its latest value; the key stays in
    /// flight until [`DirtySet::done`].
    pub fn pop(&mut self) -> Option<(K, V)> {
        while let Some(key) = self.order.pop_front() {
            if let Some(value) = self.latest.remove(&key) {
                self.in_flight.insert(key.clone());
                return Some((key, value));
            }
        }
        None
    }

    /// Whether a newer value of `key` (in flight) arrived meanwhile.
    pub fn has_newer(&self, key: &K) -> bool {
        self.parked.contains_key(key)
    }

    /// The write of `key` finished: a value parked meanwhile is queued.
    /// Returns whether one was.
    pub fn done(&mut self, key: &K) -> bool {
        self.in_flight.remove(key);
        match self.parked.remove(key) {
            Some(value) => {
                self.order.push_back(key.clone());
                self.latest.insert(key.clone(), value);
                true
            }
            None => false,
        }
    }
}

/// [`DirtySet`] shared between one producer and several workers.
pub struct WorkQueue<K, V> {
    set: Mutex<DirtySet<K, V>>,
    /// Set to the keys waiting after every change (push, pop, done), so
    /// it reads 0 once the workers have drained the queue.
    depth: Option<metrics::Gauge>,
    /// Wakes workers: work arrived (or the queue closed).
    work: Notify,
    /// Wakes the producer: room freed.
    room: Notify,
    closed: std::sync::atomic::AtomicBool,
}

impl<K: Clone + Eq + Hash, V> WorkQueue<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self::build(capacity, None)
    }

    /// A queue that keeps `depth` equal to the keys waiting.
    pub fn with_depth_gauge(capacity: usize, depth: metrics::Gauge) -> Self {
        Self::build(capacity, Some(depth))
    }

    fn build(capacity: usize, depth: Option<metrics::Gauge>) -> Self {
        WorkQueue {
            set: Mutex::new(DirtySet::new(capacity)),
            depth,
            work: Notify::new(),
            room: Notify::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn set(&self) -> MutexGuard<'_, DirtySet<K, V>> {
        self.set.lock()
    }

    /// Reports the depth of `set` (called with the lock held, so
    /// concurrent changes report in the order they happened).
    fn report(&self, set: &DirtySet<K, V>) {
        if let Some(depth) = &self.depth {
            depth.set(set.len() as f64);
        }
    }

    /// Keys waiting.
    pub fn len(&self) -> usize {
        self.set().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until a new key fits.
    pub async fn wait_for_room(&self) {
        loop {
            let room = self.room.notified();
            if self.set().has_room() || self.is_closed() {
                return;
            }
            room.await;
        }
    }

    /// Records the latest value of `key` and wakes a worker.
    pub fn push(&self, key: K, value: V) -> Push {
        let mut set = self.set();
        let pushed = set.push(key, value);
        self.report(&set);
        drop(set);
        self.work.notify_one();
        pushed
    }

    /// The next key to process, or `None` once closed and drained.
    pub async fn pop(&self) -> Option<(K, V)> {
        loop {
            let work = self.work.notified();
            let popped = {
                let mut set = self.set();
                let popped = set.pop();
                if popped.is_some() {
                    self.report(&set);
                }
                popped
            };
            if let Some(item) = popped {
                self.room.notify_one();
                return Some(item);
            }
            if self.is_closed() {
                return None;
            }
            work.await;
        }
    }

    /// Whether a newer value of `key`, which is in flight, is waiting.
    pub fn has_newer(&self, key: &K) -> bool {
        self.set().has_newer(key)
    }

    /// Marks `key` processed; re-queues what arrived meanwhile.
    pub fn done(&self, key: &K) {
        let mut set = self.set();
        let requeued = set.done(key);
        self.report(&set);
        drop(set);
        if requeued {
            self.work.notify_one();
        }
    }

    /// Ends `pop` for every worker once the queue is drained.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.work.notify_waiters();
        self.room.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_value_wins_per_key_in_first_dirtied_order() {
        let mut set = DirtySet::new(8);
        assert_eq!(set.push("a", 1), Push::Queued);
        assert_eq!(set.push("b", 1), Push::Queued);
        assert_eq!(set.push("a", 2), Push::Conflated);
        assert_eq!(set.len(), 2);
        assert_eq!(set.pop(), Some(("a", 2)));
        assert_eq!(set.pop(), Some(("b", 1)));
        assert_eq!(set.pop(), None);
    }

    #[test]
    fn a_key_in_flight_is_parked_and_requeued_when_done() {
        let mut set = DirtySet::new(8);
        set.push("a", 1);
        assert_eq!(set.pop(), Some(("a", 1)));
        assert!(!set.has_newer(&"a"));
        assert_eq!(set.push("a", 2), Push::Queued);
        assert!(set.has_newer(&"a"));
        assert_eq!(set.push("a", 3), Push::Conflated);
        assert_eq!(set.pop(), None, "never two workers on one key");
        assert!(set.done(&"a"));
        assert_eq!(set.pop(), Some(("a", 3)));
        assert!(!set.done(&"a"));
        assert!(set.is_empty());
        assert_eq!(set.in_flight(), 0);
    }

    #[test]
    fn room_is_bounded_by_waiting_keys() {
        let mut set = DirtySet::new(2);
        set.push("a", 1);
        assert!(set.has_room());
        set.push("b", 1);
        assert!(!set.has_room());
        set.pop();
        assert!(set.has_room(), "in-flight keys do not count");
    }

    /// The gauge as Prometheus would scrape it from `recorder`.
    fn scraped(recorder: &metrics_exporter_prometheus::PrometheusRecorder) -> Option<f64> {
        recorder
            .handle()
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("depth ")?.trim().parse().ok())
    }

    #[tokio::test(start_paused = true)]
    async fn the_depth_gauge_follows_pushes_pops_and_requeues_down_to_zero() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let gauge = metrics::with_local_recorder(&recorder, || metrics::gauge!("depth"));
        let queue = WorkQueue::with_depth_gauge(8, gauge);
        queue.push("a", 1);
        queue.push("b", 1);
        assert_eq!(scraped(&recorder), Some(2.0));
        let (key, _) = queue.pop().await.unwrap();
        assert_eq!(scraped(&recorder), Some(1.0), "a key taken by a worker");
        queue.push(key, 2);
        assert_eq!(scraped(&recorder), Some(2.0), "a newer value parked");
        queue.done(&key);
        assert_eq!(scraped(&recorder), Some(2.0), "the parked value queued");
        while !queue.is_empty() {
            let (key, _) = queue.pop().await.unwrap();
            queue.done(&key);
        }
        assert_eq!(
            scraped(&recorder),
            Some(0.0),
            "a drained queue reads 0 (it read 1 forever when set on push only)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn workers_drain_then_stop_when_closed() {
        let queue = std::sync::Arc::new(WorkQueue::new(4));
        queue.push("a", 1);
        let q = queue.clone();
        let worker = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some((k, v)) = q.pop().await {
                seen.push((k, v));
                q.done(&k);
            }
            seen
        });
        queue.wait_for_room().await;
        queue.push("b", 2);
        tokio::task::yield_now().await;
        queue.close();
        let seen = worker.await.unwrap();
        assert_eq!(seen, [("a", 1), ("b", 2)], "everything pushed before close");
    }
}
