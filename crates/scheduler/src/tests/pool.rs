//! The scheduler pool against real simulated schedulers on 127.0.0.1:
//! status reaches the bus tagged with its namespace, a restarted scheduler
//! is resubscribed, an unreachable one delays no one, and removing a
//! runtime stops its tasks.

use std::sync::Arc;

use crate::{ConnectionState, SchedulerPool, Upstream};
use switchyard_core::bus::{Filter, StatusBus, StatusKind, StatusPayload};
use switchyard_core::registry::{RuntimeRegistry, RuntimeSpec};
use switchyard_proto::scheduler::model_status::ModelState;
use switchyard_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use switchyard_testkit::{DEADLINE, eventually, load_model_request as load_model};
use tokio_util::sync::CancellationToken;

pub(super) async fn simulator(ns: &str) -> SimulatorHandle {
    Simulator::start(SimulatorConfig::new(ns, "127.0.0.1:0".parse().unwrap()))
        .await
        .expect("simulator starts")
}

pub(super) fn runtime(ns: &str, addr: std::net::SocketAddr) -> RuntimeSpec {
    RuntimeSpec {
        namespace: ns.into(),
        address: addr.to_string(),
        tls: None,
    }
}

pub(super) fn ready(pool: &SchedulerPool, ns: &str) -> bool {
    pool.get(ns)
        .is_ok_and(|e| e.info().state == ConnectionState::Ready)
}

/// Waits until `ns` has lost its connection at least once and is Ready
/// again.
pub(super) async fn reconnected(pool: &SchedulerPool, ns: &str) {
    eventually("reconnected and ready", || async {
        let info = pool.get(ns).unwrap().info();
        info.reconnects >= 1 && info.state == ConnectionState::Ready
    })
    .await;
}

pub(super) struct Fixture {
    pub(super) registry: RuntimeRegistry,
    pub(super) pool: SchedulerPool,
    pub(super) bus: StatusBus,
    cancel: CancellationToken,
    follower: tokio::task::JoinHandle<()>,
}

impl Fixture {
    pub(super) fn new() -> Self {
        Self::with_spread(crate::Spread::default())
    }

    pub(super) fn with_spread(spread: crate::Spread) -> Self {
        let registry = RuntimeRegistry::new();
        let bus = StatusBus::default();
        let pool = SchedulerPool::with_spread(bus.clone(), None, spread);
        let cancel = CancellationToken::new();
        let follower = tokio::spawn({
            let pool = pool.clone();
            let registry = registry.clone();
            let cancel = cancel.clone();
            async move { pool.follow(registry, cancel).await }
        });
        Fixture {
            registry,
            pool,
            bus,
            cancel,
            follower,
        }
    }

    pub(super) async fn stop(self) {
        self.cancel.cancel();
        self.follower.await.expect("pool follower ends cleanly");
        for upstream in Upstream::ALL {
            assert_eq!(self.pool.live_tasks(upstream), 0, "{upstream:?} tasks left");
        }
    }
}

