//! What the scenarios share: the scale of a run, process memory and limits
//! read from /proc, a gateway-only App in front of simulators, clients.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use switchyard::app::{App, AppConfig};
use switchyard::config::GatewayConfig;
use switchyard_core::registry::RuntimeSpec;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_scheduler::{ConnectionState, SchedulerPool};
use switchyard_simulator::{SimulatorConfig, SimulatorHandle};
use switchyard_testkit::wait_until;
use tonic::transport::{Channel, Endpoint};

/// How big a run is. `quick` must finish well under five minutes on two
/// cores; `full` is the size the targets are stated for.
pub(crate) struct Scale {
    pub mode: &'static str,
    /// P1: measured LoadModel calls per side (after `p1_warmup` per side).
    pub p1_calls: usize,
    pub p1_warmup: usize,
    /// P2 and P5: status events per second the simulator publishes, over
    /// `models` preloaded models, measured over `window`.
    pub event_rate: f64,
    pub models: usize,
    pub window: Duration,
    /// P3: runtimes connected at once.
    pub p3_runtimes: usize,
    /// P4: Model CRs, over `p4_namespaces` namespaces.
    pub p4_models: usize,
    pub p4_namespaces: usize,
    /// P5: subscribers that keep reading, and alternating rounds.
    pub p5_readers: usize,
    pub p5_rounds: usize,
    /// P6: SeldonRuntimes (one per namespace), and Servers over them.
    pub p6_runtimes: usize,
    pub p6_servers: usize,
}

impl Scale {
    pub(crate) fn full() -> Scale {
        Scale {
            mode: "full",
            p1_calls: 5_000,
            p1_warmup: 500,
            event_rate: 20_000.0,
            models: 1_000,
            window: Duration::from_secs(5),
            p3_runtimes: 10_000,
            p4_models: 10_000,
            p4_namespaces: 100,
            p5_readers: 4,
            p5_rounds: 3,
            p6_runtimes: 100,
            p6_servers: 1_000,
        }
    }

    pub(crate) fn quick() -> Scale {
        Scale {
            mode: "quick",
            p1_calls: 1_000,
            p1_warmup: 200,
            event_rate: 20_000.0,
            models: 1_000,
            window: Duration::from_secs(2),
            p3_runtimes: 1_000,
            p4_models: 1_000,
            p4_namespaces: 20,
            p5_readers: 4,
            p5_rounds: 2,
            p6_runtimes: 20,
            p6_servers: 200,
        }
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "P1 {} calls/side; P2/P5 {} events/s over {} models, {:?} windows; P3 {} runtimes; P4 {} Models in {} namespaces; P6 {} runtimes and {} Servers",
            self.p1_calls,
            self.event_rate,
            self.models,
            self.window,
            self.p3_runtimes,
            self.p4_models,
            self.p4_namespaces,
            self.p6_runtimes,
            self.p6_servers
        )
    }
}

/// Any free port on 127.0.0.1.
pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A simulator config on a free loopback port, ready for load: no wait for
/// a first sync.
pub(crate) fn simulator_config(namespace: &str) -> SimulatorConfig {
    let mut config = SimulatorConfig::new(namespace, loopback());
    config.sync_timeout = Duration::ZERO;
    config
}

/// Resident set size of this process, from /proc/self/status.
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

/// `(soft, hard)` open-file limits, from /proc/self/limits.
pub(crate) fn open_files_limit() -> Option<(String, String)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line["Max open files".len()..].split_whitespace();
    Some((numbers.next()?.to_owned(), numbers.next()?.to_owned()))
}

/// Raises this process's soft open-file limit to its hard limit (children
/// inherit it); the new limit, or `None` if it was already there or could
/// not be raised.
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= limit.rlim_max
        {
            return None;
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return None;
        }
    }
    Some(limit.rlim_cur)
}

/// The soft open-file limit as a number (`unlimited` is `u64::MAX`).
pub(crate) fn open_files_soft() -> Option<u64> {
    let (soft, _) = open_files_limit()?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

/// A gateway-only App (no Kubernetes side, no admin endpoint).
pub(crate) async fn gateway_app() -> anyhow::Result<App> {
    App::start(
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen: loopback(),
            metrics_listen: None,
            admin_limits: switchyard::telemetry::admin::ADMIN_LIMITS,
            spread: Default::default(),
            runtimes: Default::default(),
            kubernetes: None,
        },
        None,
    )
    .await
}

/// The registry entry of a simulator.
pub(crate) fn runtime(sim: &SimulatorHandle) -> RuntimeSpec {
    RuntimeSpec {
        namespace: sim.namespace().to_owned(),
        address: sim.local_addr().to_string(),
        tls: None,
    }
}

/// Namespaces of `pool` whose every upstream stream is open.
pub(crate) fn connected(pool: &SchedulerPool) -> usize {
    pool.infos()
        .iter()
        .filter(|i| i.state == ConnectionState::Ready)
        .count()
}

/// Waits until `count` namespaces of `pool` are connected.
pub(crate) async fn wait_connected(
    pool: &SchedulerPool,
    count: usize,
    deadline: Duration,
) -> anyhow::Result<Duration> {
    let waited = wait_until(
        &format!("{count} runtimes connected"),
        deadline,
        Duration::from_millis(5),
        || connected(pool) >= count,
    )
    .await?;
    Ok(waited)
}

/// A connected channel to `addr` (its own TCP connection).
pub(crate) async fn channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// A scheduler client on its own connection to `addr`.
pub(crate) async fn scheduler_client(addr: SocketAddr) -> anyhow::Result<SchedulerClient<Channel>> {
    Ok(SchedulerClient::new(channel(addr).await?))
}

/// The `q` quantile (0..=1) of sorted `values`, nearest rank.
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `1.234 ms`.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// `12.3 MiB`.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// Reads every message of `stream` until it ends or `stop` fires, adding
/// one to `count` per message.
pub(crate) fn count_messages<T: Send + 'static>(
    mut stream: tonic::Streaming<T>,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                message = stream.message() => match message {
                    Ok(Some(_)) => { count.fetch_add(1, std::sync::atomic::Ordering::Relaxed); }
                    Ok(None) | Err(_) => return,
                },
            }
        }
    })
}
