//! The in-memory store: one `Collection` per resource type (objects in a
//! `BTreeMap` keyed by namespace and name, plus a bounded history of
//! changes and the open watchers), and the `Revision` counter that gives
//! every write a new, globally increasing resourceVersion.
//!
//! A collection is a synchronous state machine: `commit` applies a change,
//! records it in the history and fans it out to watchers (non-blocking),
//! all under the collection's lock, so history and watch streams see
//! changes in resourceVersion order. Each change keeps the object's
//! previous state, which lets `page` serve a list as of any
//! resourceVersion still inside the history window (consistent
//! `continue` pages and `resourceVersionMatch=Exact`).

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::catalog::ResourceType;
use super::selector::Filter;
use super::watch::WatcherSet;

/// Namespace ("" for cluster-scoped kinds) and name.
pub(crate) type Key = (String, String);

/// The global resourceVersion counter (etcd's revision).
#[derive(Debug, Default)]
pub(crate) struct Revision(AtomicU64);

impl Revision {
    /// Allocates the next resourceVersion. Call it under the lock of the
    /// collection being written, so that collection's history is ordered.
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The latest resourceVersion handed out.
    pub(crate) fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One committed write.
#[derive(Debug)]
pub(crate) struct Change {
    pub rv: u64,
    pub key: Key,
    pub kind: ChangeKind,
    /// The state before the change (`None` for `Added`).
    pub prev: Option<Arc<Value>>,
    /// The state after the change; for `Deleted`, the last state, carrying
    /// the deletion's resourceVersion.
    pub object: Arc<Value>,
}

/// One page of a list.
pub(crate) struct Page {
    pub items: Vec<Arc<Value>>,
    /// The last key returned, when more matching objects follow.
    pub next: Option<Key>,
}

/// The objects of one resource type, their recent history and watchers.
pub(crate) struct Collection {
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Changes with a resourceVersion up to this one may have left the
    /// history: older resourceVersions are "too old" (410 Expired).
    compacted: u64,
    pub watchers: WatcherSet,
}

impl Collection {
    pub(crate) fn new(history_limit: usize, watchers: WatcherSet) -> Self {
        Self {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 0,
            watchers,
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Arc<Value>> {
        self.objects.get(key)
    }

    /// Every stored object, in key order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<Value>> {
        self.objects.values()
    }

    /// The objects of one namespace, in name order.
    pub(crate) fn in_namespace<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.objects
            .range((namespace.to_string(), String::new())..)
            .take_while(move |(key, _)| key.0 == namespace)
            .map(|(_, obj)| obj)
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        self.objects.contains_key(key)
    }

    /// The oldest resourceVersion a watch or snapshot may start from.
    pub(crate) fn compacted(&self) -> u64 {
        self.compacted
    }

    /// Applies `change`, records it and fans it out to the watchers.
    pub(crate) fn commit(&mut self, rt: &ResourceType, change: Change) {
        match change.kind {
            ChangeKind::Added | ChangeKind::Modified => {
                self.objects
                    .insert(change.key.clone(), Arc::clone(&change.object));
            }
            ChangeKind::Deleted => {
                self.objects.remove(&change.key);
            }
        }
        self.watchers.publish(rt, &change);
        self.history.push_back(Arc::new(change));
        while self.history.len() > self.history_limit {
            if let Some(evicted) = self.history.pop_front() {
                self.compacted = evicted.rv;
            }
        }
    }

    /// Forgets the history up to `rv`: later watches and continue tokens
    /// from an older resourceVersion get 410 Expired.
    pub(crate) fn compact(&mut self, rv: u64) {
        while self.history.front().is_some_and(|c| c.rv <= rv) {
            self.history.pop_front();
        }
        self.compacted = self.compacted.max(rv);
    }

    /// The changes after `rv`, oldest first; `None` if some of them have
    /// left the history.
    pub(crate) fn changes_after(&self, rv: u64) -> Option<impl Iterator<Item = &Change>> {
        if rv < self.compacted {
            return None;
        }
        let start = self.history.partition_point(|c| c.rv <= rv);
        Some(self.history.range(start..).map(Arc::as_ref))
    }

    /// Every current object `filter` selects, in key order.
    pub(crate) fn matching<'a>(
        &'a self,
        filter: &'a Filter,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.objects.values().filter(move |o| filter.matches(o))
    }

