//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several
//! replicas exactly one writes to the API server and drives schedulers.
//!
//! In: a client, the lease's name and namespace, this replica's identity
//! and the client-go durations. Out: a `watch::Receiver<bool>` (true while
//! this replica leads; it feeds [`super::ApiWriter`]) and the gauge
//! `leader_election_master_status{name}`.
//!
//! The algorithm is client-go's, on the Lease API with optimistic
//! concurrency: a candidate takes the lease when it is free (no holder) or
//! expired, and the leader renews it every retry period; every write
//! carries the resourceVersion that was read, so of two racing candidates
//! one gets 409 and stays a candidate. Expiry is judged on this replica's
//! own clock (the time it last saw the lease record change), never on the
//! timestamps in the lease, so clock skew between nodes does not matter.
//! Fail safe: the leader steps down (publishes false) as soon as it has not
//! renewed for the renew deadline, which is shorter than the lease, so it
//! never believes it leads after another replica may have taken over. On
//! graceful shutdown the lease is released so a standby takes over at
//! once. No crate was used: `kube-lease-manager` (the one crate on kube 5)
//! relies on server-side-apply field conflicts for mutual exclusion, which
//! our API double does not model, and its step-down timing is its own.

use std::time::Duration;
use switchyard_tasks::TaskGroup;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use switchyard_core::metrics as m;

/// Default lease name.
pub const DEFAULT_LEASE_NAME: &str = "switchyard-leader";
/// How long a lease is valid after its last renewal (client-go default).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long the leader keeps trying to renew before it steps down
/// (client-go default; shorter than the lease, so it steps down first).
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// Pause between attempts to acquire or renew (client-go default).
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Everything an election needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// Name of the Lease object.
    pub lease_name: String,
    /// Namespace of the Lease (the operator's namespace).
    pub namespace: String,
    /// This replica's name in `holderIdentity`; unique per replica.
    pub identity: String,
    /// Validity of the lease after a renewal (whole seconds in the Lease).
    pub lease_duration: Duration,
    /// The leader steps down when it could not renew for this long.
    pub renew_deadline: Duration,
    /// Pause between attempts, for candidates and for the leader's renewals.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Defaults for `namespace`, with [`default_identity`].
    pub fn new(namespace: impl Into<String>) -> Self {
        LeaderElectionConfig {
            lease_name: DEFAULT_LEASE_NAME.to_owned(),
            namespace: namespace.into(),
            identity: default_identity(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }

    /// Checks the durations keep the fail-safe ordering
    /// `retry_period < renew_deadline < lease_duration`.
    pub fn validate(&self) -> Result<(), LeaderElectionError> {
        if self.lease_name.is_empty() || self.namespace.is_empty() || self.identity.is_empty() {
            return Err(LeaderElectionError::Missing);
        }
        if self.lease_duration.as_secs() < 1
            || self.lease_duration.subsec_nanos() != 0
            || self.lease_duration.as_secs() > i32::MAX as u64
        {
            return Err(LeaderElectionError::LeaseDuration(self.lease_duration));
        }
        if !(self.retry_period < self.renew_deadline && self.renew_deadline < self.lease_duration) {
            return Err(LeaderElectionError::Durations {
                lease_duration: self.lease_duration,
                renew_deadline: self.renew_deadline,
                retry_period: self.retry_period,
            });
        }
        Ok(())
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// Why an election cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LeaderElectionError {
    #[error(
        "leader election needs a lease name, a namespace (--namespace or POD_NAMESPACE) and an identity"
    )]
    Missing,
    #[error(
        "leader election: the lease duration {0:?} must be a whole number of seconds, at least 1"
    )]
    LeaseDuration(Duration),
    #[error(
        "leader election: need retry period ({retry_period:?}) < renew deadline ({renew_deadline:?}) < lease duration ({lease_duration:?})"
    )]
    Durations {
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    },
}

