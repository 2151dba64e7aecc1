//! The bus follows the scheduler's truth: after a reconnect, what the
//! scheduler no longer lists is gone for existing and new subscribers.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::pool::{Fixture, ready, runtime, simulator};
use crate::ConnectionState;
use switchyard_core::bus::{Filter, StatusKind, StatusPayload};
use switchyard_proto::scheduler::model_status::ModelState;
use switchyard_testkit::{eventually, load_model_request as load_model, within};

fn state(payload: &StatusPayload) -> Option<ModelState> {
    match payload {
        StatusPayload::Model(m) => m.versions.first()?.state.as_ref().map(|s| s.state()),
        _ => None,
    }
}

#[tokio::test]
async fn a_wiped_scheduler_shows_up_wiped_to_existing_and_new_subscribers() {
    let sim = simulator("team-a").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("team-a", sim.local_addr()));
    eventually("ready", || async { ready(&fx.pool, "team-a") }).await;
    let models = Filter {
        kind: StatusKind::Model,
        namespace: Some(Arc::from("team-a")),
    };
    for name in ["m1", "m2", "m3"] {
        fx.pool
            .client("team-a")
            .unwrap()
            .load_model(load_model("team-a", name))
            .await
            .unwrap();
    }
    eventually("three models available on the bus", || async {
        let snapshot = fx.bus.snapshot(&models);
        snapshot.len() == 3
            && snapshot
                .iter()
                .all(|e| state(&e.payload) == Some(ModelState::ModelAvailable))
    })
    .await;
    let mut existing = fx.bus.subscribe(models.clone());
    for _ in 0..3 {
        within("the snapshot", existing.recv()).await.unwrap();
    }

    sim.restart();
    eventually("reconnected", || async {
        let info = fx.pool.get("team-a").unwrap().info();
        info.reconnects >= 1 && info.state == ConnectionState::Ready
    })
    .await;

    let mut gone = BTreeSet::new();
    while gone.len() < 3 {
        let event = within("gone messages", existing.recv()).await.unwrap();
        assert!(event.payload.is_final(), "{event:?}");
        gone.insert(event.payload.name().to_owned());
    }
    assert_eq!(
        gone,
        BTreeSet::from(["m1".into(), "m2".into(), "m3".into()])
    );
    assert!(fx.bus.snapshot(&models).is_empty(), "the bus holds nothing");
    let mut new = fx.bus.subscribe(models.clone());
    assert_eq!(new.pending(), 0, "a new subscriber is told of nothing");

    // What the scheduler holds after the wipe still flows.
    fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "after"))
        .await
        .unwrap();
    let event = within("the new model", new.recv()).await.unwrap();
    assert_eq!(event.payload.name(), "after");
    fx.stop().await;
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reconnect_to_a_scheduler_that_kept_its_state_forgets_nothing() {
    let sim = simulator("team-a").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("team-a", sim.local_addr()));
    eventually("ready", || async { ready(&fx.pool, "team-a") }).await;
    let models = Filter {
        kind: StatusKind::Model,
        namespace: Some(Arc::from("team-a")),
    };
    for name in ["m1", "m2"] {
        fx.pool
            .client("team-a")
            .unwrap()
            .load_model(load_model("team-a", name))
            .await
            .unwrap();
    }
    eventually("both available", || async {
        fx.bus
            .snapshot(&models)
            .iter()
            .filter(|e| state(&e.payload) == Some(ModelState::ModelAvailable))
            .count()
            == 2
    })
    .await;
    let mut existing = fx.bus.subscribe(models.clone());
    for _ in 0..2 {
        within("the snapshot", existing.recv()).await.unwrap();
    }

    assert!(sim.drop_streams() >= 5, "every stream of the pool dropped");
    eventually("resubscribed", || async {
        let info = fx.pool.get("team-a").unwrap().info();
        info.reconnects >= 1 && info.state == ConnectionState::Ready
    })
    .await;
    // The fresh subscription's snapshot restates both models; nothing is
    // reported gone.
    let mut restated = BTreeSet::new();
    while restated.len() < 2 {
        let event = within("the new snapshot", existing.recv()).await.unwrap();
        assert!(!event.payload.is_final(), "reported gone: {event:?}");
        restated.insert(event.payload.name().to_owned());
    }
    assert_eq!(fx.bus.snapshot(&models).len(), 2);
    fx.stop().await;
    sim.shutdown().await.unwrap();
}
