//! Where a status reaches subscribers: a published (or gone) object's
//! event offered to every matching subscriber's queue, and the keys of one
//! namespace and kind, read as one range of the ordered map.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{BusState, Offer, StatusEvent, StatusKey, StatusKind, slot};
use crate::metrics as m;

impl BusState {
    /// The keys of `kind` in `namespace`: one range of the ordered map
    /// (keys sort by namespace, then kind, then name).
    pub(super) fn keys_of<'a>(
        &'a self,
        namespace: &'a str,
        kind: StatusKind,
    ) -> impl Iterator<Item = &'a StatusKey> + 'a {
        let first = StatusKey {
            namespace: Arc::from(namespace),
            kind,
            name: String::new(),
        };
        self.objects
            .range(first..)
            .map(|(k, _)| k)
            .take_while(move |k| k.kind == kind && &*k.namespace == namespace)
    }

    /// Marks `event` (of object `key`) dirty for every matching subscriber
    /// and wakes them; returns the change in queued keys.
    pub(super) fn deliver(&mut self, key: &StatusKey, event: &StatusEvent) -> i64 {
        let kind = key.kind;
        let subscribers = &mut self.subscribers[slot(kind)];
        subscribers.retain(|s| !s.closed.load(Ordering::Relaxed));
        let mut pending_delta = 0i64;
        for sub in subscribers.iter().filter(|s| s.filter.matches(key)) {
            let offer = sub.queue().offer(event.clone());
            let dropped = match offer {
                Offer::Queued => {
                    pending_delta += 1;
                    0
                }
                Offer::Conflated => {
                    metrics::counter!(m::BUS_CONFLATED_TOTAL, "kind" => kind.as_str()).increment(1);
                    0
                }
                Offer::Overflowed { dropped } => {
                    metrics::counter!(m::BUS_OVERFLOWS_TOTAL, "kind" => kind.as_str()).increment(1);
                    dropped
                }
                Offer::OverBudget { dropped } => {
                    metrics::counter!(m::BUS_BYTE_OVERFLOWS_TOTAL, "kind" => kind.as_str())
                        .increment(1);
                    dropped
                }
            };
            if dropped > 0 {
                pending_delta -= dropped as i64;
                metrics::counter!(m::BUS_DROPPED_TOTAL, "kind" => kind.as_str())
                    .increment(dropped as u64);
            }
            sub.notify.notify_one();
        }
        pending_delta
    }
}