/// `POD_NAME` when set (unique in a Deployment), else the host name plus a
/// random suffix, so two processes on one host differ.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "switchyard".to_owned());
    format!("{host}_{}", random_suffix())
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process; mix in time and pid.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(t.as_nanos());
    }
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// Waits until `leadership` says this replica leads; `false` if it never
/// can: the elector is gone (whatever it last published, as
/// [`until_not_leading`] treats it).
pub async fn until_leading(leadership: &mut watch::Receiver<bool>) -> bool {
    leadership.wait_for(|leading| *leading).await.is_ok() && leadership.has_changed().is_ok()
}

/// Waits until this replica no longer leads. An elector that is gone
/// counts as lost (fail-safe: nothing renews the lease any more).
pub async fn until_not_leading(leadership: &mut watch::Receiver<bool>) {
    let _ = leadership.wait_for(|leading| !*leading).await;
}

/// A leadership that is always held: `--leader-elect=false` (one replica).
/// Dropping the sender ends it (see [`until_leading`]).
/// Keep the sender alive as long as the receiver is used.
pub fn always_leader() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(true)
}

/// Starts the election as a task of `tasks`; returns the leadership watch.
/// The task releases the lease and ends when the group is cancelled; a
/// group dropped (the task aborted) publishes false without releasing (the
/// lease then expires).
pub fn spawn(
    client: Client,
    config: LeaderElectionConfig,
    tasks: &TaskGroup,
) -> Result<watch::Receiver<bool>, LeaderElectionError> {
    config.validate()?;
    let (tx, rx) = watch::channel(false);
    let elector = Elector {
        api: Api::namespaced(client, &config.namespace),
        publisher: Publisher {
            tx,
            name: config.lease_name.clone(),
        },
        config,
        observed: None,
    };
    tasks.spawn("leader-election", elector.run(tasks.token()));
    Ok(rx)
}

/// Publishes leadership; on drop (task ended or aborted) publishes false.
struct Publisher {
    tx: watch::Sender<bool>,
    name: String,
}

