//! Micro-benchmarks of the status bus and its conflating queue:
//! `cargo bench --bench bus`.
//!
//! * `queue/*`: one subscriber's [`ConflatingQueue`] on its own: offer of
//!   new keys, offer that conflates onto a pending key, drain.
//! * `bus/publish/{1,16} subscribers`: [`StatusBus::publish`] of one model
//!   status (the upstream reader's cost per message), with every subscriber
//!   draining as it goes.
//! * `bus/publish/slow subscriber`: the same with 16 subscribers of which
//!   one never reads: its queue conflates (1,000 objects), so publishing
//!   must cost about what it costs with readers.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use switchyard_core::bus::{
    ConflatingQueue, Filter, StatusBus, StatusEvent, StatusKind, StatusPayload,
};
use switchyard_proto::scheduler::ModelStatusResponse;

/// Objects the events are spread over.
const OBJECTS: usize = 1_000;

fn model_event(namespace: &Arc<str>, i: usize) -> StatusEvent {
    StatusEvent::new(
        namespace.clone(),
        StatusPayload::Model(ModelStatusResponse {
            model_name: format!("model-{i}"),
            ..Default::default()
        }),
    )
}

fn events() -> Vec<StatusEvent> {
    let namespace: Arc<str> = Arc::from("bench");
    (0..OBJECTS).map(|i| model_event(&namespace, i)).collect()
}

fn queue(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("queue");
    group.bench_function("offer new keys (1000)", |b| {
        b.iter_batched_ref(
            || ConflatingQueue::new(2 * OBJECTS),
            |q| {
                for e in &events {
                    black_box(q.offer(e.clone()));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("offer conflating (1000)", |b| {
        let mut q = ConflatingQueue::new(2 * OBJECTS);
        for e in &events {
            q.offer(e.clone());
        }
        b.iter(|| {
            for e in &events {
                black_box(q.offer(e.clone()));
            }
        })
    });
    group.bench_function("drain (1000)", |b| {
        b.iter_batched_ref(
            || {
                let mut q = ConflatingQueue::new(2 * OBJECTS);
                for e in &events {
                    q.offer(e.clone());
                }
                q
            },
            |q| {
                while let switchyard_core::bus::Next::Event(e) = q.pop() {
                    black_box(e);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn filter() -> Filter {
    Filter {
        kind: StatusKind::Model,
        namespace: None,
    }
}

fn bus(c: &mut Criterion) {
    let events = events();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("bus/publish");
    for (label, readers, stalled) in [
        ("1 subscriber", 1, false),
        ("16 subscribers", 16, false),
        ("slow subscriber (1 of 16)", 15, true),
    ] {
        let bus = StatusBus::default();
        let mut subscriptions: Vec<_> = (0..readers).map(|_| bus.subscribe(filter())).collect();
        let _stalled = stalled.then(|| bus.subscribe(filter()));
        let mut next = 0usize;
        group.bench_function(label, |b| {
            b.iter(|| {
                bus.publish(events[next % OBJECTS].clone());
                next += 1;
                // The readers keep up: each takes what was just published.
                runtime.block_on(async {
                    for s in &mut subscriptions {
                        black_box(s.recv().await);
                    }
                });
            })
        });
    }
    group.finish();
}

criterion_group!(benches, queue, bus);
criterion_main!(benches);
