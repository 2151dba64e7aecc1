//! A silent scheduler (process stopped, connection open: the simulator's
//! freeze fault) fails calls with UNAVAILABLE long before their deadline,
//! takes its namespace out of Ready, and is Ready again once it answers.

use std::time::Duration;

use super::pool::{Fixture, ready, runtime, simulator};
use crate::ConnectionState;
use switchyard_testkit::{eventually, load_model_request as load_model, within};

/// The deadline callers give a call (what they would wait without this).
const CALL_DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_frozen_scheduler_fails_calls_fast_and_leaves_ready() {
    let frozen = simulator("frozen").await;
    let other = simulator("other").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("frozen", frozen.local_addr()));
    fx.registry.apply(runtime("other", other.local_addr()));
    eventually("both ready", || async {
        ready(&fx.pool, "frozen") && ready(&fx.pool, "other")
    })
    .await;

    frozen.freeze();
    let mut request = tonic::Request::new(load_model("frozen", "m"));
    request.set_timeout(CALL_DEADLINE);
    let err = within(
        "the call to a frozen scheduler ends",
        fx.pool.client("frozen").unwrap().load_model(request),
    )
    .await
    .expect_err("a frozen scheduler answers nothing");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().contains("not answering"), "{err:?}");
    assert_ne!(
        fx.pool.get("frozen").unwrap().info().state,
        ConnectionState::Ready
    );
    // While silent, a new call fails at once, and other namespaces work.
    let err = within(
        "a call while silent",
        fx.pool
            .client("frozen")
            .unwrap()
            .load_model(load_model("frozen", "n")),
    )
    .await
    .expect_err("failed fast");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    fx.pool
        .client("other")
        .unwrap()
        .load_model(load_model("other", "m"))
        .await
        .expect("another namespace is not affected");
    assert!(ready(&fx.pool, "other"));

    frozen.thaw();
    eventually("ready again once it answers", || async {
        ready(&fx.pool, "frozen")
    })
    .await;
    fx.pool
        .client("frozen")
        .unwrap()
        .load_model(load_model("frozen", "after"))
        .await
        .expect("calls work again");
    fx.stop().await;
    frozen.shutdown().await.unwrap();
    other.shutdown().await.unwrap();
}
