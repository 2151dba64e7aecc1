//! Helpers shared by the end-to-end test modules.

pub(crate) mod process;

use switchyard_proto::scheduler::LoadModelRequest;

pub(crate) use switchyard_testkit::{DEADLINE, eventually, until};

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub(crate) fn load_model(namespace: &str, name: &str) -> LoadModelRequest {
    switchyard_testkit::load_model_request(namespace, name)
}

/// Seldon's templates as its setup chart installs them in `seldon-mesh`
/// (switchyard's default templates namespace): SeldonConfig `default`,
/// ServerConfigs `mlserver` and `triton` (the fixtures of
/// `crates/workloads`).
pub(crate) async fn install_seldon_templates(client: &kube::Client) {
    use kube::api::{Api, PostParams};
    use switchyard_api::{SeldonConfig, ServerConfig};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/workloads/fixtures");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    let configs: Api<SeldonConfig> = Api::namespaced(client.clone(), "seldon-mesh");
    let config: SeldonConfig = serde_saphyr::from_str(&read("seldonconfig-default.yaml")).unwrap();
    configs
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    let servers: Api<ServerConfig> = Api::namespaced(client.clone(), "seldon-mesh");
    for file in ["serverconfig-mlserver.yaml", "serverconfig-triton.yaml"] {
        let config: ServerConfig = serde_saphyr::from_str(&read(file)).unwrap();
        servers
            .create(&PostParams::default(), &config)
            .await
            .unwrap();
    }
}
