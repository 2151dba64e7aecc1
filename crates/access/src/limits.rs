//! Per-identity limits: requests per second (a GCRA bucket per user,
//! `governor`) and streams open at once. In: the authenticated
//! [`Identity`] of each request; out: admission, a [`StreamPermit`] held
//! while a stream lives, or [`Limited`] (RESOURCE_EXHAUSTED) with a retry
//! hint. Memory is bounded: at most `identities` buckets (quick_cache
//! forgets the least active user, who then starts again with a full
//! burst), and a stream count exists only while that user has a stream
//! open.

use crate::config::LimitsConfig;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use parking_lot::Mutex;
use quick_cache::sync::Cache;
use std::collections::HashMap;
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::access::Identity;
use switchyard_core::metrics as m;

/// A request over one of its identity's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Limited {
    #[error(
        "{user} is over its limit of {per_second} requests per second; retry after {} ms",
        retry_after.as_millis().max(1)
    )]
    Rate {
        user: String,
        per_second: u32,
        retry_after: Duration,
    },
    #[error("{user} already has {limit} streams open, its limit; close one before opening another")]
    Streams { user: String, limit: u32 },
}

impl Limited {
    /// When the request could succeed again, if that depends on time only
    /// (for a `retry-after`-style hint); a stream limit waits for a stream
    /// to end instead.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Limited::Rate { retry_after, .. } => Some(*retry_after),
            Limited::Streams { .. } => None,
        }
    }
}

type Streams = Arc<Mutex<HashMap<String, u32>>>;

/// The per-identity limits of `[gateway.auth.limits]`.
pub struct Limiter {
    rate: Option<(u32, Quota)>,
    max_streams: Option<u32>,
    buckets: Cache<String, Arc<DefaultDirectRateLimiter>>,
    streams: Streams,
}

impl Limiter {
    /// `None` when no limit is set.
    pub fn new(config: &LimitsConfig) -> Result<Option<Limiter>, crate::ConfigError> {
        let nonzero = |field: &'static str, value: u32| {
            NonZeroU32::new(value).ok_or(crate::ConfigError::Zero { field })
        };
        let rate = match config.requests_per_second {
            None => None,
            Some(per_second) => {
                let rate = nonzero("limits.requests_per_second", per_second)?;
                let burst = nonzero("limits.burst", config.burst.unwrap_or(per_second))?;
                Some((per_second, Quota::per_second(rate).allow_burst(burst)))
            }
        };
        let max_streams = match config.streams_per_identity {
            None => None,
            Some(n) => Some(nonzero("limits.streams_per_identity", n)?.get()),
        };
        if rate.is_none() && max_streams.is_none() {
            return Ok(None);
        }
        let identities = nonzero(
            "limits.identities",
            config.identities.try_into().unwrap_or(u32::MAX),
        )?;
        Ok(Some(Limiter {
            rate,
            max_streams,
            buckets: Cache::new(identities.get() as usize),
            streams: Streams::default(),
        }))
    }

    /// Admits one request of `identity`, or says when to retry.
    pub fn admit(&self, identity: &Identity) -> Result<(), Limited> {
        let Some((per_second, quota)) = self.rate else {
            return Ok(());
        };
        let bucket = self
            .buckets
            .get_or_insert_with(identity.user.as_str(), || {
                Ok::<_, Infallible>(Arc::new(RateLimiter::direct(quota)))
            })
            .unwrap_or_else(|never| match never {});
        metrics::gauge!(m::ACCESS_LIMITED_IDENTITIES).set(self.buckets.len() as f64);
        bucket.check().map_err(|not_until| {
            metrics::counter!(m::ACCESS_LIMITED_TOTAL, "reason" => "rate").increment(1);
            Limited::Rate {
                user: identity.user.clone(),
                per_second,
                retry_after: not_until
                    .wait_time_from(governor::clock::DefaultClock::default().now()),
            }
        })
    }

    /// Counts a stream of `identity` until the permit is dropped, or
    /// refuses it past the limit.
    pub fn open_stream(&self, identity: &Identity) -> Result<StreamPermit, Limited> {
        let mut streams = self.streams.lock();
        let open = streams.entry(identity.user.clone()).or_insert(0);
        if let Some(limit) = self.max_streams
            && *open >= limit
        {
            metrics::counter!(m::ACCESS_LIMITED_TOTAL, "reason" => "streams").increment(1);
            return Err(Limited::Streams {
                user: identity.user.clone(),
                limit,
            });
        }
        *open += 1;
        metrics::gauge!(m::ACCESS_OPEN_STREAMS).increment(1.0);
        Ok(StreamPermit {
            streams: self.streams.clone(),
            user: identity.user.clone(),
        })
    }

    /// Identities whose request rate is tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Streams `user` has open now.
    pub fn open_streams(&self, user: &str) -> u32 {
        self.streams.lock().get(user).copied().unwrap_or(0)
    }
}

/// One open stream of a user; dropping it frees the slot.
pub struct StreamPermit {
    streams: Streams,
    user: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = self.streams.lock();
        if let Some(open) = streams.get_mut(&self.user) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.user);
            }
        }
        metrics::gauge!(m::ACCESS_OPEN_STREAMS).decrement(1.0);
    }
}
