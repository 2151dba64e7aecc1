//! The watch hub of one collection: the open watchers, the fan-out of each
//! committed change to them, and the HTTP body that streams a watch.
//!
//! Opening a watch happens under the collection's lock: the events it
//! must replay (synthetic ADDED for the current state, or the history
//! after the requested resourceVersion) are captured together with the
//! registration, so no change is missed or seen twice. Live events go
//! through a bounded channel per watcher; a watcher whose channel is full
//! is closed (its stream ends cleanly, the client resumes from the last
//! resourceVersion it saw), as the real server closes slow watchers.
//! Selector transitions follow the real watch cache: an object that
//! starts matching arrives as ADDED, one that stops matching as DELETED.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::catalog::ResourceType;
use super::error::ApiError;
use super::object;
use super::render::{self, Projection};
use super::selector::Filter;
use super::store::{Change, ChangeKind, Collection};

struct Watcher {
    filter: Filter,
    projection: Projection,
    bookmarks: bool,
    tx: mpsc::Sender<Bytes>,
}

/// The open watchers of one collection.
pub(crate) struct WatcherSet {
    watchers: Vec<Watcher>,
    buffer: usize,
    /// Shared counter of watchers closed for being slow.
    slow_closed: Arc<AtomicU64>,
}

impl WatcherSet {
    /// `buffer`: events a watcher may have queued before it is closed.
    #[cfg(test)]
    pub(crate) fn new(buffer: usize) -> Self {
        Self::with_counter(buffer, Arc::default())
    }

    pub(crate) fn with_counter(buffer: usize, slow_closed: Arc<AtomicU64>) -> Self {
        Self {
            watchers: Vec::new(),
            buffer: buffer.max(1),
            slow_closed,
        }
    }

