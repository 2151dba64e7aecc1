//! Helpers shared by the end-to-end test files (each file is its own crate
//! and uses only some of them).
#![allow(dead_code)]

pub mod process;

use std::time::Duration;

use switchyard::proto::scheduler::{
    DeploymentSpec, KubernetesMeta, LoadModelRequest, MetaData, Model, ModelSpec,
};

/// The longest any end-to-end wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub fn load_model(namespace: &str, name: &str) -> LoadModelRequest {
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

/// Polls `check` every 20 ms until it holds; fails the test after
/// [`DEADLINE`], naming `what`.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
