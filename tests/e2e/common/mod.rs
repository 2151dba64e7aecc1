//! Helpers shared by the end-to-end test modules.

pub(crate) mod process;

use switchyard_proto::scheduler::LoadModelRequest;

pub(crate) use switchyard_testkit::{DEADLINE, eventually, until};

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub(crate) fn load_model(namespace: &str, name: &str) -> LoadModelRequest {
    switchyard_testkit::load_model_request(namespace, name)
}

/// A Model resource `name` (no namespace) stored at `gs://models/{name}`.
pub(crate) fn model(name: &str) -> switchyard_api::Model {
    switchyard_api::Model::new(
        name,
        switchyard_api::ModelSpec {
            storage_uri: format!("gs://models/{name}"),
            ..Default::default()
        },
    )
}

/// Seldon's templates in `seldon-mesh`, as the demo installs them.
pub(crate) async fn install_seldon_templates(client: &kube::Client) {
    switchyard::cli::demo::install_templates(client)
        .await
        .expect("Seldon's templates install");
}

/// A Scheduler client straight to `sim`, behind switchyard's back (as a
/// user bypassing Kubernetes and the gateway would call it).
pub(crate) async fn direct_client(
    sim: &switchyard_simulator::SimulatorHandle,
) -> switchyard_proto::scheduler::scheduler_client::SchedulerClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(sim.uri())
        .unwrap()
        .connect()
        .await
        .unwrap();
    switchyard_proto::scheduler::scheduler_client::SchedulerClient::new(channel)
}

/// switchyard's operator against an API double holding Seldon's templates,
/// with a simulated scheduler per namespace.
pub(crate) struct Operator {
    pub(crate) double: switchyard_kube_double::ApiDoubleHandle,
    pub(crate) client: kube::Client,
    pub(crate) sims: switchyard_simulator::SimulatorFleet,
    pub(crate) app: switchyard::app::App,
}

impl Operator {
    /// A new double with the templates, then [`Operator::start_on`].
    pub(crate) async fn start(
        namespaces: &[&str],
        tweak: impl FnOnce(&mut switchyard::app::KubernetesConfig),
    ) -> Operator {
        let double = switchyard_kube_double::ApiDouble::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        install_seldon_templates(&double.client().unwrap()).await;
        Operator::start_on(double, namespaces, tweak).await
    }

    /// Simulators for `namespaces` and the operator against `double`
    /// (`tweak` edits the operator's config first).
    pub(crate) async fn start_on(
        double: switchyard_kube_double::ApiDoubleHandle,
        namespaces: &[&str],
        tweak: impl FnOnce(&mut switchyard::app::KubernetesConfig),
    ) -> Operator {
        Operator::start_app(double, namespaces, |app| {
            tweak(app.kubernetes.as_mut().expect("the operator side"))
        })
        .await
    }

    /// As [`Operator::start_on`], with `tweak` editing the whole app's
    /// config (the gateway's too).
    pub(crate) async fn start_app(
        double: switchyard_kube_double::ApiDoubleHandle,
        namespaces: &[&str],
        tweak: impl FnOnce(&mut switchyard::app::AppConfig),
    ) -> Operator {
        let mut template =
            switchyard_simulator::SimulatorConfig::new("x", "127.0.0.1:0".parse().unwrap());
        template.sync_timeout = std::time::Duration::ZERO;
        let names = namespaces.iter().map(|ns| ns.to_string()).collect();
        let sims = switchyard_simulator::SimulatorFleet::start_named(template, names)
            .await
            .unwrap();
        let kubernetes =
            switchyard::app::KubernetesConfig::local(double.kube_config(), sims.addresses());
        let mut config =
            switchyard::app::AppConfig::operator("127.0.0.1:0".parse().unwrap(), kubernetes);
        tweak(&mut config);
        let app = switchyard::app::App::start(config, None).await.unwrap();
        let client = double.client().unwrap();
        Operator {
            double,
            client,
            sims,
            app,
        }
    }

    /// Stops the operator and the simulators.
    pub(crate) async fn stop(self) {
        self.app.shutdown().await.unwrap();
        self.sims.shutdown().await.unwrap();
    }
}
