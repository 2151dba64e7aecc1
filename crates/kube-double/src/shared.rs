//! The state every request handler shares: the catalogue, one locked
//! `Collection` per resource type (a `parking_lot::Mutex`, never held across
//! an `.await`), the global `Revision`, fault knobs, counters and the
//! tokens TokenReviews know.

use parking_lot::{Mutex, MutexGuard};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::catalog::{Catalog, ResourceId};
use super::config::ApiDoubleConfig;
use super::faults::Faults;
use super::openapi::OpenApi;
use super::review::tokens::Tokens;
use super::stats::{ApiStats, Stats};
use super::store::{Collection, Revision};
use super::watch::WatcherSet;

pub(crate) struct Shared {
    pub catalog: Catalog,
    collections: Vec<Mutex<Collection>>,
    pub revision: Revision,
    pub faults: Faults,
    pub stats: Stats,
    pub tokens: Tokens,
    openapi: OnceLock<OpenApi>,
    slow_watchers_closed: Arc<AtomicU64>,
    pub config: ApiDoubleConfig,
    pub local_addr: SocketAddr,
}

impl Shared {
    pub(crate) fn new(config: ApiDoubleConfig, local_addr: SocketAddr) -> Self {
        let catalog = Catalog::new(&config.crds);
        let slow_watchers_closed = Arc::new(AtomicU64::new(0));
        let collections = (0..catalog.len())
            .map(|_| {
                Mutex::new(Collection::new(
                    config.history_limit,
                    WatcherSet::with_counter(
                        config.watch_buffer,
                        Arc::clone(&slow_watchers_closed),
                    ),
                ))
            })
            .collect();
        Self {
            catalog,
            collections,
            revision: Revision::default(),
            faults: Faults::default(),
            stats: Stats::default(),
            tokens: Tokens::default(),
            openapi: OnceLock::new(),
            slow_watchers_closed,
            config,
            local_addr,
        }
    }

    /// Locks one collection. A panic while locked cannot leave a
    /// collection half-written (every write is one `commit`), so a
    /// poisoned lock is used as is.
    pub(crate) fn lock(&self, id: ResourceId) -> MutexGuard<'_, Collection> {
        self.collections[id].lock()
    }

    /// The OpenAPI documents, built on first use.
    pub(crate) fn openapi(&self) -> &OpenApi {
        self.openapi.get_or_init(|| OpenApi::new(&self.catalog))
    }

    /// Ends every open watch; returns how many were open.
    pub(crate) fn drop_watches(&self) -> usize {
        let dropped: usize = (0..self.collections.len())
            .map(|id| self.lock(id).watchers.clear())
            .sum();
        self.stats.add(|s| s.dropped_watches += dropped as u64);
        dropped
    }

    /// Watch streams open now, over every resource type.
    pub(crate) fn open_watches(&self) -> usize {
        (0..self.collections.len())
            .map(|id| self.lock(id).watchers.len())
            .sum()
    }

    /// Sends a bookmark to every watcher that asked for them.
    pub(crate) fn send_bookmarks(&self) {
        for (id, rt) in self.catalog.iter() {
            let mut collection = self.lock(id);
            if !collection.watchers.is_empty() {
                let rv = self.revision.current();
                collection.watchers.bookmark(rt, rv);
            }
        }
    }

    /// Forgets all history: every resourceVersion issued so far becomes
    /// too old to watch from.
    pub(crate) fn compact(&self) {
        for id in 0..self.collections.len() {
            let mut collection = self.lock(id);
            collection.compact(self.revision.current());
        }
    }

    pub(crate) fn stats(&self) -> ApiStats {
        let mut stats = self.stats.snapshot();
        stats.slow_watchers_closed = self.slow_watchers_closed.load(Ordering::Relaxed);
        stats
    }

    pub(crate) fn reset_stats(&self) {
        self.stats.reset();
        self.slow_watchers_closed.store(0, Ordering::Relaxed);
    }
}
