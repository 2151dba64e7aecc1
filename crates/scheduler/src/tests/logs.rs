//! An unreachable scheduler logs one warning per backoff step for its
//! namespace (not one per stream), naming the attempt, the next delay and
//! the root cause of the failure.

use std::io::Write;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

use super::pool::{Fixture, runtime};
use switchyard_testkit::until;

/// Log lines written by the test's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn warnings(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock())
            .lines()
            .filter(|l| l.contains("WARN"))
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn an_unreachable_scheduler_warns_once_per_backoff_step_with_its_root_cause() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let fx = Fixture::new();
    fx.registry.apply(runtime("dead", closed));

    // Steps of 1 s then 2 s: the third warning comes after about 3 s.
    let warnings = until("three backoff steps", async || {
        let warnings = captured.warnings();
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
