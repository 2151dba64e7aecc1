//! One source of truth (docs/access.md): when the operator side runs, a
//! direct write through the gateway (Load/Unload, Start/Stop) of an object
//! that exists as a custom resource in that namespace is refused with
//! FAILED_PRECONDITION pointing at the resource: the operator would undo
//! the write, or the write would go unseen by Kubernetes. Direct writes of
//! objects with no resource are allowed unless their namespace is listed
//! as refusing them. Every direct write is counted
//! (`switchyard_gateway_direct_writes_total`).

use std::collections::BTreeSet;
use std::sync::Arc;

use tonic::Status;

use super::names::quoted;
use switchyard_core::access::Rpc;
use switchyard_core::managed::{ManagedKind, ManagedObjects};
use switchyard_core::metrics as m;

/// The check on direct writes, when the operator side runs.
#[derive(Clone)]
pub struct SourceOfTruth {
    /// Which objects have a custom resource (the operator's reflectors).
    pub managed: Arc<dyn ManagedObjects>,
    /// Namespaces refusing direct writes of objects with no resource
    /// (`*`: every namespace); elsewhere they are allowed.
    pub refuse_unmanaged: BTreeSet<String>,
}

/// The kind a write RPC changes, and whether it removes the object.
fn written(rpc: Rpc) -> Option<(ManagedKind, bool)> {
    match rpc {
        Rpc::LoadModel => Some((ManagedKind::Model, false)),
        Rpc::UnloadModel => Some((ManagedKind::Model, true)),
        Rpc::LoadPipeline => Some((ManagedKind::Pipeline, false)),
        Rpc::UnloadPipeline => Some((ManagedKind::Pipeline, true)),
        Rpc::StartExperiment => Some((ManagedKind::Experiment, false)),
        Rpc::StopExperiment => Some((ManagedKind::Experiment, true)),
        _ => None,
    }
}

impl SourceOfTruth {
    /// Whether `rpc` may write `object` in `namespace` directly.
    pub fn check(&self, rpc: Rpc, namespace: &str, object: Option<&str>) -> Result<(), Status> {
        let (Some((kind, removes)), Some(name)) = (written(rpc), object) else {
            return Ok(());
        };
        let count = |decision: &'static str| {
            metrics::counter!(m::GATEWAY_DIRECT_WRITES_TOTAL, "kind" => kind.as_str(), "result" => decision)
                .increment(1);
        };
        if !self.managed.is_synced() {
            count("unknown");
            return Err(Status::unavailable(
                "the gateway has not yet listed the Kubernetes resources, so it cannot tell whether this object is managed by one; retry shortly",
            ));
        }
        let what = format!(
            "{} {} in namespace {}",
            kind,
            quoted(name),
            quoted(namespace)
        );
        if self.managed.is_managed(namespace, kind, name) {
            count("managed");
            let change = if removes {
                format!("kubectl delete {}/{name} -n {namespace}", kind.plural())
            } else {
                format!("kubectl edit {}/{name} -n {namespace}", kind.plural())
            };
            return Err(Status::failed_precondition(format!(
                "{what} is managed by its Kubernetes resource, the one source of truth: change the resource instead ({change}); a direct {} would be undone by the operator",
                rpc.method()
            )));
        }
        if self.refuse_unmanaged.contains(namespace) || self.refuse_unmanaged.contains("*") {
            count("refused");
            return Err(Status::failed_precondition(format!(
                "{what} has no Kubernetes resource and namespace {} takes no direct writes: create a {kind} resource instead (kubectl apply -f {name}.yaml -n {namespace})",
                quoted(namespace)
            )));
        }
        count("allowed");
        Ok(())
    }
}
