//! The runtime's two Services: `seldon-scheduler` (the control plane's six
//! gRPC ports, which agents, envoy, gateways and switchyard dial) and
//! `seldon-mesh` (envoy's data plane and stats). Both are created even when
//! their component is disabled, as Seldon does
//! (`docs/seldon-compat.md#server-workloads`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use switchyard_api::runtime::OverrideSpec;
use switchyard_api::seldon_config::ServiceConfig;

use super::components::{ENVOY, SCHEDULER};
use crate::NAME_LABEL;
use crate::owner::Owner;

/// The scheduler's Service.
pub const SCHEDULER_SERVICE: &str = "seldon-scheduler";
/// Envoy's Service, the namespace's inference endpoint.
pub const MESH_SERVICE: &str = "seldon-mesh";

/// The scheduler's ports: (name and target port name, port).
const SCHEDULER_PORTS: [(&str, i32); 6] = [
    ("xds", 9002),
    ("scheduler", 9004),
    ("scheduler-mtls", 9044),
    ("agent", 9005),
    ("agent-mtls", 9055),
    ("dataflow", 9008),
];

pub(super) fn services(
    owner: &Owner,
    config: &ServiceConfig,
    overrides: &BTreeMap<&str, (usize, &OverrideSpec)>,
) -> Vec<Service> {
    let prefix = &config.grpc_service_prefix;
    let scheduler_ports = SCHEDULER_PORTS
        .iter()
        .map(|(name, port)| tcp(&format!("{prefix}{name}"), *port, name))
        .collect();
    let mesh_ports = vec![
        tcp(&format!("{prefix}data"), 80, "http"),
        tcp("stats", 9003, "envoy-stats"),
    ];
    vec![
        service(
            owner,
            SCHEDULER_SERVICE,
            SCHEDULER,
            service_type(config, overrides.get(SCHEDULER).map(|(_, o)| *o)),
            scheduler_ports,
        ),
        service(
            owner,
            MESH_SERVICE,
            ENVOY,
            service_type(config, overrides.get(ENVOY).map(|(_, o)| *o)),
            mesh_ports,
        ),
    ]
}

/// LoadBalancer, unless the service config names a type; an override entry
/// for the component decides in any case, even without a `serviceType`
/// (then the cluster default, ClusterIP). Seldon's rule, kept although an
/// override written only for replicas turns a LoadBalancer into a
/// ClusterIP: changing it would flip the type of Services adopted from
/// Seldon (and expose a load balancer nobody asked for on migration);
/// `docs/seldon-compat.md#workload-building`.
fn service_type(config: &ServiceConfig, over: Option<&OverrideSpec>) -> Option<String> {
    let service_type = match over {
        Some(over) => over.service_type.clone().unwrap_or_default(),
        None if !config.service_type.is_empty() => config.service_type.clone(),
        None => "LoadBalancer".to_owned(),
    };
    (!service_type.is_empty()).then_some(service_type)
}

fn service(
    owner: &Owner,
    name: &str,
    component: &str,
    service_type: Option<String>,
    ports: Vec<ServicePort>,
) -> Service {
    let selector = BTreeMap::from([(NAME_LABEL.to_owned(), component.to_owned())]);
    let mut meta = owner.meta(name);
    meta.labels = Some(selector.clone());
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            selector: Some(selector),
            type_: service_type,
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

fn tcp(name: &str, port: i32, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::String(target.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }
}
