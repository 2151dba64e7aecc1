//! The guard against two operators: while Seldon's own operator is active
//! on the cluster, switchyard's controllers, status writer and resync stay
//! idle (both would reconcile the same objects, hold the same finalizers
//! and write their own condition reasons, so statuses would flip). The
//! gateway keeps serving. See `docs/seldon-compat.md#two-operators`.
//!
//! Seldon's operator is active when its leader Lease (`e98130ae.seldon.io`,
//! in whatever namespace it runs) was renewed within its lease duration
//! plus a margin; a cluster without that Lease (Seldon's operator run
//! without leader election) counts it active while a Deployment labelled
//! `control-plane=v2-controller-manager` (Seldon's charts) has ready
//! replicas. The guard polls both, publishes its verdict on a `watch`,
//! and [`gate`] folds it into the leadership every writer follows.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::ListParams;
use kube::runtime::events::EventType;
use kube::{Api, Client, Resource, ResourceExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use switchyard_core::metrics as m;
use switchyard_tasks::TaskGroup;

use crate::writer::ApiWriter;

/// The name of the Lease Seldon's operator elects its leader with.
pub const SELDON_LEASE_NAME: &str = "e98130ae.seldon.io";
/// The label selector of Seldon's operator Deployment (its Helm charts).
pub const SELDON_DEPLOYMENT_SELECTOR: &str = "control-plane=v2-controller-manager";
/// How often the guard looks again.
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);
/// Added to the Lease's own duration before it counts as stale: a renewal
/// a little late is still a live operator.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Seldon's lease duration when its Lease does not say (controller-runtime's
/// default).
const SELDON_LEASE_DEFAULT: Duration = Duration::from_secs(15);

/// What was found of Seldon's operator.
#[derive(Clone, Debug, PartialEq)]
pub enum SeldonOperator {
    /// Not running (or its Lease is stale).
    Absent,
    /// Running: why we think so, and the object that says it (its Lease
    /// or Deployment; the Event is recorded about it).
    Active {
        reason: String,
        object: Option<Box<(&'static str, ObjectReference)>>,
    },
}

impl SeldonOperator {
    pub fn is_active(&self) -> bool {
        matches!(self, SeldonOperator::Active { .. })
    }

