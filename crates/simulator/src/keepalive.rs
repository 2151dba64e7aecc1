//! The scheduler's HTTP/2 keepalive enforcement policy, as a pure state
//! machine per connection.
//!
//! Seldon's scheduler runs grpc-go with `EnforcementPolicy{MinTime: 60 s,
//! PermitWithoutStream: false}` (docs/seldon-compat.md#keepalive). grpc-go judges each PING
//! a client sends: if the server sent HEADERS or DATA since the previous
//! ping, the strike count resets; otherwise a ping arriving sooner than
//! `MinTime` after the previous one (or sooner than 2 h when the client has
//! no open stream and pings without streams are not permitted) is a strike.
//! More than 2 strikes: GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and the
//! connection is closed. hyper/h2 offer no such policing on the server
//! side (h2 answers every PING itself), so `conn` watches the frames and
//! asks this policy.

use std::time::Duration;

use tokio::time::Instant;

/// Seldon's scheduler: clients may ping at most every 60 s (a contract
/// with the operator's client keepalive, not taste).
pub const MIN_PING_INTERVAL: Duration = Duration::from_secs(60);

/// grpc-go: with `PermitWithoutStream: false`, a client with no open stream
/// should not ping at all; pings less than 2 h apart then count as strikes.
pub const IDLE_PING_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);

/// grpc-go tolerates 2 strikes; the third closes the connection.
pub const MAX_PING_STRIKES: u32 = 2;

/// HTTP/2 error code ENHANCE_YOUR_CALM.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// GOAWAY debug data grpc-go sends (clients look for it to back off).
pub const TOO_MANY_PINGS: &[u8] = b"too_many_pings";

/// Limits a client's pings must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingPolicy {
    /// Least time between pings while the client has an open stream.
    pub min_interval: Duration,
    /// Least time between pings while it has none.
    pub idle_interval: Duration,
    /// Strikes tolerated before the connection is closed.
    pub max_strikes: u32,
}

impl Default for PingPolicy {
    /// The real scheduler's policy.
    fn default() -> Self {
        Self {
            min_interval: MIN_PING_INTERVAL,
            idle_interval: IDLE_PING_INTERVAL,
            max_strikes: MAX_PING_STRIKES,
        }
    }
}

/// Per-connection enforcement of a `PingPolicy`.
#[derive(Debug)]
pub struct PingPolice {
    policy: PingPolicy,
    last_ping: Option<Instant>,
    strikes: u32,
    /// The server sent HEADERS or DATA since the last ping.
    data_sent: bool,
}

/// The verdict on one ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too many pings: send GOAWAY and close.
    TooManyPings,
}

impl PingPolice {
    pub fn new(policy: PingPolicy) -> Self {
        Self {
            policy,
            last_ping: None,
            strikes: 0,
            data_sent: false,
        }
    }

    /// The server wrote a HEADERS or DATA frame.
    pub fn data_sent(&mut self) {
        self.data_sent = true;
    }

    /// A PING (not an ACK) arrived at `now`; the client has
    /// `open_streams` streams open.
    pub fn ping(&mut self, now: Instant, open_streams: usize) -> Verdict {
        let previous = self.last_ping.replace(now);
        if std::mem::take(&mut self.data_sent) {
            self.strikes = 0;
            return Verdict::Allowed;
        }
        let least = if open_streams == 0 {
            self.policy.idle_interval
        } else {
            self.policy.min_interval
        };
        if previous.is_some_and(|last| now.duration_since(last) < least) {
            self.strikes += 1;
        }
        if self.strikes > self.policy.max_strikes {
            Verdict::TooManyPings
        } else {
            Verdict::Allowed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn pings_a_minute_apart_are_fine_forever() {
        let start = Instant::now();
        let mut police = PingPolice::new(PingPolicy::default());
        for i in 0..10 {
            assert_eq!(police.ping(start + 60 * S * i, 1), Verdict::Allowed);
        }
    }

    #[test]
    fn third_strike_closes() {
        let start = Instant::now();
        let mut police = PingPolice::new(PingPolicy::default());
        // The first ping is free; the next three come 10 s apart.
        assert_eq!(police.ping(start, 1), Verdict::Allowed);
        assert_eq!(police.ping(start + 10 * S, 1), Verdict::Allowed);
        assert_eq!(police.ping(start + 20 * S, 1), Verdict::Allowed);
        assert_eq!(police.ping(start + 30 * S, 1), Verdict::TooManyPings);
    }

    #[test]
    fn data_from_the_server_forgives_strikes() {
        let start = Instant::now();
        let mut police = PingPolice::new(PingPolicy::default());
        for i in 0..10 {
            police.data_sent();
            assert_eq!(police.ping(start + S * i, 1), Verdict::Allowed);
        }
    }

    #[test]
    fn idle_pings_need_two_hours() {
        let start = Instant::now();
        let mut police = PingPolice::new(PingPolicy::default());
        let mut at = start;
        let mut verdicts = Vec::new();
        for _ in 0..4 {
            verdicts.push(police.ping(at, 0));
            at += 61 * S;
        }
        assert_eq!(verdicts.last(), Some(&Verdict::TooManyPings));
    }
}
