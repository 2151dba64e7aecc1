//! Helpers shared by the end-to-end test files (each file is its own crate
//! and uses only some of them).
#![allow(dead_code)]

pub(crate) mod process;

use std::time::Duration;

use switchyard_proto::scheduler::LoadModelRequest;

/// The longest any end-to-end wait may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub(crate) fn load_model(namespace: &str, name: &str) -> LoadModelRequest {
    switchyard_testkit::load_model_request(namespace, name)
}

/// Polls `check` every 20 ms until it holds; fails the test after
/// [`DEADLINE`], naming `what`.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` every 25 ms until it returns `Some`, for at most
/// [`DEADLINE`]; panics naming `what` when it never does.
pub(crate) async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
