//! P3: time until N runtimes are connected, and memory at that point.
//! N simulators start first in a child process (`switchyard simulate
//! --namespaces N`, not timed); then all N runtimes go into the registry at
//! once and the clock runs until the pool reports every namespace Ready
//! (all five upstream streams open: the state behind the
//! `switchyard_scheduler_connected` gauge). RSS is this process, which runs
//! only switchyard's App (and the benchmark's small driver), so the delta
//! (after minus before the registry change) is what switchyard's side of
//! the connections costs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use switchyard_core::registry::RuntimeSpec;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{self, Scale, mib};
use crate::table::{Row, verdict};

/// Targets at 10,000 runtimes (issue #12): connected within 10 s, at most
/// 50 KiB of switchyard's memory per runtime.
const TARGET_SECONDS: f64 = 10.0;
const TARGET_KIB_PER_RUNTIME: f64 = 50.0;
/// The scale the targets are stated for.
const TARGET_RUNTIMES: usize = 10_000;
/// Sockets per runtime in this process (the pool's one connection), plus
/// slack for everything else. A simulator process needs two per runtime
/// (listener and accepted connection) under the same limit, so the
/// simulators are spread over as many child processes as that takes.
const FDS_PER_RUNTIME: u64 = 1;
const FDS_PER_SIMULATED_RUNTIME: u64 = 2;
const FD_SLACK: u64 = 256;

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let mut runtimes = scale.p3_runtimes;
    let mut note = String::new();
    if let Some(raised) = harness::raise_open_files_limit() {
        note = format!("open-file limit raised to {raised}; ");
    }
    if let Some(soft) = harness::open_files_soft() {
        let fit = (soft.saturating_sub(FD_SLACK) / FDS_PER_RUNTIME) as usize;
        if fit < runtimes {
            note.push_str(&format!(
                "open-file limit {soft} (the hard limit) fits only {fit} runtimes; "
            ));
            runtimes = fit;
        }
    }
    let per_child = harness::open_files_soft()
        .map_or(runtimes, |soft| {
            (soft.saturating_sub(FD_SLACK) / FDS_PER_SIMULATED_RUNTIME) as usize
        })
        .max(1);
    let mut children = Vec::new();
    let mut specs = Vec::with_capacity(runtimes);
    for (index, first) in (0..runtimes).step_by(per_child).enumerate() {
        let count = per_child.min(runtimes - first);
        let (child, mut some) = simulators(&format!("p3-{index}-"), count).await?;
        children.push(child);
        specs.append(&mut some);
    }
    let app = harness::gateway_app().await?;
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
    for mut child in children {
        child.kill().await.ok();
    }

    note.push_str(&format!("{runtimes} runtimes"));
    if runtimes < TARGET_RUNTIMES {
        note.push_str(&format!(
            " (fewer than the {TARGET_RUNTIMES} the targets are for)"
        ));
    }
    let secs = took.as_secs_f64();
    let kib_per_runtime = delta as f64 / 1024.0 / runtimes as f64;
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
            ratio: format!("{kib_per_runtime:.1} KiB/runtime"),
            target: format!("< {TARGET_KIB_PER_RUNTIME:.0} KiB/runtime"),
            verdict: verdict(kib_per_runtime < TARGET_KIB_PER_RUNTIME),
            note: format!(
                "{note}; switchyard's process only (the simulators run in a child process)"
            ),
        },
    ])
}

/// Starts `count` simulated schedulers (namespaces `{prefix}N`) in one child process on free
/// loopback ports, and reads their addresses from its log.
async fn simulators(prefix: &str, count: usize) -> anyhow::Result<(Child, Vec<RuntimeSpec>)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--listen", "127.0.0.1:0", "--base-port", "0"])
        .args(["--namespace-prefix", prefix, "--sync-timeout-ms", "0"])
        .args(["--namespaces", &count.to_string()])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting `switchyard simulate`")?;
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut specs = Vec::with_capacity(count);
    let read = async {
        while specs.len() < count {
            let Some(line) = lines.next_line().await? else {
                anyhow::bail!(
                    "`switchyard simulate` exited after {} of {count} schedulers",
                    specs.len()
                );
            };
            if !line.contains(" serving ") {
                continue;
            }
            let field = |name: &str| {
                let start = line.find(&format!("{name}="))? + name.len() + 1;
                Some(
                    line[start..]
                        .split_whitespace()
                        .next()?
                        .trim_matches('"')
                        .to_owned(),
                )
            };
            if let (Some(namespace), Some(address)) = (field("namespace"), field("addr")) {
                specs.push(RuntimeSpec {
                    namespace,
                    address,
                    tls: None,
                });
            }
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .context("`switchyard simulate` did not start in time")??;
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, specs))
}
