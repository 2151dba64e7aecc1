//! Requests that would make the simulator allocate without bound, or that
//! Seldon's scheduler refuses, get a precise status; the simulator keeps
//! serving and holds nothing for them.

use super::support::*;
use switchyard_proto::scheduler::{
    LoadPipelineRequest, Pipeline, PipelineOutput, PipelineStep, ServerNotify, ServerNotifyRequest,
};

fn notify(expected_replicas: u32) -> ServerNotifyRequest {
    ServerNotifyRequest {
        servers: vec![ServerNotify {
            name: "mlserver".into(),
            expected_replicas,
            ..Default::default()
        }],
        is_first_sync: true,
    }
}

#[tokio::test]
async fn huge_replica_counts_are_refused_without_allocating() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    for (replicas, code) in [
        (u32::MAX, Code::InvalidArgument),
        (100_000_000, Code::FailedPrecondition),
    ] {
        let err = c
            .load_model(load(model("iris", "gs://iris", replicas, 1)))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), code, "replicas {replicas}: {err:?}");
        assert!(err.message().contains("replicas"), "{err:?}");
        let err = c
            .server_notify(notify(replicas))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), code, "expectedReplicas {replicas}: {err:?}");
    }
    let stats = sim.stats();
    assert_eq!((stats.models, stats.servers), (0, 0), "nothing was stored");
    c.server_notify(notify(3)).await.expect("a sane server");
    c.load_model(load(model("iris", "gs://iris", 2, 1)))
        .await
        .expect("a sane model, on the same connection");
    assert_eq!(count_models(&mut c).await, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn pipelines_breaking_the_schedulers_rules_are_failed_preconditions() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let pipeline = |name: &str, step: &str, input: &str| LoadPipelineRequest {
        pipeline: Some(Pipeline {
            name: name.into(),
            steps: vec![PipelineStep {
                name: step.into(),
                inputs: vec![input.into()],
                ..Default::default()
            }],
            output: Some(PipelineOutput {
                steps: vec![step.into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let err = c
        .load_pipeline(pipeline("p", "p", "p.inputs"))
        .await
        .expect_err("a step named like its pipeline");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.message(),
        "pipeline \"p\" must not have a step name with the same name"
    );
    let err = c
        .load_pipeline(pipeline("p", "a", "ghost.outputs"))
        .await
        .expect_err("an input naming no step");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("for step that does not exist"),
        "{err:?}"
    );
    let long = "n".repeat(1 << 20);
    let err = c
        .load_pipeline(pipeline(&long, "a", "a.outputs"))
        .await
        .expect_err("a 1 MiB name");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().len() < 300,
        "echoed {} bytes",
        err.message().len()
    );
    assert_eq!(sim.stats().pipelines, 0);
    c.load_pipeline(pipeline("p", "a", "p.inputs"))
        .await
        .expect("a valid pipeline");
    sim.shutdown().await.unwrap();
}
