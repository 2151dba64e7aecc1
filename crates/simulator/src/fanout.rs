//! Fan-out of status events to the subscribers of one stream kind.
//!
//! Each subscriber has a bounded queue. Publishing never waits: an event
//! that does not fit disconnects that subscriber (it gets UNAVAILABLE and
//! must resubscribe, as with the real scheduler, whose 30 s send timeout
//! cancels a stuck stream) and is counted; every other subscriber is
//! unaffected. Each subscriber can also be "kicked" with a status, which
//! ends its stream at once (restart, dropped streams, shutdown).

use std::{collections::VecDeque, pin::Pin};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

/// The response stream type of every streaming RPC of the simulator.
pub(crate) type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

struct Subscriber<T> {
    id: u64,
    tx: mpsc::Sender<T>,
    kick: oneshot::Sender<Status>,
}

/// The subscribers of one stream kind.
pub(crate) struct Fanout<T> {
    subscribers: Vec<Subscriber<T>>,
}

impl<T> Default for Fanout<T> {
    fn default() -> Self {
        Self {
            subscribers: Vec::new(),
        }
    }
}

/// The receiving ends handed to a new subscriber's stream.
pub(crate) struct Subscription<T> {
    pub events: mpsc::Receiver<T>,
    pub kicked: oneshot::Receiver<Status>,
}

/// What one publish did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Published {
    pub delivered: usize,
    /// Subscribers disconnected because their queue was full.
    pub disconnected: usize,
}

impl<T: Clone> Fanout<T> {
    /// Registers subscriber `id` with a queue of `capacity` events.
    pub(crate) fn subscribe(&mut self, id: u64, capacity: usize) -> Subscription<T> {
        let (tx, events) = mpsc::channel(capacity.max(1));
        let (kick, kicked) = oneshot::channel();
        self.subscribers.push(Subscriber { id, tx, kick });
        Subscription { events, kicked }
    }

    /// Queues `item` for every subscriber without waiting.
    pub(crate) fn publish(&mut self, item: &T) -> Published {
        let mut report = Published::default();
        let mut kept = Vec::with_capacity(self.subscribers.len());
        for sub in self.subscribers.drain(..) {
            match sub.tx.try_send(item.clone()) {
                Ok(()) => {
                    report.delivered += 1;
                    kept.push(sub);
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    report.disconnected += 1;
                    let _gone = sub.kick.send(Status::unavailable(
                        "subscriber too slow: its event queue is full; resubscribe to get the current state",
                    ));
                }
                // The stream is gone; its guard removes it too.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        self.subscribers = kept;
        report
    }

    /// Ends every subscriber's stream with `status`. Returns how many.
    pub(crate) fn kick_all(&mut self, status: &Status) -> usize {
        let count = self.subscribers.len();
        for sub in self.subscribers.drain(..) {
            let _gone = sub.kick.send(status.clone());
        }
        count
    }

    pub(crate) fn remove(&mut self, id: u64) {
        self.subscribers.retain(|s| s.id != id);
    }

    pub(crate) fn len(&self) -> usize {
        self.subscribers.len()
    }
}

/// A subscriber's stream: `snapshot` first, then queued events, until the
/// queue closes or the subscriber is kicked. `guard` lives as long as the
/// stream (it deregisters the subscriber when the client goes away).
pub(crate) fn subscriber_stream<T, G>(
    snapshot: Vec<T>,
    subscription: Subscription<T>,
    guard: G,
) -> ResponseStream<T>
where
    T: Send + 'static,
    G: Send + 'static,
{
    struct State<T, G> {
        snapshot: VecDeque<T>,
        sub: Subscription<T>,
        done: bool,
        _guard: G,
    }
    enum Next<T> {
        Kicked(Option<Status>),
        Item(Option<T>),
    }
    let state = State {
        snapshot: snapshot.into(),
        sub: subscription,
        done: false,
        _guard: guard,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let next = {
            let State { snapshot, sub, .. } = &mut st;
            tokio::select! {
                biased;
                kicked = &mut sub.kicked => Next::Kicked(kicked.ok()),
                item = async {
                    match snapshot.pop_front() {
                        Some(item) => Some(item),
                        None => sub.events.recv().await,
                    }
                } => Next::Item(item),
            }
        };
        match next {
            Next::Kicked(status) => {
                st.done = true;
                status.map(|s| (Err(s), st))
            }
            Next::Item(item) => item.map(|i| (Ok(i), st)),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn full_queue_disconnects_only_that_subscriber() {
        let mut fanout = Fanout::<u32>::default();
        let slow = fanout.subscribe(1, 2);
        let fast = fanout.subscribe(2, 8);
        let mut fast = subscriber_stream(vec![0], fast, ());
        for i in 1..=3 {
            fanout.publish(&i);
        }
        assert_eq!(fanout.len(), 1, "the slow subscriber was dropped");
        let mut slow = subscriber_stream(vec![], slow, ());
        let first = slow.next().await;
        assert!(matches!(first, Some(Err(s)) if s.code() == tonic::Code::Unavailable));
        assert!(slow.next().await.is_none());
        let got: Vec<u32> = fast
            .by_ref()
            .take(4)
            .filter_map(|r| async move { r.ok() })
            .collect()
            .await;
        assert_eq!(got, vec![0, 1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn kick_ends_stream_with_status() {
        let mut fanout = Fanout::<u32>::default();
        let sub = fanout.subscribe(1, 8);
        let mut stream = subscriber_stream(vec![], sub, ());
        fanout.publish(&5);
        assert_eq!(fanout.kick_all(&Status::unavailable("restart")), 1);
        let first = stream.next().await;
        assert!(matches!(first, Some(Err(s)) if s.message() == "restart"));
        assert!(stream.next().await.is_none());
    }
}
