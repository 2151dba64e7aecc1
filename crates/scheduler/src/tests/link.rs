//! A plaintext scheduler's connection (`link::Direct`): dialled by host
//! name too, shared by the streams and the unary calls, and a scheduler
//! that refuses it fails the call with UNAVAILABLE naming the cause.

use super::pool::{Fixture, ready, simulator};
use switchyard_core::registry::RuntimeSpec;
use switchyard_testkit::{eventually, load_model_request as load_model, within};

#[tokio::test]
async fn a_scheduler_named_by_host_name_serves_streams_and_calls_on_one_connection() {
    let sim = simulator("by-name").await;
    let fx = Fixture::new();
    fx.registry.apply(RuntimeSpec {
        namespace: "by-name".into(),
        address: format!("localhost:{}", sim.local_addr().port()),
        tls: None,
    });
    eventually("ready", || async { ready(&fx.pool, "by-name") }).await;
    for i in 0..3 {
        within(
            "the call ends",
            fx.pool
                .client("by-name")
                .unwrap()
                .load_model(load_model("by-name", &format!("m{i}"))),
        )
        .await
        .expect("loaded");
    }
    assert_eq!(
        sim.stats().connections_accepted,
        1,
        "the status streams and the calls share the connection"
    );
    fx.stop().await;
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_connection_fails_the_call_with_unavailable_and_its_cause() {
    let refusing = switchyard_testkit::RefusingPort::new().unwrap();
    let closed = refusing.addr();
    let fx = Fixture::new();
    fx.registry.apply(super::pool::runtime("refused", closed));
    eventually("served", || async { fx.pool.get("refused").is_ok() }).await;
    let err = within(
        "the call ends",
        fx.pool
            .client("refused")
            .unwrap()
            .load_model(load_model("refused", "m")),
    )
    .await
    .expect_err("nothing listens there");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(
        err.message().contains("Connection refused"),
        "the cause is named: {err:?}"
    );
    fx.stop().await;
}
