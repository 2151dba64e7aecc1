//! Per-identity limits under a bounded burst: one identity over its rate
//! or stream limit is refused with a retry hint while another is not.

use crate::{Limited, Limiter, LimitsConfig};
use std::collections::BTreeMap;
use switchyard_core::access::{Identity, Method};
use switchyard_testkit::eventually;

fn user(name: &str) -> Identity {
    Identity {
        user: name.into(),
        uid: None,
        groups: Vec::new(),
        extra: BTreeMap::new(),
        method: Method::Token,
    }
}

fn limiter(config: LimitsConfig) -> Limiter {
    Limiter::new(&config).expect("valid").expect("limits set")
}

#[tokio::test]
async fn a_burst_past_the_rate_is_refused_with_a_retry_hint_for_that_identity_only() {
    let limits = limiter(LimitsConfig {
        requests_per_second: Some(2),
        burst: Some(5),
        ..LimitsConfig::default()
    });
    let noisy = user("noisy");
    let admitted = (0..50).filter(|_| limits.admit(&noisy).is_ok()).count();
    // The burst, plus at most what the rate refilled during the loop.
    assert!((5..=6).contains(&admitted), "admitted {admitted} of 50");
    let refused = limits.admit(&noisy).expect_err("over the rate");
    let Limited::Rate {
        retry_after,
        per_second,
        ..
    } = &refused
    else {
        panic!("{refused:?}")
    };
    assert_eq!(*per_second, 2);
    assert!(
        retry_after.as_millis() > 0 && retry_after.as_millis() <= 500,
        "{retry_after:?}"
    );
    assert_eq!(refused.retry_after(), Some(*retry_after));
    assert!(
        refused
            .to_string()
            .contains("noisy is over its limit of 2 requests per second")
    );

    // Another identity has its own bucket.
    assert!(limits.admit(&user("quiet")).is_ok());
    // The noisy one gets in again once the hint has passed.
    eventually("the rate refills", async || limits.admit(&noisy).is_ok()).await;
}

#[test]
fn streams_are_counted_per_identity_until_their_permits_drop() {
    let limits = limiter(LimitsConfig {
        streams_per_identity: Some(2),
        ..LimitsConfig::default()
    });
    let alice = user("alice");
    let first = limits.open_stream(&alice).expect("1 of 2");
    let second = limits.open_stream(&alice).expect("2 of 2");
    let refused = limits.open_stream(&alice).err().expect("3 of 2");
    assert_eq!(
        refused,
        Limited::Streams {
            user: "alice".into(),
            limit: 2
        }
    );
    assert_eq!(refused.retry_after(), None);
    let bob = limits.open_stream(&user("bob")).expect("bob has his own");
    drop(first);
    assert_eq!(limits.open_streams("alice"), 1);
    let third = limits.open_stream(&alice).expect("a slot is free again");
    drop((second, third, bob));
    assert_eq!(limits.open_streams("alice"), 0);
    // No rate limit configured: every request is admitted.
    assert!((0..100).all(|_| limits.admit(&alice).is_ok()));
}

#[test]
fn the_identities_tracked_stay_within_the_bound() {
    let limits = limiter(LimitsConfig {
        requests_per_second: Some(1),
        identities: 16,
        ..LimitsConfig::default()
    });
    for i in 0..1000 {
        let _ = limits.admit(&user(&format!("user-{i}")));
    }
    assert!(limits.tracked() <= 16, "tracked {}", limits.tracked());
}

#[test]
fn no_limits_is_no_limiter_and_zero_is_an_error_naming_the_field() {
    assert!(
        Limiter::new(&LimitsConfig::default())
            .expect("valid")
            .is_none()
    );
    let zero = LimitsConfig {
        requests_per_second: Some(0),
        ..LimitsConfig::default()
    };
    let err = Limiter::new(&zero).err().expect("zero rate");
    assert_eq!(
        err.to_string(),
        "gateway.auth.limits.requests_per_second must be at least 1"
    );
}
