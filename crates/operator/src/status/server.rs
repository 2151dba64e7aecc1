//! Server status events -> Server CR (docs/seldon-compat.md#server-status).
//!
//! `StatusUpdate` sets `status.loadedModels` (current generation only);
//! `ScalingRequest` merge-patches `spec.replicas` when the requested count
//! lies within the Server's validated min / max (any generation), with a
//! PatchFailed event when the patch fails. Other types are ignored.

use kube::runtime::events::EventType;
use serde_json::json;

use super::{StatusError, event_generation, read, skipped};
use crate::writer::ApiWriter;
use switchyard_api::server::{Server, ServerStatus};
use switchyard_core::bus::{StatusEvent, StatusKind, StatusPayload};
use switchyard_proto::scheduler::server_status_response::Type;
use switchyard_translate::validate_scaling;

/// Applies one server status event.
pub async fn apply(writer: &ApiWriter, event: &StatusEvent) -> Result<(), StatusError> {
    let StatusPayload::Server(response) = &*event.payload else {
        return Ok(());
    };
    let ns = &*event.namespace;
    let name = &response.server_name;
    let Some(generation) = event_generation(
        StatusKind::Server,
        ns,
        name,
        response.kubernetes_meta.as_ref(),
    ) else {
        return Ok(());
    };
    match response.r#type() {
        Type::StatusUpdate => {
            let loaded = response.num_loaded_model_replicas;
            writer
                .update_status::<Server, ServerStatus>(ns, name, |server| {
                    if server.metadata.generation != Some(generation) {
                        skipped(StatusKind::Server, "old_generation");
                        return None;
                    }
                    let mut new = server.status.clone().unwrap_or_default();
                    new.loaded_models = loaded;
                    new.duck.observed_generation = Some(generation);
                    (server.status.as_ref() != Some(&new)).then_some(new)
                })
                .await?;
            Ok(())
        }
        Type::ScalingRequest => scale(writer, ns, name, response.expected_replicas).await,
        Type::NonAuthoritativeReplicaInfo | Type::StatusResponseTypeUnknown => {
            skipped(StatusKind::Server, "ignored_type");
            Ok(())
        }
    }
}

/// Whether the scheduler's request for `expected` replicas is within the
/// Server's scaling bounds; `None` when the spec itself is invalid.
pub fn accepts(server: &Server, expected: i32) -> Option<bool> {
    let spec = &server.spec;
    let scaling = match validate_scaling(spec.replicas, spec.min_replicas, spec.max_replicas) {
        Ok(scaling) => scaling,
        Err(error) => {
            tracing::warn!(server = ?server.metadata.name, %error, "scaling request for a Server with an invalid scaling spec; ignored");
            return None;
        }
    };
    let Ok(expected) = u32::try_from(expected) else {
        return Some(false);
    };
    Some(scaling.min_replicas <= expected && expected <= scaling.max_replicas)
}

async fn scale(writer: &ApiWriter, ns: &str, name: &str, expected: i32) -> Result<(), StatusError> {
    let Some(server) = read::<Server>(writer, ns, name).await? else {
        return Ok(());
    };
    match accepts(&server, expected) {
        Some(true) => {}
        Some(false) => {
            skipped(StatusKind::Server, "scaling_out_of_range");
            tracing::info!(
                namespace = ns,
                name,
                expected,
                "scaling request outside minReplicas..maxReplicas; ignored"
            );
            return Ok(());
        }
        None => {
            skipped(StatusKind::Server, "invalid_scaling_spec");
            return Ok(());
        }
    }
    if server.spec.replicas == Some(expected) {
        return Ok(());
    }
    let patch = json!({ "spec": { "replicas": expected } });
    match writer.patch::<Server>(ns, name, &patch).await {
        Ok(_) => {
            tracing::info!(
                namespace = ns,
                name,
                expected,
                "server scaled on the scheduler's request"
            );
            Ok(())
        }
        Err(error) if error.is_not_found() => Ok(()),
        Err(error) => {
            writer
                .event(
                    &server,
                    EventType::Warning,
                    "PatchFailed",
                    format!("Failed to set spec.replicas to {expected}: {error}"),
                    "Scale",
                )
                .await;
            Err(error.into())
        }
    }
}
