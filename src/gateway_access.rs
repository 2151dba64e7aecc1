//! The gateway's access control from `[gateway.auth]` (docs/access.md):
//! the engine (`switchyard-access`) built with the Kubernetes client when
//! the operator side runs, handed to the gateway as one
//! [`switchyard_gateway::Access`].

use std::sync::Arc;
use std::time::Duration;

use switchyard_access::{AuthMode, Gate, Gatekeeper, Limiter};
use switchyard_core::managed::ManagedObjects;
use switchyard_gateway::guard::DEFAULT_RECHECK_INTERVAL;
use switchyard_gateway::{Access, SourceOfTruth};

use crate::config::GatewayConfig;

/// The gateway's [`Access`] for `config`; `operator` is the Kubernetes API
/// and the index of custom resources, when the operator side runs (then
/// direct writes of objects with a resource are refused). A Kubernetes
/// install serving every namespace with no authentication is allowed only
/// when asked for, and says so at start.
pub fn gateway_access(
    config: &GatewayConfig,
    operator: Option<(kube::Client, Arc<dyn ManagedObjects>)>,
) -> anyhow::Result<Access> {
    let kubernetes = operator.is_some();
    let (client, managed) = operator.unzip();
    let engine = config.auth.engine(kubernetes);
    let client_certificates = config
        .tls
        .as_ref()
        .is_some_and(|tls| tls.client_ca.is_some());
    let gate = Gate::from_config(&engine, client, client_certificates)?;
    let limiter = Limiter::new(&engine.limits)?;
    match engine.mode {
        AuthMode::None if kubernetes => tracing::warn!(
            "gateway authentication is off (--gateway-auth=none): anyone who reaches the gateway port may load, unload and read every namespace's models; use --gateway-auth=kubernetes (docs/access.md)"
        ),
        AuthMode::None => tracing::info!("gateway authentication is off"),
        mode => tracing::info!(
            ?mode,
            limits = limiter.is_some(),
            "gateway authentication on"
        ),
    }
    // An open aggregated stream re-checks its namespaces about as often as
    // a decision may change (the shorter cache time), at least every
    // DEFAULT_RECHECK_INTERVAL.
    let durations = engine.durations()?;
    let recheck = durations
        .allowed_ttl
        .min(durations.denied_ttl)
        .clamp(Duration::from_millis(100), DEFAULT_RECHECK_INTERVAL);
    let access = Access::new(Gatekeeper::new(gate, limiter), recheck);
    Ok(match managed {
        Some(managed) => access.with_truth(SourceOfTruth {
            managed,
            refuse_unmanaged: config.refuse_direct_writes.iter().cloned().collect(),
        }),
        None => access,
    })
}
