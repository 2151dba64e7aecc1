//! The `SELDON_SERVER_CAPABILITIES` rewrite: a Server's `capabilities`
//! replace the template's, or its deprecated `extraCapabilities` are
//! appended to them, in every container that already has the variable
//! (`docs/seldon-compat.md#server-workloads`). No container gains it.

use k8s_openapi::api::core::v1::{EnvVar, PodSpec};

/// The agent's variable listing what a server can load.
pub const CAPABILITIES_ENV: &str = "SELDON_SERVER_CAPABILITIES";

/// Rewrites every `SELDON_SERVER_CAPABILITIES` entry of every container:
/// `capabilities` joined with commas when set, else the old value,
/// a comma and `extra` joined when `extra` is set. The rewritten entry is a
/// plain value (a `valueFrom` is dropped, as in Seldon).
pub fn rewrite_capabilities(pod: &mut PodSpec, capabilities: &[String], extra: &[String]) {
    if capabilities.is_empty() && extra.is_empty() {
        return;
    }
    for container in &mut pod.containers {
        for env in container.env.iter_mut().flatten() {
            if env.name != CAPABILITIES_ENV {
                continue;
            }
            let value = if capabilities.is_empty() {
                format!(
                    "{},{}",
                    env.value.as_deref().unwrap_or_default(),
                    extra.join(",")
                )
            } else {
                capabilities.join(",")
            };
            *env = EnvVar {
                name: CAPABILITIES_ENV.to_owned(),
                value: Some(value),
                value_from: None,
            };
        }
    }
}
