//! Helpers shared by the end-to-end test modules.

pub(crate) mod process;

use switchyard_proto::scheduler::LoadModelRequest;

pub(crate) use switchyard_testkit::{DEADLINE, eventually, until};

/// A LoadModel request for `namespace/name`, generation 1, one replica.
pub(crate) fn load_model(namespace: &str, name: &str) -> LoadModelRequest {
    switchyard_testkit::load_model_request(namespace, name)
}

/// Seldon's templates in `seldon-mesh`, as the demo installs them.
pub(crate) async fn install_seldon_templates(client: &kube::Client) {
    switchyard::cli::demo::install_templates(client)
        .await
        .expect("Seldon's templates install");
}