    /// Open watchers (those whose client is still reading).
    pub(crate) fn len(&self) -> usize {
        self.watchers.iter().filter(|w| !w.tx.is_closed()).count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// Sends `change` to every watcher it concerns.
    pub(crate) fn publish(&mut self, rt: &ResourceType, change: &Change) {
        // One rendering per (event type, projection), shared by watchers.
        let mut lines: [[Option<Bytes>; Projection::COUNT]; 3] = Default::default();
        let mut slow = 0_u64;
        self.watchers.retain(|w| {
            let Some((event, obj)) = event_for(&w.filter, change) else {
                return !w.tx.is_closed();
            };
            let slot = &mut lines[event.index()][w.projection.index()];
            let line = slot
                .get_or_insert_with(|| render::event_line(rt, event.as_str(), &obj, w.projection))
                .clone();
            match w.tx.try_send(line) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    slow += 1;
                    tracing::debug!(resource = %rt.plural, "API double: closing a watcher that does not keep up");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        if slow > 0 {
            self.slow_closed.fetch_add(slow, Ordering::Relaxed);
        }
    }

    /// Sends a BOOKMARK at `rv` to watchers that asked for bookmarks.
    /// Bookmarks are best effort: a full channel skips one.
    pub(crate) fn bookmark(&mut self, rt: &ResourceType, rv: u64) {
        let line = render::bookmark_line(rt, rv, false);
        self.watchers.retain(|w| {
            if !w.bookmarks {
                return !w.tx.is_closed();
            }
            !matches!(
                w.tx.try_send(line.clone()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }

    /// Ends every watch (their streams finish what is queued, then end).
    pub(crate) fn clear(&mut self) -> usize {
        let open = self.watchers.iter().filter(|w| !w.tx.is_closed()).count();
        self.watchers.clear();
        open
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }

    fn index(self) -> usize {
        match self {
            EventType::Added => 0,
            EventType::Modified => 1,
            EventType::Deleted => 2,
        }
    }
}

/// What a watcher with `filter` sees of `change`, if anything.
fn event_for<'a>(filter: &Filter, change: &'a Change) -> Option<(EventType, ObjectRef<'a>)> {
    let now = filter.matches(&change.object);
    let before = change.prev.as_deref().is_some_and(|p| filter.matches(p));
    let current = ObjectRef::Borrowed(&change.object);
    match change.kind {
        ChangeKind::Added => now.then_some((EventType::Added, current)),
        ChangeKind::Deleted => (before || now).then_some((EventType::Deleted, current)),
        ChangeKind::Modified => match (before, now) {
            (true, true) => Some((EventType::Modified, current)),
            (false, true) => Some((EventType::Added, current)),
            // The object left the selection: the real watch cache sends
            // its previous state, stamped with the change's resourceVersion.
            (true, false) => change.prev.as_deref().map(|prev| {
                let mut left = prev.clone();
                object::set_meta(
                    &mut left,
                    "resourceVersion",
                    Some(Value::String(change.rv.to_string())),
                );
                (EventType::Deleted, ObjectRef::Owned(left))
            }),
            (false, false) => None,
        },
    }
}

enum ObjectRef<'a> {
    Borrowed(&'a Value),
    Owned(Value),
}

impl std::ops::Deref for ObjectRef<'_> {
    type Target = Value;

    fn deref(&self) -> &Value {
        match self {
            ObjectRef::Borrowed(v) => v,
            ObjectRef::Owned(v) => v,
        }
    }
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchStart {
    /// resourceVersion unset or "0" (or a streaming list): synthetic ADDED
    /// events for the current state, then live events.
    Snapshot { initial_events_end: bool },
    /// Every change after this resourceVersion, then live events.
    After(u64),
}

/// What a new watch needs besides its collection.
pub(crate) struct WatchRequest {
    pub filter: Filter,
    pub projection: Projection,
    pub bookmarks: bool,
    pub start: WatchStart,
}

/// Registers a watcher and returns the lines to replay before live events
/// plus the live channel. Call with the collection locked; `current` is
/// the global resourceVersion read under that lock.
pub(crate) fn open(
    collection: &mut Collection,
    rt: &ResourceType,
    request: WatchRequest,
    current: u64,
) -> Result<(VecDeque<Bytes>, mpsc::Receiver<Bytes>), ApiError> {
    let WatchRequest {
        filter,
        projection,
        bookmarks,
        start,
    } = request;
    let mut replay = VecDeque::new();
    match start {
        WatchStart::Snapshot { initial_events_end } => {
            for obj in collection.matching(&filter) {
                replay.push_back(render::event_line(rt, "ADDED", obj, projection));
            }
            if initial_events_end {
                replay.push_back(render::bookmark_line(rt, current, true));
            }
        }
        WatchStart::After(rv) => {
            let compacted = collection.compacted();
            let changes = collection.changes_after(rv).ok_or_else(|| {
                ApiError::expired(format!("too old resource version: {rv} ({compacted})"))
            })?;
            for change in changes {
                if let Some((event, obj)) = event_for(&filter, change) {
                    replay.push_back(render::event_line(rt, event.as_str(), &obj, projection));
                }
            }
        }
    }
    let (tx, rx) = mpsc::channel(collection.watchers.buffer);
    collection.watchers.watchers.push(Watcher {
        filter,
        projection,
        bookmarks,
        tx,
    });
    Ok((replay, rx))
}

/// The body of a watch response: replayed lines, then live lines until
/// the watcher is closed or the timeout passes. Ends cleanly either way,
/// so clients resume from the last resourceVersion they saw.
pub(crate) struct WatchBody {
    replay: VecDeque<Bytes>,
    live: Option<mpsc::Receiver<Bytes>>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl WatchBody {
    pub(crate) fn new(
        replay: VecDeque<Bytes>,
        live: Option<mpsc::Receiver<Bytes>>,
        timeout: Option<std::time::Duration>,
    ) -> Self {
        Self {
            replay,
            live,
            deadline: timeout.map(|t| Box::pin(tokio::time::sleep(t))),
        }
    }
}

impl Body for WatchBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(line) = this.replay.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(line))));
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            this.live = None;
            return Poll::Ready(None);
        }
        let Some(live) = this.live.as_mut() else {
            return Poll::Ready(None);
        };
        match live.poll_recv(cx) {
            Poll::Ready(Some(line)) => Poll::Ready(Some(Ok(Frame::data(line)))),
            Poll::Ready(None) => {
                this.live = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.replay.is_empty() && self.live.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::selector::LabelSelector;
    use crate::store::Revision;
    use serde_json::json;

    fn cm(name: &str, rv: u64, tier: &str) -> Arc<Value> {
        Arc::new(
            json!({"metadata": {"namespace": "ns", "name": name, "resourceVersion": rv.to_string(), "labels": {"tier": tier}}}),
        )
    }

    fn change(rev: &Revision, kind: ChangeKind, prev: Option<Arc<Value>>, tier: &str) -> Change {
        let rv = rev.next();
        Change {
            rv,
            key: ("ns".into(), "a".into()),
            kind,
            prev,
            object: cm("a", rv, tier),
        }
    }

    fn kinds(lines: &[Bytes]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_slice(l).unwrap_or_default();
                v["type"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }

    fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Ok(line) = rx.try_recv() {
            out.push(line);
        }
        out
    }

    #[test]
    fn selector_transitions_and_replay() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let rev = Revision::default();
        let mut c = Collection::new(100, WatcherSet::new(16));
        let filter = Filter {
            labels: LabelSelector::parse("tier=web").expect("parses"),
            ..Filter::default()
        };
        let (_, mut rx) = open(
            &mut c,
            rt,
            WatchRequest {
                filter: filter.clone(),
                projection: Projection::Full,
                bookmarks: true,
                start: WatchStart::After(0),
            },
            rev.current(),
        )
        .expect("opens");
        let added = change(&rev, ChangeKind::Added, None, "db");
        let first_rv = added.rv;
        let mut prev = Arc::clone(&added.object);
        c.commit(rt, added);
        for tier in ["web", "web", "db"] {
            let ch = change(&rev, ChangeKind::Modified, Some(prev), tier);
            prev = Arc::clone(&ch.object);
            c.commit(rt, ch);
        }
        let lines = drain(&mut rx);
        assert_eq!(kinds(&lines), ["ADDED", "MODIFIED", "DELETED"]);
        c.watchers.bookmark(rt, rev.current());
        assert_eq!(kinds(&drain(&mut rx)), ["BOOKMARK"]);

        // A later watch from the first write replays the same events.
        let (replay, _rx) = open(
            &mut c,
            rt,
            WatchRequest {
                filter,
                projection: Projection::Full,
                bookmarks: false,
                start: WatchStart::After(first_rv),
            },
            rev.current(),
        )
        .expect("opens");
        assert_eq!(kinds(&Vec::from(replay)), ["ADDED", "MODIFIED", "DELETED"]);
    }

    #[test]
    fn slow_watchers_are_closed() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let rev = Revision::default();
        let counter = Arc::new(AtomicU64::new(0));
        let mut c = Collection::new(100, WatcherSet::with_counter(2, Arc::clone(&counter)));
        let (_, mut rx) = open(
            &mut c,
            rt,
            WatchRequest {
                filter: Filter::default(),
                projection: Projection::Full,
                bookmarks: false,
                start: WatchStart::Snapshot {
                    initial_events_end: false,
                },
            },
            rev.current(),
        )
        .expect("opens");
        let mut prev = None;
        for _ in 0..3 {
            let kind = if prev.is_some() {
                ChangeKind::Modified
            } else {
                ChangeKind::Added
            };
            let ch = change(&rev, kind, prev, "web");
            prev = Some(Arc::clone(&ch.object));
            c.commit(rt, ch);
        }
        assert_eq!(c.watchers.len(), 0);
        assert_eq!(counter.load(Ordering::Relaxed), 1);
        assert_eq!(drain(&mut rx).len(), 2);
        assert!(rx.try_recv().is_err());
    }
}
