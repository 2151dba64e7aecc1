//! The headless Service of each StatefulSet replica, `<server>-<i>`: in
//! StatefulSet mode an agent advertises its pod name, envoy dials that name,
//! and this Service makes it resolve (`docs/seldon-compat.md#server-workloads`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::owner::Owner;

/// Label shared by all of a Server's replica Services (value: the Server's
/// name); list by it to find Services beyond the replica count.
pub const REPLICA_LABEL: &str = "seldon-server-replica";
/// Label naming one replica Service (value: `<server>-<i>`).
pub const REPLICA_NAME_LABEL: &str = "seldon-server-replica-name";
/// The label the StatefulSet controller puts on each pod.
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// `<server>-0` .. `<server>-<replicas-1>`: the Services a Server with
/// `replicas` replicas keeps; any other Service labelled
/// `seldon-server-replica=<server>` is to be deleted.
pub fn replica_service_names(server_name: &str, replicas: i32) -> Vec<String> {
    (0..replicas.max(0))
        .map(|i| format!("{server_name}-{i}"))
        .collect()
}

pub(super) fn replica_services(owner: &Owner, replicas: i32) -> Vec<Service> {
    replica_service_names(&owner.name, replicas)
        .into_iter()
        .map(|name| {
            let mut meta = owner.meta(&name);
            meta.labels = Some(BTreeMap::from([
                (REPLICA_LABEL.to_owned(), owner.name.clone()),
                (REPLICA_NAME_LABEL.to_owned(), name.clone()),
            ]));
            Service {
                metadata: meta,
                spec: Some(ServiceSpec {
                    cluster_ip: Some("None".to_owned()),
                    selector: Some(BTreeMap::from([(POD_NAME_LABEL.to_owned(), name)])),
                    ports: Some(vec![
                        port("http", 9000, Some("http")),
                        port("grpc", 9500, Some("grpc")),
                        // No target port: the agent listens on 9005 itself.
                        port("agent", 9005, None),
                    ]),
                    ..ServiceSpec::default()
                }),
                status: None,
            }
        })
        .collect()
}

fn port(name: &str, number: i32, target: Option<&str>) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port: number,
        target_port: target.map(|t| IntOrString::String(t.to_owned())),
        ..ServicePort::default()
    }
}