#[tokio::test]
async fn status_from_two_namespaces_reaches_the_bus_tagged_with_its_namespace() {
    let a = simulator("team-a").await;
    let b = simulator("team-b").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("team-a", a.local_addr()));
    fx.registry.apply(runtime("team-b", b.local_addr()));
    eventually("both namespaces ready", || async {
        ready(&fx.pool, "team-a") && ready(&fx.pool, "team-b")
    })
    .await;

    let mut sub = fx.bus.subscribe(Filter {
        kind: StatusKind::Model,
        namespace: None,
    });
    for ns in ["team-a", "team-b"] {
        fx.pool
            .client(ns)
            .unwrap()
            .load_model(load_model(ns, "iris"))
            .await
            .expect("load accepted");
    }
    let mut available = std::collections::BTreeSet::new();
    while available.len() < 2 {
        let event = tokio::time::timeout(DEADLINE, sub.recv())
            .await
            .expect("status in time")
            .expect("bus open");
        if let StatusPayload::Model(m) = &*event.payload {
            let v = &m.versions[0];
            assert_eq!(
                v.kubernetes_meta.as_ref().unwrap().namespace,
                &*event.namespace,
                "tagged with the namespace it came from"
            );
            if v.state.as_ref().unwrap().state() == ModelState::ModelAvailable {
                available.insert(event.namespace.to_string());
            }
        }
    }
    assert_eq!(
        available.into_iter().collect::<Vec<_>>(),
        vec!["team-a", "team-b"]
    );
    fx.stop().await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restarted_scheduler_is_resubscribed() {
    let a = simulator("team-a").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("team-a", a.local_addr()));
    eventually("ready", || async { ready(&fx.pool, "team-a") }).await;

    a.restart();
    reconnected(&fx.pool, "team-a").await;
    // The fresh streams work: a model loaded now shows up on the bus.
    let mut sub = fx.bus.subscribe(Filter {
        kind: StatusKind::Model,
        namespace: Some(Arc::from("team-a")),
    });
    fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "after"))
        .await
        .unwrap();
    let event = tokio::time::timeout(DEADLINE, sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.payload.name(), "after");
    fx.stop().await;
    a.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_scheduler_delays_no_other_namespace() {
    // Nothing listens there (and nothing can while the test runs).
    let refusing = switchyard_testkit::RefusingPort::new().unwrap();
    let closed = refusing.addr();
    let good = simulator("good").await;
    let fx = Fixture::new();
    fx.registry.apply(runtime("dead", closed));
    fx.registry.apply(runtime("good", good.local_addr()));
    eventually("the reachable namespace is ready", || async {
        ready(&fx.pool, "good")
    })
    .await;
    let err = fx
        .pool
        .client("dead")
        .unwrap()
        .load_model(load_model("dead", "m"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(
        fx.pool.get("dead").unwrap().info().state,
        ConnectionState::Connecting
    );
    fx.pool
        .client("good")
        .unwrap()
        .load_model(load_model("good", "m"))
        .await
        .expect("good namespace unaffected");
    fx.stop().await;
    good.shutdown().await.unwrap();
}

#[tokio::test]
async fn removing_a_runtime_stops_its_tasks_and_purges_its_state() {
    let a = simulator("team-a").await;
    let b = simulator("team-b").await;
    let fx = Fixture::new();
    let baseline: Vec<usize> = Upstream::ALL
        .iter()
        .map(|u| fx.pool.live_tasks(*u))
        .collect();
    fx.registry.apply(runtime("team-a", a.local_addr()));
    fx.registry.apply(runtime("team-b", b.local_addr()));
    eventually("both ready", || async {
        ready(&fx.pool, "team-a") && ready(&fx.pool, "team-b")
    })
    .await;
    for upstream in Upstream::ALL {
        assert_eq!(
            fx.pool.live_tasks(upstream),
            2,
            "{upstream:?}: one task per namespace"
        );
    }
    fx.pool
        .client("team-a")
        .unwrap()
        .load_model(load_model("team-a", "m"))
        .await
        .unwrap();
    let models = Filter {
        kind: StatusKind::Model,
        namespace: Some(Arc::from("team-a")),
    };
    eventually("model status on the bus", || async {
        !fx.bus.snapshot(&models).is_empty()
    })
    .await;

    fx.registry.delete("team-a");
    eventually("team-a's tasks gone", || async {
        Upstream::ALL.iter().all(|u| fx.pool.live_tasks(*u) == 1)
    })
    .await;
    assert!(fx.pool.get("team-a").is_err());
    assert!(
        fx.bus.snapshot(&models).is_empty(),
        "team-a's objects purged"
    );
    assert!(ready(&fx.pool, "team-b"), "team-b untouched");

    fx.registry.delete("team-b");
    eventually("back to the baseline", || async {
        Upstream::ALL
            .iter()
            .map(|u| fx.pool.live_tasks(*u))
            .collect::<Vec<_>>()
            == baseline
    })
    .await;
    fx.stop().await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
