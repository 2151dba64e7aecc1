//! `switchyard demo` serves SIGUSR1 (restart the simulated schedulers) and
//! SIGUSR2 (drop their streams) as `switchyard simulate` does, instead of
//! dying of them: the pool sees the restart (reconnects counted) and the
//! demo keeps serving.

use std::time::Duration;

use crate::demo_process::DemoProcess;
use switchyard_core::metrics;
use switchyard_testkit::until;

/// Sum over namespaces of `switchyard_scheduler_reconnects_total`.
fn reconnects(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(metrics::SCHEDULER_RECONNECTS_TOTAL))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Namespaces whose `switchyard_scheduler_connected` is 1.
fn connected(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(&format!("{}{{", metrics::SCHEDULER_CONNECTED)))
        .filter(|l| l.ends_with(" 1"))
        .count()
}

#[tokio::test]
async fn demo_survives_sigusr1_and_sigusr2() {
    let mut demo = DemoProcess::start(Duration::from_secs(120)).await;
    let before = until("every simulated namespace connected", async || {
        let text = demo.scrape().await;
        (connected(&text) == 3).then(|| reconnects(&text))
    })
    .await;

    demo.signal("USR1").await;
    until("the restart seen by the pool", async || {
        let text = demo.scrape().await;
        (reconnects(&text) > before).then_some(())
    })
    .await;
    demo.signal("USR2").await;
    until("reconnected after both signals", async || {
        let text = demo.scrape().await;
        (connected(&text) == 3).then_some(())
    })
    .await;
    assert!(!demo.exited(), "the demo died of a signal");
}
