//! The bus follows the scheduler's truth: after a reconnect, what the
//! scheduler no longer lists is gone for existing and new subscribers, and
//! what it still lists stays.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::pool::{Fixture, ready, reconnected, runtime, simulator};
use switchyard_core::bus::{Filter, StatusKind, StatusPayload, Subscription};
use switchyard_proto::scheduler::model_status::ModelState;
use switchyard_simulator::SimulatorHandle;
use switchyard_testkit::{eventually, load_model_request as load_model, within};

fn state(payload: &StatusPayload) -> Option<ModelState> {
    match payload {
        StatusPayload::Model(m) => m.versions.first()?.state.as_ref().map(|s| s.state()),
        _ => None,
    }
}

/// A pool following one simulated `team-a` holding `names`, all available
/// on the bus, and a subscriber that has read them.
struct Loaded {
    sim: SimulatorHandle,
    fx: Fixture,
    models: Filter,
    existing: Subscription,
}

impl Loaded {
    async fn start(names: &[&str]) -> Loaded {
        let sim = simulator("team-a").await;
        let fx = Fixture::new();
        fx.registry.apply(runtime("team-a", sim.local_addr()));
        eventually("ready", || async { ready(&fx.pool, "team-a") }).await;
        let models = Filter {
            kind: StatusKind::Model,
            namespace: Some(Arc::from("team-a")),
        };
        for name in names {
            fx.pool
                .client("team-a")
                .unwrap()
                .load_model(load_model("team-a", name))
                .await
                .unwrap();
        }
        eventually("every model available on the bus", || async {
            let snapshot = fx.bus.snapshot(&models);
            snapshot.len() == names.len()
                && snapshot
                    .iter()
                    .all(|e| state(&e.payload) == Some(ModelState::ModelAvailable))
        })
        .await;
        let mut existing = fx.bus.subscribe(models.clone());
        for _ in names {
            within("the snapshot", existing.recv()).await.unwrap();
        }
        Loaded {
            sim,
            fx,
            models,
            existing,
        }
    }

    /// The names of the next `count` events of the existing subscriber,
    /// each checked by `check`.
    async fn next_names(
        &mut self,
        count: usize,
        check: impl Fn(&StatusPayload) -> bool,
    ) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        while names.len() < count {
            let event = within("events", self.existing.recv()).await.unwrap();
            assert!(check(&event.payload), "{event:?}");
            names.insert(event.payload.name().to_owned());
        }
        names
    }

    /// The existing subscriber gets both models again (the fresh
    /// subscription's snapshot) and nothing gone; the bus still holds both.
    async fn assert_restated(&mut self) {
        let restated = self.next_names(2, |p| !p.is_final()).await;
        assert_eq!(restated.len(), 2);
        assert_eq!(self.fx.bus.snapshot(&self.models).len(), 2);
    }

    async fn stop(self) {
        self.fx.stop().await;
        self.sim.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_wiped_scheduler_shows_up_wiped_to_existing_and_new_subscribers() {
    let mut t = Loaded::start(&["m1", "m2", "m3"]).await;
    t.sim.restart();
    reconnected(&t.fx.pool, "team-a").await;

    let gone = t.next_names(3, StatusPayload::is_final).await;
    assert_eq!(
        gone,
        BTreeSet::from(["m1".into(), "m2".into(), "m3".into()])
    );
    assert!(
        t.fx.bus.snapshot(&t.models).is_empty(),
        "the bus holds nothing"
    );
    let mut new = t.fx.bus.subscribe(t.models.clone());
    assert_eq!(new.pending(), 0, "a new subscriber is told of nothing");

    // What the scheduler holds after the wipe still flows.
    t.fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "after"))
        .await
        .unwrap();
    let event = within("the new model", new.recv()).await.unwrap();
    assert_eq!(event.payload.name(), "after");
    t.stop().await;
}

#[tokio::test]
async fn a_reconnect_to_a_scheduler_that_kept_its_state_forgets_nothing() {
    let mut t = Loaded::start(&["m1", "m2"]).await;
    assert!(
        t.sim.drop_streams() >= 5,
        "every stream of the pool dropped"
    );
    reconnected(&t.fx.pool, "team-a").await;
    t.assert_restated().await;
    // A connection error (the whole connection reset) is the same.
    t.sim.reset_connections();
    eventually("reconnected after the reset", || async {
        let info = t.fx.pool.get("team-a").unwrap().info();
        info.reconnects >= 2 && info.state == crate::ConnectionState::Ready
    })
    .await;
    t.assert_restated().await;
    t.fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "m3"))
        .await
        .expect("calls work on the new connection");
    t.stop().await;
}
