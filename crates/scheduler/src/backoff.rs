//! Exponential reconnect backoff: 1 s doubling to a 15 s cap, with jitter
//! so that many namespaces restarting together do not redial in lockstep.

use std::time::Duration;

/// First delay after a stream fails.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Longest delay between attempts (Seldon's own operator caps at 15 s).
pub const MAX: Duration = Duration::from_secs(15);

/// Delays between reconnect attempts.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    initial: Duration,
    max: Duration,
    seed: u64,
    attempts: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64 | 1)
            .unwrap_or(0x9E37_79B9);
        Backoff {
            next: initial,
            initial,
            max,
            seed,
            attempts: 0,
        }
    }

    /// The delay before the next attempt: the nominal delay minus up to 20 %
    /// jitter, never above the cap.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.next;
        self.attempts = self.attempts.saturating_add(1);
        self.next = (self.next * 2).min(self.max);
        // xorshift: cheap, deterministic per instance, good enough for jitter.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = nominal.mul_f64((self.seed % 1000) as f64 / 5000.0);
        nominal - jitter
    }

    /// Back to the initial delay (after a stream worked).
    pub fn reset(&mut self) {
        self.next = self.initial;
        self.attempts = 0;
    }

    /// Delays handed out since the last reset: the retry about to happen.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(INITIAL, MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_bounded_jitter_and_resets() {
        let mut b = Backoff::default();
        let nominal = [1, 2, 4, 8, 15, 15, 15];
        for n in nominal {
            let d = b.next_delay();
            let n = Duration::from_secs(n);
            assert!(
                d <= n && d >= n.mul_f64(0.8),
                "{d:?} not within 20% below {n:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= INITIAL);
    }
}
