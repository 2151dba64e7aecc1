//! The fleet end to end, in process: three simulated schedulers behind the
//! gateway of a running [`App`], driven by real gRPC clients on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common;

use common::{DEADLINE, eventually, load_model as load};
use switchyard::app::{App, AppConfig};
use switchyard::config::GatewayConfig;
use switchyard_core::registry::RuntimeSpec;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    LoadModelRequest, ModelStatusResponse, ModelSubscriptionRequest, model_status::ModelState,
};
use switchyard_scheduler::Upstream;
use switchyard_simulator::{SimulatorConfig, SimulatorFleet};
use tonic::transport::Channel;
use tonic::{Code, Request, Streaming};

const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];

struct Fleet {
    app: App,
    sims: SimulatorFleet,
    client: SchedulerClient<Channel>,
}

async fn start() -> Fleet {
    let mut template = SimulatorConfig::new("x", "127.0.0.1:0".parse().unwrap());
    template.sync_timeout = Duration::ZERO;
    let sims =
        SimulatorFleet::start_named(template, NAMESPACES.iter().map(|s| s.to_string()).collect())
            .await
            .unwrap();
    let app = App::start(
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: None,
            admin_limits: switchyard::telemetry::admin::ADMIN_LIMITS,
            spread: Default::default(),
            runtimes: Default::default(),
            kubernetes: None,
        },
        None,
    )
    .await
    .unwrap();
    for sim in sims.handles() {
        app.registry
            .apply(runtime(sim.namespace(), sim.local_addr()));
    }
    let channel = Channel::from_shared(format!("http://{}", app.gateway_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Fleet {
        app,
        sims,
        client: SchedulerClient::new(channel),
    }
}

impl Fleet {
    async fn stop(self) {
        self.app.shutdown().await.unwrap();
        self.sims.shutdown().await.unwrap();
    }
}

fn runtime(ns: &str, addr: SocketAddr) -> RuntimeSpec {
    RuntimeSpec {
        namespace: ns.into(),
        address: addr.to_string(),
        tls: None,
    }
}

async fn subscribe(client: &mut SchedulerClient<Channel>) -> Streaming<ModelStatusResponse> {
    client
        .subscribe_model_status(ModelSubscriptionRequest {
            subscriber_name: "fleet-test".into(),
            is_model_gateway: false,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Reads `stream` until every `ns/name` in `want` has been seen available.
async fn until_available(stream: &mut Streaming<ModelStatusResponse>, want: &[&str]) {
    let mut seen = BTreeSet::new();
    while !want.iter().all(|w| seen.contains(*w)) {
        let msg = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .unwrap_or_else(|_| panic!("timed out; saw {seen:?}, want {want:?}"))
            .unwrap()
            .expect("stream open");
        let v = &msg.versions[0];
        if v.state
            .as_ref()
            .is_some_and(|s| s.state() == ModelState::ModelAvailable)
        {
            seen.insert(format!(
                "{}/{}",
                v.kubernetes_meta.as_ref().unwrap().namespace,
                msg.model_name
            ));
        }
    }
}

#[tokio::test]
async fn models_in_two_namespaces_show_on_one_aggregated_subscription() {
    let mut fleet = start().await;
    let mut stream = subscribe(&mut fleet.client).await;
    fleet
        .client
        .load_model(load("alpha", "iris"))
        .await
        .unwrap();
    fleet
        .client
        .load_model(load("gamma", "iris"))
        .await
        .unwrap();
    until_available(&mut stream, &["alpha/iris", "gamma/iris"]).await;
    fleet.stop().await;
}

#[tokio::test]
async fn a_restarted_scheduler_is_resubscribed_through_the_gateway() {
    let mut fleet = start().await;
    eventually("beta ready", async || {
        fleet
            .app
            .pool
            .get("beta")
            .is_ok_and(|e| e.info().state == switchyard_scheduler::ConnectionState::Ready)
    })
    .await;
    let mut stream = subscribe(&mut fleet.client).await;
    fleet
        .client
        .load_model(load("beta", "before"))
        .await
        .unwrap();
    until_available(&mut stream, &["beta/before"]).await;

    fleet.sims.get("beta").unwrap().restart();
    eventually("beta reconnected", async || {
        fleet.app.pool.get("beta").is_ok_and(|e| {
            let info = e.info();
            info.reconnects >= 1 && info.state == switchyard_scheduler::ConnectionState::Ready
        })
    })
    .await;
    // The client's aggregated stream survived the upstream restart and sees
    // what is loaded after it.
    fleet
        .client
        .load_model(load("beta", "after"))
        .await
        .unwrap();
    until_available(&mut stream, &["beta/after"]).await;
    fleet.stop().await;
}

#[tokio::test]
async fn unknown_malformed_and_unreachable_get_the_right_codes() {
    let mut fleet = start().await;
    // Unknown namespace.
    let status = fleet
        .client
        .load_model(load("nowhere", "m"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("nowhere"));
    // Malformed: a LoadModel without a model.
    let mut empty = Request::new(LoadModelRequest { model: None });
    empty
        .metadata_mut()
        .insert("seldon-namespace", "alpha".parse().unwrap());
    let status = fleet.client.load_model(empty).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // Unreachable: a runtime whose scheduler is not listening.
    let refusing = switchyard_testkit::RefusingPort::new().unwrap();
    fleet.app.registry.apply(runtime("dead", refusing.addr()));
    eventually("dead in the pool", async || {
        fleet.app.pool.get("dead").is_ok()
    })
    .await;
    let status = fleet
        .client
        .load_model(load("dead", "m"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // ... and the others still answer.
    fleet.client.load_model(load("alpha", "m")).await.unwrap();
    fleet.stop().await;
}

#[tokio::test]
async fn removing_a_runtime_releases_its_connection_and_tasks() {
    let mut fleet = start().await;
    let pool = fleet.app.pool.clone();
    eventually("three namespaces with five tasks each", async || {
        Upstream::ALL.iter().all(|u| pool.live_tasks(*u) == 3)
    })
    .await;
    fleet.app.registry.delete("beta");
    eventually("beta's tasks gone", async || {
        Upstream::ALL.iter().all(|u| pool.live_tasks(*u) == 2)
    })
    .await;
    let status = fleet
        .client
        .load_model(load("beta", "m"))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "a removed runtime is unknown: {status:?}"
    );
    assert_eq!(
        fleet.sims.get("beta").unwrap().stats().subscribers,
        0,
        "beta's upstream streams are closed"
    );
    fleet.stop().await;
    for upstream in Upstream::ALL {
        assert_eq!(
            pool.live_tasks(upstream),
            0,
            "{upstream:?} tasks after shutdown"
        );
    }
}
