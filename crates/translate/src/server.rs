//! Server -> `ServerNotify`, and the `ServerNotifyRequest` for a set of
//! Servers (docs/seldon-compat.md#translate-server-notify).
//!
//! One Server becomes `{name, expectedReplicas, minReplicas, maxReplicas,
//! kubernetesMeta}` after the scaling rules; a Server being deleted becomes
//! 0/0/0 without validation. A batch omits invalid Servers but reports every
//! one of them (Seldon keeps only the last error), and an empty batch is no
//! request at all. The resync variant (answering the scheduler's
//! SEND_SERVERS) uses each Server's live workload replicas instead of
//! `spec.replicas`, skips Servers that have no workload yet, and orders the
//! Servers by name, as Seldon's List does.

use std::collections::BTreeMap;

use super::meta::{is_deleting, kubernetes_meta, name};
use super::{TranslateError, validate_scaling};
use switchyard_api::server::Server;
use switchyard_proto::scheduler::{ServerNotify, ServerNotifyRequest};

const KIND: &str = "Server";

/// The `ServerNotify` entry for one Server, from its spec.
pub fn server_notify(server: &Server) -> Result<ServerNotify, TranslateError> {
    notify_with_replicas(server, server.spec.replicas)
}

/// A Server left out of a `ServerNotifyRequest`, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFailure {
    /// `metadata.name` ("" if it has none).
    pub name: String,
    /// Why it cannot be notified.
    pub error: TranslateError,
}

/// The outcome of notifying a set of Servers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerNotifyBatch {
    /// What to send; `None` when no Server is left to notify (nothing to
    /// send, which is success for an empty set and failure when every Server
    /// failed: see [`ServerNotifyBatch::all_failed`]).
    pub request: Option<ServerNotifyRequest>,
    /// Every Server left out because it is invalid, in input order.
    pub failures: Vec<ServerFailure>,
    /// Resync only: Servers left out because they have no workload yet.
    pub without_workload: Vec<String>,
}

impl ServerNotifyBatch {
    /// True when Servers were given and every one of them failed (Seldon
    /// returns an error then, and sends nothing).
    pub fn all_failed(&self) -> bool {
        self.request.is_none() && !self.failures.is_empty()
    }
}

/// The request for a set of Servers: one from the Server reconciler
/// (`is_first_sync` false), or every Server of a namespace.
pub fn server_notify_request<'a>(
    servers: impl IntoIterator<Item = &'a Server>,
    is_first_sync: bool,
) -> ServerNotifyBatch {
    let mut batch = ServerNotifyBatch::default();
    let mut entries = Vec::new();
    for server in servers {
        match server_notify(server) {
            Ok(entry) => entries.push(entry),
            Err(error) => batch.failures.push(failure(server, error)),
        }
    }
    batch.request = request(entries, is_first_sync);
    batch
}

/// The request answering the scheduler's SEND_SERVERS (`isFirstSync` true)
/// for the Servers of one namespace. `live_replicas` maps a Server name to
/// the `spec.replicas` of its StatefulSet (or Deployment): the scheduler is
/// told what runs, not what is wished for. Servers without an entry have no
/// workload yet and are skipped. Entries are ordered by Server name.
pub fn resync_server_notify_request<'a>(
    servers: impl IntoIterator<Item = &'a Server>,
    live_replicas: &BTreeMap<String, i32>,
) -> ServerNotifyBatch {
    let mut servers: Vec<&Server> = servers.into_iter().collect();
    servers.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut batch = ServerNotifyBatch::default();
    let mut entries = Vec::new();
    for server in servers {
        let Some(server_name) = server.metadata.name.as_deref() else {
            batch
                .failures
                .push(failure(server, TranslateError::MissingName { kind: KIND }));
            continue;
        };
        let Some(replicas) = live_replicas.get(server_name) else {
            batch.without_workload.push(server_name.to_string());
            continue;
        };
        match notify_with_replicas(server, Some(*replicas)) {
            Ok(entry) => entries.push(entry),
            Err(error) => batch.failures.push(failure(server, error)),
        }
    }
    batch.request = request(entries, true);
    batch
}

fn notify_with_replicas(
    server: &Server,
    replicas: Option<i32>,
) -> Result<ServerNotify, TranslateError> {
    let kubernetes_meta = kubernetes_meta(&server.metadata, KIND)?;
    let name = name(&server.metadata, KIND)?.to_string();
    if is_deleting(&server.metadata) {
        // Tell the scheduler the server is going away; its scaling no
        // longer matters, valid or not.
        return Ok(ServerNotify {
            name,
            expected_replicas: 0,
            min_replicas: 0,
            max_replicas: 0,
            shared: false,
            kubernetes_meta: Some(kubernetes_meta),
        });
    }
    let spec = &server.spec;
    let scaling = validate_scaling(replicas, spec.min_replicas, spec.max_replicas)?;
    Ok(ServerNotify {
        name,
        expected_replicas: scaling.replicas,
        min_replicas: scaling.min_replicas,
        max_replicas: scaling.max_replicas,
        shared: false,
        kubernetes_meta: Some(kubernetes_meta),
    })
}

