//! The server table (what `ServerNotify` announced) and the
//! `ServerStatusResponse` each server is reported as, counting the model
//! replicas placed on it. Simulated agents connect at once, so a server's
//! available replicas always equal its expected replicas.

use std::collections::BTreeMap;

use crate::models::ModelRecord;
use switchyard_proto::scheduler::{
    KubernetesMeta, ServerNotify, ServerReplicaResources, ServerStatusResponse,
    server_status_response::Type,
};

/// Memory each simulated server replica reports.
pub(crate) const REPLICA_MEMORY_BYTES: u64 = 8 << 30;

/// All servers announced to one scheduler, by name.
#[derive(Debug, Default)]
pub(crate) struct Servers {
    records: BTreeMap<String, ServerNotify>,
}

impl Servers {
    pub(crate) fn get(&self, name: &str) -> Option<&ServerNotify> {
        self.records.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ServerNotify> {
        self.records.values()
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Stores or replaces a server. Returns whether anything changed.
    pub(crate) fn notify(&mut self, server: ServerNotify) -> bool {
        if self.records.get(&server.name) == Some(&server) {
            return false;
        }
        self.records.insert(server.name.clone(), server);
        true
    }
}

/// A `StatusUpdate` for `server` given the models placed on it.
pub(crate) fn status<'a>(
    server: &ServerNotify,
    models: impl Iterator<Item = &'a ModelRecord>,
) -> ServerStatusResponse {
    let replicas = server.expected_replicas;
    let mut per_replica = vec![(0_i32, 0_u64); usize::try_from(replicas).unwrap_or(0)];
    let mut loaded_total: i32 = 0;
    for model in models.filter(|m| m.server == server.name) {
        let loaded = model.loaded_replicas();
        loaded_total = loaded_total.saturating_add(i32::try_from(loaded).unwrap_or(i32::MAX));
        let memory = model
            .model
            .model_spec
            .as_ref()
            .and_then(|s| s.memory_bytes)
            .unwrap_or(0);
        // A model with N loaded replicas sits on server replicas 0..N-1.
        for slot in per_replica
            .iter_mut()
            .take(usize::try_from(loaded).unwrap_or(0))
        {
            slot.0 = slot.0.saturating_add(1);
            slot.1 = slot.1.saturating_add(memory);
        }
    }
    let resources = per_replica
        .into_iter()
        .zip(0_u32..)
        .map(|((models, used), idx)| ServerReplicaResources {
            replica_idx: idx,
            total_memory_bytes: REPLICA_MEMORY_BYTES,
            available_memory_bytes: REPLICA_MEMORY_BYTES.saturating_sub(used),
            num_loaded_models: models,
            over_commit_percentage: 0,
        })
        .collect();
    let expected = i32::try_from(replicas).unwrap_or(i32::MAX);
    ServerStatusResponse {
        r#type: Type::StatusUpdate as i32,
        server_name: server.name.clone(),
        resources,
        expected_replicas: expected,
        available_replicas: expected,
        num_loaded_model_replicas: loaded_total,
        kubernetes_meta: server.kubernetes_meta.clone(),
    }
}

/// A `ScalingRequest` asking the operator to scale `server` to `replicas`
/// (such responses fill only type, name, expected replicas and metadata).
pub(crate) fn scaling_request(
    name: &str,
    replicas: i32,
    kubernetes_meta: Option<KubernetesMeta>,
) -> ServerStatusResponse {
    ServerStatusResponse {
        r#type: Type::ScalingRequest as i32,
        server_name: name.to_string(),
        expected_replicas: replicas,
        kubernetes_meta,
        ..Default::default()
    }
}
