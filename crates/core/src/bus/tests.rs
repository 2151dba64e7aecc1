//! Behaviour of the bus as subscribers see it.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use switchyard_proto::scheduler::{
    ModelStatus, ModelStatusResponse, ModelVersionStatus, model_status::ModelState,
};

fn model(ns: &str, name: &str, state: ModelState, available: u32) -> StatusEvent {
    StatusEvent::new(
        Arc::from(ns),
        StatusPayload::Model(ModelStatusResponse {
            model_name: name.into(),
            versions: vec![ModelVersionStatus {
                version: 1,
                state: Some(ModelStatus {
                    state: state as i32,
                    available_replicas: available,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
    )
}

fn all_models() -> Filter {
    Filter {
        kind: StatusKind::Model,
        namespace: None,
    }
}

fn summary(e: &StatusEvent) -> String {
    match &*e.payload {
        StatusPayload::Model(m) => {
            let s = m.versions[0].state.as_ref().expect("state");
            format!(
                "{}/{} {:?} {}",
                e.namespace,
                m.model_name,
                s.state(),
                s.available_replicas
            )
        }
        other => format!("{other:?}"),
    }
}

async fn next(sub: &mut Subscription) -> String {
    let event = tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("an event within 5 s")
        .expect("bus open");
    summary(&event)
}

#[tokio::test(start_paused = true)]
async fn snapshot_first_then_live_updates() {
    let bus = StatusBus::new(16);
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 1));
    bus.publish(model("b", "m2", ModelState::ModelProgressing, 0));
    let mut sub = bus.subscribe(all_models());
    assert_eq!(next(&mut sub).await, "a/m1 ModelAvailable 1");
    assert_eq!(next(&mut sub).await, "b/m2 ModelProgressing 0");
    bus.publish(model("b", "m2", ModelState::ModelAvailable, 2));
    assert_eq!(next(&mut sub).await, "b/m2 ModelAvailable 2");
}

#[tokio::test(start_paused = true)]
async fn namespace_filter_only_sees_its_namespace() {
    let bus = StatusBus::new(16);
    let mut sub = bus.subscribe(Filter {
        kind: StatusKind::Model,
        namespace: Some(Arc::from("b")),
    });
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 1));
    bus.publish(model("b", "m1", ModelState::ModelAvailable, 3));
    assert_eq!(next(&mut sub).await, "b/m1 ModelAvailable 3");
    assert_eq!(sub.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn terminated_objects_leave_the_snapshot_but_reach_live_subscribers() {
    let bus = StatusBus::new(16);
    let mut live = bus.subscribe(all_models());
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 1));
    bus.publish(model("a", "m1", ModelState::ModelTerminated, 0));
    assert_eq!(next(&mut live).await, "a/m1 ModelTerminated 0");
    assert!(bus.snapshot(&all_models()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stalled_subscriber_neither_blocks_others_nor_grows() {
    let bus = StatusBus::new(8);
    let stalled = bus.subscribe(all_models());
    let mut reader = bus.subscribe(all_models());
    for i in 0..10_000u32 {
        bus.publish(model(
            "a",
            &format!("m{}", i % 4),
            ModelState::ModelAvailable,
            i,
        ));
        if i % 4 == 3 {
            // The reader keeps up; the stalled subscriber never reads.
            for _ in 0..4 {
                next(&mut reader).await;
            }
        }
    }
    assert_eq!(
        stalled.pending(),
        4,
        "conflated to one pending event per object"
    );
    assert_eq!(reader.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn overflow_resynchronises_to_the_latest_state() {
    let bus = StatusBus::new(2);
    let mut sub = bus.subscribe(all_models());
    for i in 0..5 {
        bus.publish(model("a", &format!("m{i}"), ModelState::ModelAvailable, i));
    }
    // m0, m1 were queued, m2 overflowed (queue cleared, lagged), m3 and m4
    // queued again; after the lag the reader re-reads every object.
    let mut seen = Vec::new();
    while sub.pending() > 0 || seen.len() < 5 {
        seen.push(next(&mut sub).await);
        if seen.len() > 20 {
            break;
        }
    }
    for i in 0..5 {
        assert!(
            seen.contains(&format!("a/m{i} ModelAvailable {i}")),
            "m{i} missing from {seen:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn purge_forgets_a_namespace() {
    let bus = StatusBus::new(16);
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 1));
    bus.publish(model("b", "m1", ModelState::ModelAvailable, 1));
    bus.purge_namespace("a");
    let snap: Vec<String> = bus.snapshot(&all_models()).iter().map(summary).collect();
    assert_eq!(snap, vec!["b/m1 ModelAvailable 1"]);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_subscription_unsubscribes_and_close_ends_streams() {
    let bus = StatusBus::new(16);
    let sub = bus.subscribe(all_models());
    let mut other = bus.subscribe(all_models());
    assert_eq!(bus.subscriber_count(), 2);
    drop(sub);
    assert_eq!(bus.subscriber_count(), 1);
    bus.close();
    let end = tokio::time::timeout(Duration::from_secs(5), other.recv()).await;
    assert_eq!(end.expect("recv returns once closed"), None);
}

#[tokio::test(start_paused = true)]
async fn pending_counts_queued_keys_across_subscribers() {
    let bus = StatusBus::new(4);
    bus.publish(model("a", "m0", ModelState::ModelAvailable, 1));
    let mut first = bus.subscribe(all_models());
    let second = bus.subscribe(all_models());
    assert_eq!(bus.pending(), 2, "each snapshot queues m0");
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 1));
    bus.publish(model("a", "m1", ModelState::ModelAvailable, 2));
    assert_eq!(
        bus.pending(),
        4,
        "m1 queued once per subscriber, then conflated"
    );
    next(&mut first).await;
    assert_eq!(bus.pending(), 3);
    drop(second);
    assert_eq!(bus.pending(), 1, "a dropped subscriber's queue is released");
    for i in 2..10 {
        bus.publish(model("a", &format!("m{i}"), ModelState::ModelAvailable, 1));
    }
    assert!(
        bus.pending() <= 4,
        "bounded by capacity, got {}",
        bus.pending()
    );
}

#[tokio::test(start_paused = true)]
async fn unlisted_objects_are_gone_for_existing_and_new_subscribers() {
    let bus = StatusBus::new(16);
    for (ns, name) in [("a", "m1"), ("a", "m2"), ("b", "m1")] {
        bus.publish(model(ns, name, ModelState::ModelAvailable, 1));
    }
    let mut existing = bus.subscribe(all_models());
    for _ in 0..3 {
        next(&mut existing).await;
    }
    let listed: std::collections::HashSet<String> = ["m2".to_owned()].into();
    assert_eq!(bus.retain_listed("a", StatusKind::Model, &listed), 1);
    assert_eq!(bus.retain_listed("a", StatusKind::Pipeline, &listed), 0);

    assert_eq!(next(&mut existing).await, "a/m1 ModelTerminated 0");
    assert_eq!(existing.pending(), 0, "only the unlisted object changed");
    let snapshot: Vec<String> = bus.snapshot(&all_models()).iter().map(summary).collect();
    assert_eq!(
        snapshot,
        vec!["a/m2 ModelAvailable 1", "b/m1 ModelAvailable 1"],
        "a new subscriber sees what the scheduler lists, and other namespaces untouched"
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_published_in_order_under_one_lock() {
    let bus = StatusBus::new(16);
    let mut sub = bus.subscribe(all_models());
    bus.publish_batch([
        model("a", "m1", ModelState::ModelProgressing, 0),
        model("a", "m2", ModelState::ModelAvailable, 1),
        model("a", "m1", ModelState::ModelAvailable, 2),
    ]);
    assert_eq!(next(&mut sub).await, "a/m1 ModelAvailable 2");
    assert_eq!(next(&mut sub).await, "a/m2 ModelAvailable 1");
    assert_eq!(bus.pending(), 0);
    bus.publish_batch([model("a", "m1", ModelState::ModelTerminated, 0)]);
    assert_eq!(next(&mut sub).await, "a/m1 ModelTerminated 0");
    assert_eq!(bus.snapshot(&all_models()).len(), 1, "a final state leaves");
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_past_its_byte_budget_holds_nothing_and_resyncs() {
    let small = model("a", "m0", ModelState::ModelAvailable, 0);
    let bus = StatusBus::with_budget(1024, 4 * entry_bytes(&small));
    let mut stalled = bus.subscribe(all_models());
    let big = |i: u32| {
        let name = format!("m{i}-{}", "x".repeat(64 * 1024));
        model("a", &name, ModelState::ModelAvailable, i)
    };
    for i in 0..100 {
        bus.publish(big(i));
    }
    assert!(
        stalled.pending() <= 1,
        "{} keys held past the budget",
        stalled.pending()
    );
    // Reading again resynchronises: every object, at its latest state.
    let mut seen = 0;
    while stalled.pending() > 0 || seen == 0 {
        next(&mut stalled).await;
        seen += 1;
        assert!(seen <= 200, "resync does not end");
    }
    assert_eq!(bus.snapshot(&all_models()).len(), 100);
}
