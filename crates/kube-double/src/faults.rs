//! Fault knobs, turned at run time through the handle: answer the next N
//! watch requests with 410 Gone, fail the next N writes (all, or those to
//! one resource or subresource) with 409 or 500, and add latency to every
//! request. Dropping every open watch lives with the collections
//! (`Shared::drop_watches`), since that is where the watchers are.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::catalog::ResourceType;
use super::error::ApiError;

/// How an injected write failure answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailWith {
    /// 409 Conflict, as for a stale resourceVersion.
    Conflict,
    /// 500 InternalError.
    InternalError,
    /// 422 Invalid, as for a request the API server refuses outright.
    Invalid,
}

/// Which writes an injected failure applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteScope {
    /// Every write (create, update, patch, delete, deletecollection).
    Any,
    /// Writes to one resource (`models`): with `subresource: None` the
    /// main resource only, with `Some("status")` only `models/status`.
    Resource {
        resource: String,
        subresource: Option<String>,
    },
}

impl WriteScope {
    /// Writes to the main resource `plural` (not its subresources).
    pub fn resource(plural: &str) -> Self {
        WriteScope::Resource {
            resource: plural.into(),
            subresource: None,
        }
    }

    /// Writes to `plural/subresource` only, e.g. `("models", "status")`.
    pub fn subresource(plural: &str, subresource: &str) -> Self {
        WriteScope::Resource {
            resource: plural.into(),
            subresource: Some(subresource.into()),
        }
    }

    fn covers(&self, plural: &str, subresource: Option<&str>) -> bool {
        match self {
            WriteScope::Any => true,
            WriteScope::Resource {
                resource,
                subresource: sub,
            } => resource == plural && sub.as_deref() == subresource,
        }
    }
}

/// One armed write failure.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WriteFault {
    fail_with: FailWith,
    remaining: u32,
    scope: WriteScope,
}

#[derive(Default)]
struct Armed {
    expire_watches: u32,
    write_faults: Vec<WriteFault>,
}

/// The knobs; cheap to consult on every request.
#[derive(Default)]
pub struct Faults {
    armed: Mutex<Armed>,
    latency_micros: AtomicU64,
}

impl Faults {
    fn armed(&self) -> parking_lot::MutexGuard<'_, Armed> {
        self.armed.lock()
    }

    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// Arms 410 Gone for the next `count` watch requests (added to any
    /// still armed).
    pub fn expire_next_watches(&self, count: u32) {
        let mut armed = self.armed();
        armed.expire_watches = armed.expire_watches.saturating_add(count);
    }

    /// Consumes one armed watch expiry, if any.
    pub fn take_watch_expiry(&self) -> bool {
        let mut armed = self.armed();
        if armed.expire_watches > 0 {
            armed.expire_watches -= 1;
            true
        } else {
            false
        }
    }

    /// Arms `count` failures for writes in `scope`. Rules are consulted in
    /// the order they were armed; the first that covers a write answers it.
    pub fn fail_next_writes(&self, count: u32, fail_with: FailWith, scope: WriteScope) {
        if count == 0 {
            return;
        }
        self.armed().write_faults.push(WriteFault {
            fail_with,
            remaining: count,
            scope,
        });
    }

    /// Consumes one armed failure covering this write, if any.
    pub fn take_write_failure(
        &self,
        rt: &ResourceType,
        subresource: Option<&str>,
        name: &str,
    ) -> Option<ApiError> {
        let mut armed = self.armed();
        let index = armed
            .write_faults
            .iter()
            .position(|f| f.scope.covers(&rt.plural, subresource))?;
        let fault = &mut armed.write_faults[index];
        fault.remaining -= 1;
        let fail_with = fault.fail_with;
        if fault.remaining == 0 {
            armed.write_faults.remove(index);
        }
        Some(match fail_with {
            FailWith::Conflict => ApiError::conflict(
                rt,
                name,
                "the object has been modified; please apply your changes to the latest version and try again (injected by the API double)",
            ),
            FailWith::InternalError => {
                ApiError::internal("Internal error occurred: injected by the API double")
            }
            FailWith::Invalid => {
                ApiError::invalid(rt, name, "status", "refused (injected by the API double)")
            }
        })
    }

    /// Disarms every failure and removes the latency.
    pub fn clear(&self) {
        *self.armed() = Armed::default();
        self.set_latency(Duration::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn write_failures_are_scoped_and_counted() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let models = catalog.get(
            catalog
                .find("mlops.seldon.io", "v1alpha1", "models")
                .expect("models"),
        );
        let faults = Faults::default();
        faults.fail_next_writes(
            2,
            FailWith::Conflict,
            WriteScope::subresource("models", "status"),
        );
        assert!(faults.take_write_failure(models, None, "m").is_none());
        let first = faults.take_write_failure(models, Some("status"), "m");
        assert_eq!(first.map(|e| e.code), Some(409));
        assert!(
            faults
                .take_write_failure(models, Some("status"), "m")
                .is_some()
        );
        assert!(
            faults
                .take_write_failure(models, Some("status"), "m")
                .is_none()
        );

        faults.fail_next_writes(1, FailWith::InternalError, WriteScope::Any);
        assert_eq!(
            faults.take_write_failure(models, None, "m").map(|e| e.code),
            Some(500)
        );
    }

    #[test]
    fn watch_expiry_counts_down() {
        let faults = Faults::default();
        faults.expire_next_watches(1);
        assert!(faults.take_watch_expiry());
        assert!(!faults.take_watch_expiry());
    }
}
