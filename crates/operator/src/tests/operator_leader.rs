//! Leader election on a Lease, against the Kubernetes API double over
//! real HTTP. Short durations (real time): the double is a real server.

use std::time::Duration;

use crate::leader::{self, LeaderElectionConfig};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle, FailWith, WriteScope};
use switchyard_tasks::TaskGroup;
use tokio::sync::watch;

const LEASE: Duration = Duration::from_secs(2);
const RENEW_DEADLINE: Duration = Duration::from_millis(1500);
const RETRY: Duration = Duration::from_millis(200);

struct Elector {
    leading: watch::Receiver<bool>,
    tasks: TaskGroup,
}

fn elector(double: &ApiDoubleHandle, identity: &str) -> Elector {
    let client = double.client_with_user_agent(identity).unwrap();
    let config = LeaderElectionConfig {
        lease_name: "switchyard-leader".into(),
        namespace: "seldon-system".into(),
        identity: identity.into(),
        lease_duration: LEASE,
        renew_deadline: RENEW_DEADLINE,
        retry_period: RETRY,
    };
    let tasks = TaskGroup::new(identity.to_owned());
    let leading = leader::spawn(client, config, &tasks).unwrap();
    Elector { leading, tasks }
}

/// Samples both watches every 10 ms until `cond` holds (or `within`
/// passes), failing if both ever claim to lead at once.
async fn watch_pair(
    a: &watch::Receiver<bool>,
    b: &watch::Receiver<bool>,
    within: Duration,
    cond: impl Fn(bool, bool) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (la, lb) = (*a.borrow(), *b.borrow());
        assert!(!(la && lb), "two leaders at once");
        if cond(la, lb) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn one_leader(double: &ApiDoubleHandle) -> (Elector, Elector) {
    let a = elector(double, "replica-a");
    let b = elector(double, "replica-b");
    assert!(
        watch_pair(&a.leading, &b.leading, Duration::from_secs(3), |x, y| x
            || y)
        .await,
        "nobody became the leader"
    );
    // Stays one leader for a few renewals.
    assert!(!watch_pair(&a.leading, &b.leading, RETRY * 5, |x, y| x == y).await);
    if *a.leading.borrow() { (a, b) } else { (b, a) }
}

async fn lease(double: &ApiDoubleHandle) -> Lease {
    let api: Api<Lease> = Api::namespaced(double.client().unwrap(), "seldon-system");
    api.get("switchyard-leader").await.unwrap()
}

#[tokio::test]
async fn exactly_one_of_two_leads_and_only_it_writes_the_lease() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (leader, standby) = one_leader(&double).await;
    let spec = lease(&double).await.spec.unwrap();
    let holder = spec.holder_identity.unwrap();
    assert_eq!(spec.lease_duration_seconds, Some(2));
    assert!(spec.renew_time.is_some() && spec.acquire_time.is_some());
    double.reset_stats();
    tokio::time::sleep(RETRY * 4).await;
    let stats = double.stats();
    assert!(stats.writes_by(&holder) >= 2, "the leader renews");
    let other = if holder == "replica-a" {
        "replica-b"
    } else {
        "replica-a"
    };
    assert_eq!(stats.writes_by(other), 0, "the standby only reads");
    drop((leader, standby));
}

#[tokio::test]
async fn the_standby_takes_over_when_the_leader_dies() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (leader, standby) = one_leader(&double).await;
    let transitions = lease(&double).await.spec.unwrap().lease_transitions;
    // A crash: the task is aborted, nothing releases the lease.
    let mut leading = leader.leading.clone();
    drop(leader.tasks);
    let _ = leading.wait_for(|l| !*l).await;
    assert!(
        !*leader.leading.borrow(),
        "a killed elector publishes false"
    );
    let started = tokio::time::Instant::now();
    assert!(
        watch_pair(
            &leader.leading,
            &standby.leading,
            LEASE + RETRY * 3,
            |_, b| b
        )
        .await,
        "the standby did not take over"
    );
    assert!(
        started.elapsed() >= RENEW_DEADLINE,
        "took over before the lease expired"
    );
    let spec = lease(&double).await.spec.unwrap();
    assert_eq!(
        spec.lease_transitions,
        transitions.map(|t| t + 1),
        "a transition is counted"
    );
}

#[tokio::test]
async fn a_graceful_release_hands_over_at_once() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (leader, standby) = one_leader(&double).await;
    assert_eq!(leader.tasks.shutdown(RETRY * 4).await, Ok(()));
    let started = tokio::time::Instant::now();
    let mut standby_rx = standby.leading.clone();
    tokio::time::timeout(RETRY * 4, standby_rx.wait_for(|l| *l))
        .await
        .expect("the standby leads soon after the release")
        .unwrap();
    assert!(started.elapsed() < LEASE, "no waiting for expiry");
    assert!(!*leader.leading.borrow());
}

#[tokio::test]
async fn a_conflict_on_renew_steps_the_leader_down() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (leader, standby) = one_leader(&double).await;
    let mut rx = leader.leading.clone();
    double.fail_next_writes(1, FailWith::Conflict, WriteScope::resource("leases"));
    tokio::time::timeout(RETRY * 4, rx.wait_for(|l| !*l))
        .await
        .expect("the leader steps down on 409")
        .unwrap();
    // Whoever leads next, never both.
    assert!(watch_pair(&leader.leading, &standby.leading, LEASE * 2, |a, b| a || b).await);
}

#[tokio::test]
async fn an_unreachable_api_server_steps_the_leader_down_before_the_lease_ends() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let leader = elector(&double, "replica-a");
    let mut rx = leader.leading.clone();
    tokio::time::timeout(Duration::from_secs(3), rx.wait_for(|l| *l))
        .await
        .unwrap()
        .unwrap();
    double.fail_next_writes(1000, FailWith::InternalError, WriteScope::Any);
    let failing = tokio::time::Instant::now();
    tokio::time::timeout(LEASE, rx.wait_for(|l| !*l))
        .await
        .expect("stepped down within the lease")
        .unwrap();
    assert!(failing.elapsed() <= RENEW_DEADLINE + RETRY);
}