fn failure(server: &Server, error: TranslateError) -> ServerFailure {
    ServerFailure {
        name: server.metadata.name.clone().unwrap_or_default(),
        error,
    }
}

fn request(servers: Vec<ServerNotify>, is_first_sync: bool) -> Option<ServerNotifyRequest> {
    (!servers.is_empty()).then_some(ServerNotifyRequest {
        servers,
        is_first_sync,
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::ScalingError;
    use crate::meta::test_support::object_meta;
    use crate::scaling::UNBOUNDED;
    use switchyard_api::server::ServerSpec;
    use switchyard_proto::scheduler::KubernetesMeta;

    fn server(name: &str, generation: i64, replicas: Option<i32>, min: Option<i32>) -> Server {
        Server {
            metadata: object_meta(name, generation),
            spec: ServerSpec {
                server_config: "mlserver".into(),
                replicas,
                min_replicas: min,
                ..Default::default()
            },
            status: None,
        }
    }

    fn notify(name: &str, generation: i64, expected: u32, min: u32, max: u32) -> ServerNotify {
        ServerNotify {
            name: name.into(),
            expected_replicas: expected,
            min_replicas: min,
            max_replicas: max,
            shared: false,
            kubernetes_meta: Some(KubernetesMeta {
                namespace: "default".into(),
                generation,
            }),
        }
    }

    fn single(server: &Server) -> ServerNotifyBatch {
        server_notify_request([server], false)
    }

    fn sent(servers: Vec<ServerNotify>, is_first_sync: bool) -> ServerNotifyBatch {
        ServerNotifyBatch {
            request: Some(ServerNotifyRequest {
                servers,
                is_first_sync,
            }),
            failures: vec![],
            without_workload: vec![],
        }
    }

    /// Vectors 13-15: replicas, min only, nothing.
    #[test]
    fn one_server() {
        assert_eq!(
            single(&server("foo", 1, Some(2), None)),
            sent(vec![notify("foo", 1, 2, 0, UNBOUNDED)], false)
        );
        assert_eq!(
            single(&server("foo", 1, None, Some(2))),
            sent(vec![notify("foo", 1, 2, 2, UNBOUNDED)], false)
        );
        assert_eq!(
            single(&server("foo", 1, None, None)),
            sent(vec![notify("foo", 1, 1, 0, UNBOUNDED)], false)
        );
    }

    /// Vector 16: a Server being deleted is 0/0/0, even with invalid scaling.
    #[test]
    fn deleting_server() {
        let mut s = server("foo", 1, Some(2), None);
        s.metadata.deletion_timestamp = Some(Time(Default::default()));
        assert_eq!(single(&s), sent(vec![notify("foo", 1, 0, 0, 0)], false));
        s.spec.min_replicas = Some(5);
        assert_eq!(server_notify(&s), Ok(notify("foo", 1, 0, 0, 0)));
    }

    /// Vector 17: no Servers, no request, no error.
    #[test]
    fn no_servers() {
        let batch = server_notify_request([], false);
        assert_eq!(batch, ServerNotifyBatch::default());
        assert!(!batch.all_failed());
    }

    /// Vector 18: two valid Servers in input order.
    #[test]
    fn two_servers() {
        let (foo, bar) = (server("foo", 1, None, None), server("bar", 2, None, None));
        assert_eq!(
            server_notify_request([&foo, &bar], false),
            sent(
                vec![
                    notify("foo", 1, 1, 0, UNBOUNDED),
                    notify("bar", 2, 1, 0, UNBOUNDED)
                ],
                false
            )
        );
    }

    /// Vector 19: the invalid Server is omitted, the valid one sent, and the
    /// failure reported.
    #[test]
    fn invalid_server_is_omitted_and_reported() {
        let (foo, bar) = (
            server("foo", 1, Some(1), Some(2)),
            server("bar", 2, Some(2), Some(1)),
        );
        let batch = server_notify_request([&foo, &bar], false);
        assert_eq!(
            batch,
            ServerNotifyBatch {
                request: Some(ServerNotifyRequest {
                    servers: vec![notify("bar", 2, 2, 1, UNBOUNDED)],
                    is_first_sync: false,
                }),
                failures: vec![ServerFailure {
                    name: "foo".into(),
                    error: ScalingError::ReplicasBelowMin {
                        replicas: 1,
                        min: 2
                    }
                    .into(),
                }],
                without_workload: vec![],
            }
        );
        assert!(!batch.all_failed());
    }

    /// Seldon keeps only the last error when several Servers fail; we keep all.
    #[test]
    fn every_failure_is_reported() {
        let a = server("a", 1, Some(1), Some(2));
        let mut b = server("b", 1, Some(5), None);
        b.spec.max_replicas = Some(3);
        let mut c = server("c", 1, None, None);
        c.metadata.namespace = None;
        let batch = server_notify_request([&a, &b, &c], false);
        assert!(batch.all_failed());
        assert_eq!(batch.request, None);
        let messages: Vec<(String, String)> = batch
            .failures
            .iter()
            .map(|f| (f.name.clone(), f.error.to_string()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "a".to_string(),
                    "spec.replicas, spec.minReplicas: scaling spec is invalid: number of replicas 1 must be >= min replicas 2".to_string()
                ),
                (
                    "b".to_string(),
                    "spec.replicas, spec.maxReplicas: scaling spec is invalid: number of replicas 5 must be <= max replicas 3".to_string()
                ),
                (
                    "c".to_string(),
                    "metadata.namespace: missing on Server \"c\"; the scheduler request carries the namespace in kubernetesMeta".to_string()
                ),
            ]
        );
    }

    #[test]
    fn min_above_max() {
        let mut s = server("foo", 1, None, Some(3));
        s.spec.max_replicas = Some(2);
        let err = server_notify(&s).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.minReplicas, spec.maxReplicas: scaling spec is invalid: min number of replicas 3 must be <= max number of replicas 2"
        );
        assert!(err.is_scaling());
    }

    fn live(entries: &[(&str, i32)]) -> BTreeMap<String, i32> {
        entries.iter().map(|(n, r)| (n.to_string(), *r)).collect()
    }

    /// Vector 20: resync uses the workload's replicas.
    #[test]
    fn resync_one_server() {
        let foo = server("foo", 1, None, None);
        assert_eq!(
            resync_server_notify_request([&foo], &live(&[("foo", 1)])),
            sent(vec![notify("foo", 1, 1, 0, UNBOUNDED)], true)
        );
    }

    /// Vectors 21 and 22: the workload's replicas replace spec.replicas
    /// (StatefulSet or Deployment alike: the caller reads either).
    #[test]
    fn resync_uses_live_replicas() {
        let foo = server("foo", 1, Some(2), Some(1));
        assert_eq!(
            resync_server_notify_request([&foo], &live(&[("foo", 1)])),
            sent(vec![notify("foo", 1, 1, 1, UNBOUNDED)], true)
        );
    }

    /// Vector 23: entries are ordered by name.
    #[test]
    fn resync_orders_by_name() {
        let (foo, bar) = (server("foo", 1, None, None), server("bar", 2, None, None));
        assert_eq!(
            resync_server_notify_request([&foo, &bar], &live(&[("foo", 1), ("bar", 1)])),
            sent(
                vec![
                    notify("bar", 2, 1, 0, UNBOUNDED),
                    notify("foo", 1, 1, 0, UNBOUNDED)
                ],
                true
            )
        );
    }

    /// Vector 24: no Servers, no request.
    #[test]
    fn resync_no_servers() {
        assert_eq!(
            resync_server_notify_request([], &BTreeMap::new()),
            ServerNotifyBatch::default()
        );
    }

    #[test]
    fn resync_skips_servers_without_workload_and_sends_deleting_ones_as_zero() {
        let foo = server("foo", 1, None, None);
        let mut gone = server("gone", 3, Some(2), None);
        gone.metadata.deletion_timestamp = Some(Time(Default::default()));
        let new = server("new", 1, None, None);
        assert_eq!(
            resync_server_notify_request([&new, &gone, &foo], &live(&[("foo", 2), ("gone", 2)])),
            ServerNotifyBatch {
                request: Some(ServerNotifyRequest {
                    servers: vec![
                        notify("foo", 1, 2, 0, UNBOUNDED),
                        notify("gone", 3, 0, 0, 0)
                    ],
                    is_first_sync: true,
                }),
                failures: vec![],
                without_workload: vec!["new".into()],
            }
        );
    }

    /// Vector 29 and the plain TryFrom.
    #[test]
    fn try_from() {
        assert_eq!(
            server_notify(&server("foo", 1, None, None)),
            Ok(notify("foo", 1, 1, 0, UNBOUNDED))
        );
    }
}
