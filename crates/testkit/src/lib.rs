//! Helpers shared by every crate's tests and the load benchmark
//! (`benches/load`): waiting on a condition with a deadline ([`until`],
//! [`eventually`], [`wait_until`]), the scheduler requests tests send, and
//! what a test logged ([`CapturedLogs`]).
//! A dev-dependency only: nothing here is in the running program.

use std::time::Duration;

mod logs;
mod refused;
pub use logs::CapturedLogs;
pub use refused::RefusingPort;

/// The longest any test waits for a condition before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(20);

/// Checks `check` every 20 ms until it returns `Some`, and returns that;
/// fails the test after [`DEADLINE`], naming `what`. Under paused tokio
/// time the waits advance the clock instantly.
pub async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for: {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`] for a yes/no condition.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    until(what, async || check().await.then_some(())).await;
}

/// Bounds `fut` by [`DEADLINE`]; fails the test naming `what`.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {DEADLINE:?}: {what}"))
}

use switchyard_proto::scheduler::{
    DeploymentSpec, KubernetesMeta, LoadModelRequest, MetaData, Model, ModelSpec,
};

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub fn load_model_request(namespace: &str, name: &str) -> LoadModelRequest {
    LoadModelRequest {
        model: Some(Model {
            meta: Some(MetaData {
                name: name.into(),
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: namespace.into(),
                    generation: 1,
                }),
                ..Default::default()
            }),
            model_spec: Some(ModelSpec {
                uri: "gs://models/m".into(),
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas: 1,
                max_replicas: u32::MAX,
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// A condition that did not hold within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {waited:?} waiting for: {what}")]
pub struct TimedOut {
    /// What was waited for.
    pub what: String,
    /// How long.
    pub waited: Duration,
}

/// Polls `check` every `every` until it holds; returns how long that took,
/// or [`TimedOut`] (naming `what`) once `deadline` has passed.
pub async fn wait_until(
    what: &str,
    deadline: Duration,
    every: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<Duration, TimedOut> {
    let start = tokio::time::Instant::now();
    loop {
        if check() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= deadline {
            return Err(TimedOut {
                what: what.to_owned(),
                waited: start.elapsed(),
            });
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_until_reports_the_wait_or_the_timeout() {
        let mut calls = 0;
        let waited = wait_until(
            "third call",
            Duration::from_secs(5),
            Duration::from_millis(10),
            || {
                calls += 1;
                calls == 3
            },
        )
        .await
        .unwrap();
        assert_eq!(calls, 3);
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
        let error = wait_until(
            "never",
            Duration::from_millis(50),
            Duration::from_millis(10),
            || false,
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("never"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn until_returns_what_the_check_found() {
        let mut calls = 0;
        let found = until("third call", async || {
            calls += 1;
            (calls == 3).then_some(calls)
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "waiting for: never")]
    async fn eventually_fails_naming_what_never_held() {
        eventually("never", async || false).await;
    }

    #[test]
    fn load_model_request_names_namespace_and_model() {
        let request = load_model_request("ns", "m");
        let meta = request.model.unwrap().meta.unwrap();
        assert_eq!(meta.name, "m");
        assert_eq!(meta.kubernetes_meta.unwrap().namespace, "ns");
    }
}
