//! The registry of runtimes: namespace -> how to reach its scheduler.
//!
//! In: the static config file (the binary polls it) and, with Kubernetes, the
//! SeldonRuntime watcher, through `apply` / `delete` / `reset`. Out: a
//! lock-free `get` for every gateway request (an `ArcSwap` snapshot), and a
//! `watch` channel the pool follows to open and close connections. The
//! registry is a synchronous state machine: no I/O, no `.await`.

pub mod spec;

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

pub use spec::{ClientTls, RuntimeSpec};

/// Every known runtime, by namespace.
pub type Runtimes = BTreeMap<String, Arc<RuntimeSpec>>;

/// The live set of runtimes. Cheap to clone (shared).
#[derive(Clone)]
pub struct RuntimeRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    current: ArcSwap<Runtimes>,
    /// Serialises writers; readers never take it.
    write: Mutex<watch::Sender<Arc<Runtimes>>>,
}

impl Default for RuntimeRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl RuntimeRegistry {
    pub fn new() -> Self {
        let empty = Arc::new(Runtimes::new());
        let (tx, _) = watch::channel(empty.clone());
        RuntimeRegistry {
            inner: Arc::new(Inner {
                current: ArcSwap::new(empty),
                write: Mutex::new(tx),
            }),
        }
    }

    /// The runtime of `namespace`, if known. Lock-free.
    pub fn get(&self, namespace: &str) -> Option<Arc<RuntimeSpec>> {
        self.inner.current.load().get(namespace).cloned()
    }

    /// Every runtime. Lock-free.
    pub fn snapshot(&self) -> Arc<Runtimes> {
        self.inner.current.load_full()
    }

    /// Follows every change of the set.
    pub fn watch(&self) -> watch::Receiver<Arc<Runtimes>> {
        self.writer().subscribe()
    }

    fn writer(&self) -> parking_lot::MutexGuard<'_, watch::Sender<Arc<Runtimes>>> {
        self.inner.write.lock()
    }

    fn update(&self, change: impl FnOnce(&mut Runtimes) -> bool) -> bool {
        let tx = self.writer();
        let mut next = Runtimes::clone(&self.inner.current.load());
        if !change(&mut next) {
            return false;
        }
        let next = Arc::new(next);
        self.inner.current.store(next.clone());
        tx.send_replace(next);
        true
    }

    /// Adds or replaces a runtime; returns whether anything changed.
    pub fn apply(&self, spec: RuntimeSpec) -> bool {
        self.update(|map| match map.get(&spec.namespace) {
            Some(existing) if **existing == spec => false,
            _ => {
                map.insert(spec.namespace.clone(), Arc::new(spec));
                true
            }
        })
    }

    /// Removes the runtime of `namespace`; returns whether it was known.
    pub fn delete(&self, namespace: &str) -> bool {
        self.update(|map| map.remove(namespace).is_some())
    }

    /// Replaces the whole set (a reloaded config file, a relisted watch).
    pub fn reset(&self, specs: impl IntoIterator<Item = RuntimeSpec>) -> bool {
        let fresh: Runtimes = specs
            .into_iter()
            .map(|s| (s.namespace.clone(), Arc::new(s)))
            .collect();
        self.update(|map| {
            let same = map.len() == fresh.len()
                && map
                    .iter()
                    .all(|(ns, s)| fresh.get(ns).is_some_and(|f| f == s));
            if same {
                return false;
            }
            *map = fresh;
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(ns: &str, addr: &str) -> RuntimeSpec {
        RuntimeSpec {
            namespace: ns.into(),
            address: addr.into(),
            tls: None,
        }
    }

    #[test]
    fn apply_delete_reset_publish_only_changes() {
        let reg = RuntimeRegistry::new();
        let mut rx = reg.watch();
        assert!(reg.apply(rt("a", "127.0.0.1:1")));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert!(!reg.apply(rt("a", "127.0.0.1:1")), "same spec is no change");
        assert!(!rx.has_changed().unwrap());
        assert!(reg.apply(rt("a", "127.0.0.1:2")));
        assert_eq!(reg.get("a").unwrap().address, "127.0.0.1:2");
        assert!(reg.reset([rt("b", "127.0.0.1:3")]));
        assert!(reg.get("a").is_none());
        assert!(!reg.reset([rt("b", "127.0.0.1:3")]));
        assert!(reg.delete("b"));
        assert!(!reg.delete("b"));
        assert!(reg.snapshot().is_empty());
        assert!(rx.borrow_and_update().is_empty());
    }

    #[test]
    fn readers_keep_their_snapshot_while_writers_move_on() {
        let reg = RuntimeRegistry::new();
        reg.apply(rt("a", "127.0.0.1:1"));
        let before = reg.snapshot();
        reg.delete("a");
        assert!(before.contains_key("a"));
        assert!(!reg.snapshot().contains_key("a"));
    }
}
