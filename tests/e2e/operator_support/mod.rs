//! Shared harness of the status-writer and resync tests: the API double, one
//! simulated scheduler, the pool and bus, and the operator's status writer
//! and resync, all on loopback.

use std::sync::Arc;

use std::net::SocketAddr;
use std::time::Duration;
use switchyard_tasks::TaskGroup;

use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_core::bus::StatusBus;
use switchyard_core::registry::{RuntimeRegistry, RuntimeSpec};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_operator::{ApiWriter, Resync, StatusWriter};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_scheduler::SchedulerPool;
use switchyard_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub(crate) fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(crate) struct Env {
    pub ns: String,
    pub double: ApiDoubleHandle,
    pub client: Client,
    pub sim: SimulatorHandle,
    pub bus: StatusBus,
    pub pool: SchedulerPool,
    pub registry: RuntimeRegistry,
    pub writer: ApiWriter,
    pub cancel: CancellationToken,
    tasks: TaskGroup,
    pub leader: watch::Sender<bool>,
    control_plane: Option<mpsc::Receiver<switchyard_scheduler::ControlPlaneEvent>>,
}

impl Env {
    /// Everything but the scheduler connection: create CRs, then `connect`.
    pub(crate) async fn new(ns: &str, sync_timeout: Duration) -> Env {
        let double = ApiDouble::start(loopback()).await.unwrap();
        let client = double.client().unwrap();
        let mut config = SimulatorConfig::new(ns, loopback());
        config.sync_timeout = sync_timeout;
        let sim = Simulator::start(config).await.unwrap();
        let bus = StatusBus::default();
        let (cp_tx, cp_rx) = mpsc::channel(64);
        let pool = SchedulerPool::new(bus.clone(), Some(cp_tx));
        let (leader, leader_rx) = watch::channel(true);
        let writer = ApiWriter::new(client.clone(), leader_rx, "switchyard-test");
        let tasks = TaskGroup::new("test");
        let cancel = tasks.token();
        StatusWriter::start(writer.clone(), bus.clone(), &tasks);
        Env {
            ns: ns.to_owned(),
            double,
            client,
            sim,
            bus,
            pool,
            registry: RuntimeRegistry::new(),
            writer,
            cancel,
            tasks,
            leader,
            control_plane: Some(cp_rx),
        }
    }

    /// Starts resync and connects the pool to the simulator.
    pub(crate) fn connect(&mut self) {
        if let Some(rx) = self.control_plane.take() {
            Resync::start(
                self.writer.clone(),
                Arc::new(self.pool.clone()),
                rx,
                &self.tasks,
            );
        }
        let (pool, registry, cancel) = (
            self.pool.clone(),
            self.registry.clone(),
            self.cancel.clone(),
        );
        tokio::spawn(async move { pool.follow(registry, cancel).await });
        self.registry.apply(RuntimeSpec {
            namespace: self.ns.clone(),
            address: self.sim.local_addr().to_string(),
            tls: None,
        });
    }

    pub(crate) fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Creates `obj` in the namespace with `finalizer`.
    pub(crate) async fn create<K>(&self, mut obj: K, finalizer: Option<&str>) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + std::fmt::Debug
            + Serialize
            + DeserializeOwned,
    {
        obj.meta_mut().namespace = Some(self.ns.clone());
        if let Some(f) = finalizer {
            obj.meta_mut().finalizers = Some(vec![f.to_owned()]);
        }
        self.api::<K>()
            .create(&PostParams::default(), &obj)
            .await
            .unwrap()
    }

    pub(crate) async fn delete<K>(&self, name: &str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + std::fmt::Debug
            + DeserializeOwned,
    {
        let _ = self
            .api::<K>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// A direct client to the simulator (what the controllers would call).
    pub(crate) async fn scheduler(&self) -> SchedulerClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.sim.local_addr()))
            .unwrap()
            .connect()
            .await
            .unwrap();
        SchedulerClient::new(channel)
    }

    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        self.bus.close();
    }
}

pub(crate) use switchyard_testkit::until;
