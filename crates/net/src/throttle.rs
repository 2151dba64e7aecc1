//! One log line per condition per interval, not one per occurrence.

use std::time::Duration;

use tokio::time::Instant;

/// Counts occurrences of a condition and says when to log it: the first
/// time, then at most once per `every`, with how many happened since.
#[derive(Debug)]
pub struct LogThrottle {
    every: Duration,
    last: Option<Instant>,
    since: u64,
}

impl LogThrottle {
    pub fn new(every: Duration) -> Self {
        LogThrottle {
            every,
            last: None,
            since: 0,
        }
    }

    /// Records one occurrence. `Some(n)`: log now; `n` occurrences
    /// (this one included) since the last line.
    pub fn hit(&mut self) -> Option<u64> {
        self.since += 1;
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + self.every) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn logs_once_per_interval_with_a_count() {
        let mut t = LogThrottle::new(Duration::from_secs(10));
        assert_eq!(t.hit(), Some(1));
        for _ in 0..999 {
            assert_eq!(t.hit(), None);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(t.hit(), Some(1000));
        assert_eq!(t.hit(), None);
    }
}