    fn active(reason: String, kind: &'static str, object: ObjectReference) -> Self {
        SeldonOperator::Active {
            reason,
            object: Some(Box::new((kind, object))),
        }
    }
}

/// Event reason for Seldon's operator found active.
pub const REASON_SELDON_OPERATOR_ACTIVE: &str = "SeldonOperatorActive";

/// Looks for Seldon's operator once, with `client`'s cluster-wide reads.
pub async fn look(client: &Client) -> Result<SeldonOperator, kube::Error> {
    let leases: Api<Lease> = Api::all(client.clone());
    let by_name = ListParams::default().fields(&format!("metadata.name={SELDON_LEASE_NAME}"));
    let found = leases.list(&by_name).await?;
    if !found.items.is_empty() {
        return Ok(lease_verdict(&found.items, Timestamp::now()));
    }
    let deployments: Api<Deployment> = Api::all(client.clone());
    let labelled = ListParams::default().labels(SELDON_DEPLOYMENT_SELECTOR);
    for deployment in deployments.list(&labelled).await?.items {
        let ready = deployment
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        if ready > 0 {
            let reason = format!(
                "Deployment {}/{} ({SELDON_DEPLOYMENT_SELECTOR}) has {ready} ready replicas",
                deployment.namespace().unwrap_or_default(),
                deployment.name_any(),
            );
            return Ok(SeldonOperator::active(
                reason,
                "Deployment",
                deployment.object_ref(&()),
            ));
        }
    }
    Ok(SeldonOperator::Absent)
}

/// Active when any of Seldon's Leases was renewed within its duration
/// plus [`LEASE_MARGIN`] of `now`.
fn lease_verdict(leases: &[Lease], now: Timestamp) -> SeldonOperator {
    for lease in leases {
        let Some(spec) = &lease.spec else { continue };
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder.is_empty() {
            continue;
        }
        let Some(renewed) = spec.renew_time.as_ref().map(|t| t.0) else {
            continue;
        };
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(SELDON_LEASE_DEFAULT, Duration::from_secs);
        let age = Duration::try_from(now.duration_since(renewed)).unwrap_or(Duration::ZERO);
        if age <= duration + LEASE_MARGIN {
            let reason = format!(
                "Lease {}/{SELDON_LEASE_NAME} is held by {holder:?}, renewed {}s ago",
                lease.namespace().unwrap_or_default(),
                age.as_secs(),
            );
            return SeldonOperator::active(reason, "Lease", lease.object_ref(&()));
        }
    }
    SeldonOperator::Absent
}

/// Polls for Seldon's operator every `poll` as a task of `tasks`; the
/// watch starts at "active" (nothing is written before the first look)
/// and holds the latest verdict. A failed look keeps the last verdict.
/// `writer` follows this replica's own leadership (not the gated one): the
/// leader records an Event about Seldon's Lease or Deployment when it
/// finds the operator active.
pub fn spawn(
    writer: ApiWriter,
    poll: Duration,
    tasks: &TaskGroup,
) -> watch::Receiver<SeldonOperator> {
    let (tx, rx) = watch::channel(SeldonOperator::Active {
        reason: "not looked for Seldon's operator yet".into(),
        object: None,
    });
    let cancel = tasks.token();
    tasks.spawn("seldon-operator-guard", run(writer, poll, tx, cancel));
    rx
}

async fn run(
    writer: ApiWriter,
    poll: Duration,
    tx: watch::Sender<SeldonOperator>,
    cancel: CancellationToken,
) {
    let gauge = metrics::gauge!(m::SELDON_OPERATOR_ACTIVE);
    let mut forbidden_said = false;
    loop {
        let looked = match look(writer.client()).await {
            // Allowed to read only some namespaces (an allow-list install):
            // Seldon's operator elsewhere does not manage our namespaces.
            Err(kube::Error::Api(status)) if status.code == 403 => {
                if !forbidden_said {
                    tracing::warn!(%status, "not allowed to look for Seldon's operator cluster-wide; taking it as absent");
                    forbidden_said = true;
                }
                Ok(SeldonOperator::Absent)
            }
            other => other,
        };
        match looked {
            Ok(verdict) => {
                gauge.set(if verdict.is_active() { 1.0 } else { 0.0 });
                if *tx.borrow() != verdict {
                    announce(&writer, &verdict).await;
                    tx.send_replace(verdict);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not look for Seldon's operator; keeping the last verdict")
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// Says what the guard found: a log line, and an Event from the leader.
async fn announce(writer: &ApiWriter, verdict: &SeldonOperator) {
    match verdict {
        SeldonOperator::Active { reason, object } => {
            tracing::warn!(
                %reason,
                "Seldon's operator is active: switchyard's controllers, status writer and resync wait until it is gone (scaled to zero, or its Lease stale); the gateway keeps serving"
            );
            if let Some(found) = object {
                let (kind, reference) = &**found;
                let note = format!(
                    "{reason}: switchyard's controllers wait until Seldon's operator is scaled to zero or its Lease is stale"
                );
                writer
                    .event_about(
                        kind,
                        reference.clone(),
                        EventType::Warning,
                        REASON_SELDON_OPERATOR_ACTIVE,
                        note,
                        "Wait",
                    )
                    .await;
            }
        }
        SeldonOperator::Absent => {
            tracing::info!("Seldon's operator is not active: switchyard's controllers may run")
        }
    }
}

/// The leadership the writers follow: this replica leads **and** Seldon's
/// operator is absent. When either input ends, it says false and ends too
/// (as a gone elector is no leadership).
pub fn gate(
    mut leadership: watch::Receiver<bool>,
    mut seldon: watch::Receiver<SeldonOperator>,
    tasks: &TaskGroup,
) -> watch::Receiver<bool> {
    let both = |l: &watch::Receiver<bool>, s: &watch::Receiver<SeldonOperator>| {
        *l.borrow() && !s.borrow().is_active()
    };
    let (tx, rx) = watch::channel(both(&leadership, &seldon));
    tasks.spawn("leadership-gate", async move {
        loop {
            let open = tokio::select! {
                changed = leadership.changed() => changed.is_ok(),
                changed = seldon.changed() => changed.is_ok(),
            };
            if !open {
                tx.send_replace(false);
                return;
            }
            tx.send_if_modified(|held| {
                let now = both(&leadership, &seldon);
                let changed = *held != now;
                *held = now;
                changed
            });
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    use super::*;

    fn lease(holder: &str, renewed_secs_ago: i64, duration: i32) -> Lease {
        let now = Timestamp::now();
        Lease {
            metadata: ObjectMeta {
                name: Some(SELDON_LEASE_NAME.into()),
                namespace: Some("seldon-mesh".into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(duration),
                renew_time: Some(MicroTime(
                    now - k8s_openapi::jiff::SignedDuration::from_secs(renewed_secs_ago),
                )),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_recently_renewed_lease_is_an_active_operator() {
        let verdict = lease_verdict(&[lease("seldon-manager-1", 3, 15)], Timestamp::now());
        assert!(verdict.is_active(), "{verdict:?}");
    }

    #[test]
    fn a_stale_or_released_lease_is_no_operator() {
        assert_eq!(
            lease_verdict(&[lease("seldon-manager-1", 60, 15)], Timestamp::now()),
            SeldonOperator::Absent
        );
        assert_eq!(
            lease_verdict(&[lease("", 1, 15)], Timestamp::now()),
            SeldonOperator::Absent
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_gate_leads_only_without_seldon() {
        let tasks = TaskGroup::new("test");
        let (lead_tx, lead_rx) = watch::channel(true);
        let (seldon_tx, seldon_rx) = watch::channel(SeldonOperator::Active {
            reason: "lease".into(),
            object: None,
        });
        let mut gated = gate(lead_rx, seldon_rx, &tasks);
        assert!(!*gated.borrow());
        seldon_tx.send_replace(SeldonOperator::Absent);
        gated.changed().await.unwrap();
        assert!(*gated.borrow());
        lead_tx.send_replace(false);
        gated.changed().await.unwrap();
        assert!(!*gated.borrow());
        lead_tx.send_replace(true);
        seldon_tx.send_replace(SeldonOperator::Absent);
        gated.changed().await.unwrap();
        assert!(*gated.borrow());
        drop(lead_tx);
        let _ = gated.changed().await;
        assert!(!*gated.borrow(), "a gone elector is no leadership");
        assert!(gated.changed().await.is_err(), "ends with the leadership");
    }
}
