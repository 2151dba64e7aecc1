//! An unreachable scheduler logs one warning per backoff step for its
//! namespace (not one per stream), naming the attempt, the next delay and
//! the root cause of the failure.

use super::pool::{Fixture, runtime};
use switchyard_testkit::{CapturedLogs, until};

/// The warnings among `logs`' lines.
fn warnings(logs: &CapturedLogs) -> Vec<String> {
    logs.lines()
        .into_iter()
        .filter(|l| l.contains("WARN"))
        .collect()
}

#[tokio::test]
async fn an_unreachable_scheduler_warns_once_per_backoff_step_with_its_root_cause() {
    let logs = CapturedLogs::start(tracing::Level::WARN);
    // A port released after binding could be taken by another test's
    // listener meanwhile; this one refuses for the whole test.
    let refusing = switchyard_testkit::RefusingPort::new().unwrap();
    let closed = refusing.addr();
    let fx = Fixture::new();
    fx.registry.apply(runtime("dead", closed));

    // Steps of 1 s then 2 s: the third warning comes after about 3 s.
    let warnings = until("three backoff steps", async || {
        let warnings = warnings(&logs);
        (warnings.len() >= 3).then_some(warnings)
    })
    .await;
    for (step, line) in warnings.iter().take(3).enumerate() {
        assert!(line.contains("namespace=dead"), "{line}");
        assert!(line.contains(&format!("attempt={}", step + 1)), "{line}");
        assert!(line.contains("next_delay="), "{line}");
        assert!(
            line.contains("Connection refused"),
            "the root cause, not just a transport error: {line}"
        );
    }
    fx.stop().await;
}