    /// Up to `limit` objects selected by `filter`, as they were at
    /// resourceVersion `at`, after key `after`. `None` when `at` is older
    /// than the history.
    pub(crate) fn page(
        &self,
        at: u64,
        filter: &Filter,
        after: Option<&Key>,
        limit: Option<usize>,
    ) -> Option<Page> {
        // The state at `at` differs from the current one only for keys
        // changed since; for those, the state before their first later
        // change is the state at `at`.
        let mut overrides: BTreeMap<Key, Option<Arc<Value>>> = BTreeMap::new();
        for change in self.changes_after(at)? {
            overrides
                .entry(change.key.clone())
                .or_insert_with(|| change.prev.clone());
        }
        let start = start_bound(filter.namespace.as_deref(), after);
        let range = (start.as_ref(), Bound::Unbounded);
        let mut current = self.objects.range::<Key, _>(range).peekable();
        let mut changed = overrides.range::<Key, _>(range).peekable();
        let in_scope = |key: &Key| {
            filter
                .namespace
                .as_deref()
                .is_none_or(|ns| key.0.as_str() == ns)
        };
        let limit = limit.unwrap_or(usize::MAX);
        let mut items: Vec<Arc<Value>> = Vec::new();
        let mut last_key: Option<Key> = None;
        loop {
            let next = match (current.peek(), changed.peek()) {
                (None, None) => break,
                (Some((ck, _)), Some((ok, _))) => match ck.cmp(ok) {
                    std::cmp::Ordering::Less => current.next().map(|(k, v)| (k, Some(v))),
                    std::cmp::Ordering::Equal => {
                        current.next();
                        changed.next().map(|(k, v)| (k, v.as_ref()))
                    }
                    std::cmp::Ordering::Greater => changed.next().map(|(k, v)| (k, v.as_ref())),
                },
                (Some(_), None) => current.next().map(|(k, v)| (k, Some(v))),
                (None, Some(_)) => changed.next().map(|(k, v)| (k, v.as_ref())),
            };
            let Some((key, value)) = next else { break };
            if !in_scope(key) {
                break;
            }
            let Some(value) = value.filter(|v| filter.matches(v)) else {
                continue;
            };
            if items.len() == limit {
                // Another match follows: the page is full and not the last.
                return Some(Page {
                    items,
                    next: last_key,
                });
            }
            items.push(Arc::clone(value));
            last_key = Some(key.clone());
        }
        Some(Page { items, next: None })
    }
}

/// Where a scan starts: after `after`, and not before the namespace.
fn start_bound(namespace: Option<&str>, after: Option<&Key>) -> Bound<Key> {
    let ns_start = namespace.map(|ns| (ns.to_string(), String::new()));
    match (ns_start, after) {
        (Some(ns_start), Some(after)) if *after < ns_start => Bound::Included(ns_start),
        (_, Some(after)) => Bound::Excluded(after.clone()),
        (Some(ns_start), None) => Bound::Included(ns_start),
        (None, None) => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    fn obj(ns: &str, name: &str, rv: u64, v: i64) -> Arc<Value> {
        Arc::new(
            json!({"metadata": {"namespace": ns, "name": name, "resourceVersion": rv.to_string()}, "v": v}),
        )
    }

    fn key(ns: &str, name: &str) -> Key {
        (ns.into(), name.into())
    }

    fn write(
        c: &mut Collection,
        rt: &ResourceType,
        rev: &Revision,
        ns: &str,
        name: &str,
        v: Option<i64>,
    ) {
        let k = key(ns, name);
        let prev = c.get(&k).cloned();
        let rv = rev.next();
        let (kind, object) = match (v, &prev) {
            (Some(v), None) => (ChangeKind::Added, obj(ns, name, rv, v)),
            (Some(v), Some(_)) => (ChangeKind::Modified, obj(ns, name, rv, v)),
            (None, Some(p)) => (ChangeKind::Deleted, Arc::clone(p)),
            (None, None) => return,
        };
        c.commit(
            rt,
            Change {
                rv,
                key: k,
                kind,
                prev,
                object,
            },
        );
    }

    fn names(page: &Page) -> Vec<String> {
        page.items
            .iter()
            .map(|o| crate::object::name(o).to_string())
            .collect()
    }

    #[test]
    fn pages_are_consistent_snapshots() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let rev = Revision::default();
        let mut c = Collection::new(100, WatcherSet::new(8));
        for name in ["a", "b", "c", "d"] {
            write(&mut c, rt, &rev, "ns", name, Some(1));
        }
        let at = rev.current();
        let filter = Filter {
            namespace: Some("ns".into()),
            ..Filter::default()
        };
        let first = c.page(at, &filter, None, Some(2)).expect("in window");
        assert_eq!(names(&first), ["a", "b"]);
        // Writes between pages do not show in the next page.
        write(&mut c, rt, &rev, "ns", "c", None);
        write(&mut c, rt, &rev, "ns", "bb", Some(1));
        write(&mut c, rt, &rev, "ns", "d", Some(2));
        let second = c
            .page(at, &filter, first.next.as_ref(), Some(2))
            .expect("in window");
        assert_eq!(names(&second), ["c", "d"]);
        assert_eq!(second.items[1]["v"], 1);
        assert!(second.next.is_none());
        // The current state.
        let now = c.page(rev.current(), &filter, None, None).expect("current");
        assert_eq!(names(&now), ["a", "b", "bb", "d"]);
    }

    #[test]
    fn old_snapshots_expire_with_the_history() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let rev = Revision::default();
        let mut c = Collection::new(2, WatcherSet::new(8));
        for v in 0..5 {
            write(&mut c, rt, &rev, "ns", "a", Some(v));
        }
        assert!(c.page(1, &Filter::default(), None, None).is_none());
        assert!(c.page(3, &Filter::default(), None, None).is_some());
        assert!(c.changes_after(2).is_none());
        assert_eq!(c.changes_after(3).map(Iterator::count), Some(2));
        c.compact(rev.current());
        assert!(c.changes_after(4).is_none());
        assert_eq!(c.changes_after(5).map(Iterator::count), Some(0));
    }

    #[test]
    fn namespace_scans_stop_at_the_namespace() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let rev = Revision::default();
        let mut c = Collection::new(10, WatcherSet::new(8));
        for ns in ["a", "b", "c"] {
            write(&mut c, rt, &rev, ns, "x", Some(1));
        }
        let filter = Filter {
            namespace: Some("b".into()),
            ..Filter::default()
        };
        let page = c.page(rev.current(), &filter, None, None).expect("current");
        assert_eq!(page.items.len(), 1);
        assert_eq!(crate::object::namespace(&page.items[0]), "b");
    }
}
