//! A bounded cache of answers that expire: the TokenReview and
//! SubjectAccessReview results, keyed by a SHA-256 digest
//! ([`digest`](crate::hash::digest)) so that no token is ever kept. At
//! most `entries` answers (quick_cache evicts the least useful), each for
//! at most its time to live; a miss asks once however many callers wait
//! for the same key; errors are never cached.

use crate::hash::Key;
use quick_cache::sync::Cache;
use std::time::Duration;
use switchyard_core::metrics as m;
use tokio::time::Instant;

#[derive(Clone)]
struct Entry<V> {
    value: V,
    expires: Instant,
}

pub(crate) struct TtlCache<V> {
    entries: Cache<Key, Entry<V>>,
    /// The `kind` label of `switchyard_access_cache_lookups_total`.
    kind: &'static str,
}

impl<V: Clone> TtlCache<V> {
    pub(crate) fn new(kind: &'static str, entries: usize) -> Self {
        TtlCache {
            entries: Cache::new(entries.max(1)),
            kind,
        }
    }

    /// The cached answer for `key`, else `fetch`'s, kept for the time to
    /// live it returns (zero: not kept).
    pub(crate) async fn get_or_fetch<E>(
        &self,
        key: Key,
        fetch: impl Future<Output = Result<(V, Duration), E>>,
    ) -> Result<V, E> {
        if let Some(entry) = self.entries.get(&key) {
            if entry.expires > Instant::now() {
                self.count("hit");
                return Ok(entry.value);
            }
            self.entries.remove(&key);
        }
        self.count("miss");
        let guard = match self.entries.get_value_or_guard_async(&key).await {
            // Another caller fetched it meanwhile.
            Ok(entry) if entry.expires > Instant::now() => return Ok(entry.value),
            Ok(_) => None,
            Err(guard) => Some(guard),
        };
        let (value, ttl) = fetch.await?;
        if !ttl.is_zero() {
            let entry = Entry {
                value: value.clone(),
                expires: Instant::now() + ttl,
            };
            match guard {
                Some(guard) => {
                    let _ = guard.insert(entry);
                }
                None => self.entries.insert(key, entry),
            }
        }
        Ok(value)
    }

    fn count(&self, result: &'static str) {
        metrics::counter!(m::ACCESS_CACHE_TOTAL, "kind" => self.kind, "result" => result)
            .increment(1);
    }
}
