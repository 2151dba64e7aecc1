//! P3: time until N runtimes are connected, and memory at that point.
//! N simulators start first (not timed); then all N runtimes go into the
//! registry at once and the clock runs until the pool reports every
//! namespace Ready (all five upstream streams open: the state behind the
//! `switchyard_scheduler_connected` gauge). RSS is this whole process,
//! simulators included, so the delta (after minus before the registry
//! change) is what the connections cost on both ends.

use std::time::{Duration, Instant};

use switchyard::simulator::SimulatorFleet;

use crate::harness::{self, Scale, mib};
use crate::table::{Row, verdict};

/// Targets at 1,000 runtimes.
const TARGET_SECONDS: f64 = 5.0;
const TARGET_MIB: f64 = 100.0;
/// Sockets per runtime: the simulator's listener, and both ends of the
/// pool's connection; plus slack for everything else.
const FDS_PER_RUNTIME: u64 = 3;
const FD_SLACK: u64 = 256;

pub async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let mut runtimes = scale.p3_runtimes;
    let mut note = String::new();
    if let Some(soft) = harness::open_files_soft() {
        let fit = (soft.saturating_sub(FD_SLACK) / FDS_PER_RUNTIME) as usize;
        if fit < runtimes {
            note = format!("open-file limit {soft} fits only {fit} runtimes (raise `ulimit -n`); ");
            runtimes = fit;
        }
    }
    let template = harness::simulator_config("p3");
    let fleet = SimulatorFleet::start(template, runtimes, "p3-").await?;
    let app = harness::gateway_app().await?;
    let specs: Vec<_> = fleet.handles().iter().map(harness::runtime).collect();
    // Let the simulators' start-up allocations settle before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = harness::rss_bytes().unwrap_or(0);

    let start = Instant::now();
    app.registry.reset(specs);
    harness::wait_connected(&app.pool, runtimes, Duration::from_secs(120)).await?;
    let took = start.elapsed();
    let after = harness::rss_bytes().unwrap_or(0);
    let delta = after.saturating_sub(before);

    app.shutdown().await?;
    fleet.shutdown().await?;

    note.push_str(&format!("{runtimes} runtimes"));
    if runtimes < 1_000 {
        note.push_str(" (fewer than the 1,000 the targets are for)");
    }
    let secs = took.as_secs_f64();
    let after_mib = after as f64 / 1024.0 / 1024.0;
    Ok(vec![
        Row {
            figure: "P3 time to connect".into(),
            measured: format!("{secs:.2} s"),
            baseline: String::new(),
            ratio: format!("{:.2} ms/runtime", secs * 1e3 / runtimes as f64),
            target: format!("< {TARGET_SECONDS:.0} s"),
            verdict: verdict(secs < TARGET_SECONDS),
            note: note.clone(),
        },
        Row {
            figure: "P3 RSS when connected".into(),
            measured: format!("{} (+{})", mib(after), mib(delta)),
            baseline: format!("before {}", mib(before)),
            ratio: format!("{:.1} KiB/runtime", delta as f64 / 1024.0 / runtimes as f64),
            target: format!("< {TARGET_MIB:.0} MiB"),
            verdict: verdict(after_mib < TARGET_MIB),
            note: format!(
                "{note}; whole process, simulators included (they are in-process); the delta is both ends of the connections"
            ),
        },
    ])
}
