//! Upstream isolation: what a scheduler answers to one call never breaks
//! the shared connection other calls and the status streams ride on.

use switchyard_proto::scheduler::{ModelReference, UnloadModelRequest};

use super::pool::{Fixture, ready, runtime, simulator};
use crate::ConnectionState;
use switchyard_testkit::{eventually, load_model_request as load_model, within};

/// A scheduler's error echoing a 64 KiB name (Seldon's scheduler echoes
/// names unbounded) fails that call only: the streams stay open, no
/// reconnect is counted, and the next call on the connection works.
#[tokio::test]
async fn an_error_echoing_a_64_kib_name_fails_only_its_call() {
    let sim = simulator("team-a").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("team-a", sim.local_addr()));
    eventually("ready", || async { ready(&fx.pool, "team-a") }).await;
    let accepted = sim.stats().connections_accepted;

    let long = "x".repeat(64 * 1024);
    let err = within(
        "the echoing call ends",
        fx.pool
            .client("team-a")
            .unwrap()
            .unload_model(UnloadModelRequest {
                model: Some(ModelReference {
                    name: long,
                    version: None,
                }),
                kubernetes_meta: None,
            }),
    )
    .await
    .expect_err("an unknown model is refused");
    assert_ne!(err.code(), tonic::Code::Ok);

    fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "after"))
        .await
        .expect("the next call on the same connection works");
    let info = fx.pool.get("team-a").unwrap().info();
    assert_eq!(info.state, ConnectionState::Ready, "{info:?}");
    assert_eq!(info.reconnects, 0, "no stream was torn down: {info:?}");
    assert_eq!(
        sim.stats().connections_accepted,
        accepted,
        "the shared connection was kept"
    );
    fx.stop().await;
    sim.shutdown().await.unwrap();
}