impl Publisher {
    fn set(&self, leading: bool) {
        let changed = self
            .tx
            .send_if_modified(|v| std::mem::replace(v, leading) != leading);
        metrics::gauge!(m::LEADER_ELECTION_MASTER_STATUS, "name" => self.name.clone())
            .set(if leading { 1.0 } else { 0.0 });
        if changed {
            if leading {
                tracing::info!(lease = %self.name, "became the leader");
            } else {
                tracing::warn!(lease = %self.name, "no longer the leader");
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// What an attempt found.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// We hold the lease (acquired or renewed).
    Held,
    /// Someone else holds a valid lease, or won a race (409).
    Lost,
}

struct Elector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    publisher: Publisher,
    /// The last lease record seen (its resourceVersion) and when this
    /// replica saw it change: the base of expiry, on our own clock.
    observed: Option<(String, Instant)>,
}

impl Elector {
    async fn run(mut self, cancel: CancellationToken) {
        let retry = self.config.retry_period;
        let deadline = self.config.renew_deadline;
        // When leading: the start of the last successful renewal.
        let mut renewed: Option<Instant> = None;
        self.publisher.set(false);
        loop {
            let started = Instant::now();
            // A candidate's attempt is bounded by the renew deadline; the
            // leader's by what is left of it.
            let bound = renewed.map_or(started + deadline, |r| r + deadline);
            let outcome = tokio::select! {
                () = cancel.cancelled() => break,
                outcome = tokio::time::timeout_at(bound, self.try_acquire_or_renew()) => outcome,
            };
            match outcome {
                Ok(Ok(Attempt::Held)) => {
                    renewed = Some(started);
                    self.publisher.set(true);
                }
                Ok(Ok(Attempt::Lost)) => {
                    renewed = None;
                    self.publisher.set(false);
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.config.lease_name, %error, "could not acquire or renew the lease");
                    if renewed.is_some_and(|r| Instant::now() >= r + deadline) {
                        renewed = None;
                        self.publisher.set(false);
                    }
                }
                Err(_) => {
                    tracing::warn!(lease = %self.config.lease_name, "acquiring or renewing the lease timed out");
                    if renewed.is_some() {
                        renewed = None;
                        self.publisher.set(false);
                    }
                }
            }
            let next = Instant::now() + retry;
            match renewed {
                Some(r) => tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep_until(next) => {}
                    () = tokio::time::sleep_until(r + deadline) => {
                        renewed = None;
                        self.publisher.set(false);
                    }
                },
                None => tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep_until(next) => {}
                },
            }
        }
        let was_leading = *self.publisher.tx.borrow();
        self.publisher.set(false);
        if was_leading {
            match tokio::time::timeout(deadline, self.release()).await {
                Ok(Ok(())) => tracing::info!(lease = %self.config.lease_name, "released the lease"),
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.config.lease_name, %error, "could not release the lease; it will expire")
                }
                Err(_) => {
                    tracing::warn!(lease = %self.config.lease_name, "releasing the lease timed out; it will expire")
                }
            }
        }
    }

    fn now() -> MicroTime {
        MicroTime(Timestamp::now())
    }

    /// Reads the lease and takes or renews it if it is ours, free or
    /// expired; the write is guarded by the resourceVersion read.
    async fn try_acquire_or_renew(&mut self) -> Result<Attempt, kube::Error> {
        let me = self.config.identity.clone();
        let Some(mut lease) = self.api.get_opt(&self.config.lease_name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.lease_name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(self.config.lease_seconds()),
                    acquire_time: Some(Self::now()),
                    renew_time: Some(Self::now()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Lost),
                Err(e) => Err(e),
            };
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let now = Instant::now();
        let observed_at = match &self.observed {
            Some((v, at)) if *v == version => *at,
            _ => {
                self.observed = Some((version, now));
                now
            }
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let held_by_me = holder == me;
        // Held by us, possibly from an earlier life with the same POD_NAME:
        // renewing is safe, the record is ours.
        if !held_by_me && !holder.is_empty() {
            let valid_for = Duration::from_secs(
                u64::try_from(spec.lease_duration_seconds.unwrap_or(0).max(0)).unwrap_or(0),
            );
            if now < observed_at + valid_for {
                return Ok(Attempt::Lost);
            }
        }
        if !held_by_me {
            spec.holder_identity = Some(me);
            spec.acquire_time = Some(Self::now());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.lease_duration_seconds = Some(self.config.lease_seconds());
        spec.renew_time = Some(Self::now());
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                if let Some(v) = written.metadata.resource_version {
                    self.observed = Some((v, Instant::now()));
                }
                Ok(Attempt::Held)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Lost),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up (no holder, 1 s duration) if we still hold it.
    async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.lease_name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(Self::now());
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            // Someone changed it meanwhile: it is no longer ours to release.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(start_paused = true)]
    async fn a_gone_elector_is_no_leadership_whatever_it_last_said() {
        let (tx, mut rx) = super::always_leader();
        assert!(super::until_leading(&mut rx).await);
        drop(tx);
        assert!(!super::until_leading(&mut rx).await);
        super::until_not_leading(&mut rx).await;
    }

    use super::*;

    #[test]
    fn durations_must_keep_the_fail_safe_order() {
        let mut c = LeaderElectionConfig::new("ns");
        assert!(c.validate().is_ok());
        c.renew_deadline = c.lease_duration;
        assert!(matches!(
            c.validate(),
            Err(LeaderElectionError::Durations { .. })
        ));
        c.renew_deadline = Duration::from_secs(1);
        c.retry_period = Duration::from_secs(1);
        assert!(c.validate().is_err());
        let mut c = LeaderElectionConfig::new("ns");
        c.lease_duration = Duration::from_millis(15_500);
        assert!(matches!(
            c.validate(),
            Err(LeaderElectionError::LeaseDuration(_))
        ));
        assert!(matches!(
            LeaderElectionConfig::new("").validate(),
            Err(LeaderElectionError::Missing)
        ));
    }

    #[test]
    fn identities_differ_between_processes_on_one_host() {
        if std::env::var("POD_NAME").is_err() {
            assert_ne!(default_identity(), default_identity());
        }
    }
}
