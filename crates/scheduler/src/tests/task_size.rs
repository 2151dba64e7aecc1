//! What an idle runtime's long-lived tasks hold: a task keeps its whole
//! future, sized for its largest state, for as long as the runtime lives.
//! A probe or a listing call (a tonic unary call, several KiB of state)
//! written inline would be paid by every runtime all the time; boxed, only
//! while it runs.

use std::mem::size_of_val;

use super::pool::{Fixture, runtime};
use crate::subscriptions::{Upstream, follow};
use switchyard_testkit::until;

/// Bytes a per-runtime task's future may take.
const MAX_TASK_BYTES: usize = 1280;

#[tokio::test]
async fn an_idle_runtime_s_tasks_stay_small() {
    let fx = Fixture::new();
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    fx.registry
        .apply(runtime("small", nowhere.local_addr().unwrap()));
    let entry = until("the entry", async || fx.pool.get("small").ok()).await;
    let liveness = crate::liveness::watch_over(entry.clone(), entry.liveness.clone());
    let sizes = [
        ("liveness", size_of_val(&liveness)),
        (
            "follow",
            size_of_val(&follow(
                entry.clone(),
                Upstream::ALL[0],
                fx.pool.inner.sinks.clone(),
            )),
        ),
    ];
    for (task, bytes) in sizes {
        eprintln!("{task}: {bytes} bytes");
        assert!(bytes <= MAX_TASK_BYTES, "{task}'s future is {bytes} bytes");
    }
}
