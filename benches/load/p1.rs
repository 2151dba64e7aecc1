//! P1: unary LoadModel through the gateway vs straight to the simulated
//! scheduler vs through the peer proxy (nginx `grpc_pass`, upstream
//! keepalive), at 1, 16 and 64 calls in flight. One simulator; each side
//! has one client connection per level (as a real client has). The sides
//! take turns in rounds whose order rotates, so drift on the machine hits
//! all of them alike. Every call loads a new model name.
//!
//! A fourth side is the gateway with authentication and authorization on
//! (`p1_auth`: TokenReview and SubjectAccessReview, decisions cached),
//! compared with the gateway without, in the same rounds.
//!
//! Per side and level: p50 and p99 latency, calls per second, and CPU per
//! call of the whole path (this process, which runs the clients, the
//! simulator and the gateway, plus nginx's processes), so a side that
//! forwards more cheaply shows up even when the machine is not saturated.
//! The Prometheus recorder is installed as `switchyard run` installs it, so
//! the gateway's metrics cost what they cost in production.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_simulator::Simulator;
use switchyard_testkit::load_model_request;
use tonic::transport::Channel;

use crate::cpu;
use crate::harness::{self, Scale, ms, quantile};
use crate::nginx::{self, Nginx};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p1";
/// Calls in flight per level.
const LEVELS: [usize; 3] = [1, 16, 64];
/// Rounds per level: each side runs a share of its calls per round.
const ROUNDS: usize = 3;
/// Targets (issue #12): at one call in flight, p50 and p99 against direct.
const TARGET_P50_RATIO: f64 = 1.2;
const TARGET_P99_RATIO: f64 = 1.3;
/// At 16 and 64 in flight, throughput against direct.
const TARGET_RATE_RATIO: f64 = 0.8;
/// How long the "slow scheduler" variant's simulator takes per call.
const SLOW_SCHEDULER: Duration = Duration::from_millis(1);
/// nginx as tuned for this machine: a worker per core, idle upstream
/// connections kept for the highest level.
const NGINX_KEEPALIVE: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Direct,
    Gateway,
    GatewayAuth,
    Nginx,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Direct => "direct",
            Side::Gateway => "gateway",
            Side::GatewayAuth => "gateway-auth",
            Side::Nginx => "nginx",
        }
    }
}

/// What one side measured at one level.
struct Measured {
    /// Sorted latencies of every measured call.
    latencies: Vec<Duration>,
    elapsed: Duration,
    cpu: Duration,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_per_call(&self) -> Duration {
        self.cpu / self.latencies.len().max(1) as u32
    }
}

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    // The Prometheus recorder, as `switchyard run` installs it: every call
    // records the gateway's metrics the way production pays for them (with
    // no recorder each record is a no-op). Once per process; the scenarios
    // after this one keep it.
    let recorder = match switchyard::telemetry::install_metrics() {
        Ok(_) => "Prometheus recorder installed",
        Err(_) => "Prometheus recorder already installed",
    };
    let sim = Simulator::start(harness::simulator_config(NAMESPACE)).await?;
    let app = harness::gateway_app().await?;
    app.registry.apply(harness::runtime(&sim));
    harness::wait_connected(&app.pool, 1, Duration::from_secs(10)).await?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (peer, peer_note) = match nginx::binary() {
        None => (
            None,
            "no nginx binary (apt-get install nginx-light)".to_owned(),
        ),
        Some(bin) => match Nginx::start(&bin, sim.local_addr(), workers, NGINX_KEEPALIVE) {
            Ok(n) => (
                Some(n),
                format!("nginx {workers} workers, keepalive {NGINX_KEEPALIVE}"),
            ),
            Err(e) => (None, format!("nginx did not start: {e:#}")),
        },
    };
    let authenticated = crate::p1_auth::start(&app).await?;
    let mut sides = vec![
        (Side::Direct, sim.local_addr()),
        (Side::Gateway, app.gateway_addr),
        (Side::GatewayAuth, authenticated.addr),
    ];
    if let Some(n) = &peer {
        sides.push((Side::Nginx, n.local_addr()));
    }
    let whole_path_cpu = || cpu::own_time() + peer.as_ref().map_or(Duration::ZERO, Nginx::cpu_time);

    let mut rows = Vec::new();
    for level in LEVELS {
        let run = Level {
            inflight: level,
            calls: scale.p1_calls,
            warmup: scale.p1_warmup,
            prefix: format!("l{level}"),
        };
        let measured = run.measure(&sides, &whole_path_cpu).await?;
        let note = format!("{peer_note}; {recorder}");
        rows.extend(level_rows(level, &measured, &note, &run));
    }
    // The same with a scheduler that takes a while, as a real one does
    // (it writes its state before answering): the hop's share shrinks.
    sim.set_call_latency(SLOW_SCHEDULER);
    let slow = Level {
        inflight: 1,
        calls: scale.p1_calls / 4,
        warmup: scale.p1_warmup / 4,
        prefix: "slow".into(),
    };
    let measured = slow.measure(&sides, &whole_path_cpu).await?;
    rows.push(latency_row(
        "P1 LoadModel p50, slow scheduler",
        &measured,
        0.5,
        Some(TARGET_P50_RATIO),
        &format!(
            "{} calls per side, simulator call_latency {} ms",
            slow.calls,
            SLOW_SCHEDULER.as_millis()
        ),
    ));

    drop((peer, authenticated));
    app.shutdown().await?;
    sim.shutdown().await?;
    Ok(rows)
}

/// One level of load: `calls` measured calls per side after `warmup`,
/// `inflight` at a time.
struct Level {
    inflight: usize,
    calls: usize,
    warmup: usize,
    prefix: String,
}

impl Level {
    async fn measure(
        &self,
        sides: &[(Side, std::net::SocketAddr)],
        cpu_now: &impl Fn() -> Duration,
    ) -> anyhow::Result<Vec<(Side, Measured)>> {
        let mut clients = Vec::new();
        for &(side, addr) in sides {
            let client = harness::scheduler_client(addr).await?;
            let name = format!("{}-{}-warm", self.prefix, side.label());
            self.calls_in_flight(&client, side, &name, self.warmup)
                .await?;
            clients.push((side, client));
        }
        let mut measured: Vec<(Side, Measured)> = sides
            .iter()
            .map(|&(side, _)| {
                let empty = Measured {
                    latencies: Vec::with_capacity(self.calls),
                    elapsed: Duration::ZERO,
                    cpu: Duration::ZERO,
                };
                (side, empty)
            })
            .collect();
        let per_round = self.calls.div_ceil(ROUNDS);
        for round in 0..ROUNDS {
            for turn in 0..clients.len() {
                let i = (turn + round) % clients.len();
                let (side, client) = &clients[i];
                let name = format!("{}-{}-r{round}", self.prefix, side.label());
                let (cpu0, start) = (cpu_now(), Instant::now());
                let mut latencies = self
                    .calls_in_flight(client, *side, &name, per_round)
                    .await?;
                let m = &mut measured[i].1;
                m.elapsed += start.elapsed();
                m.cpu += cpu_now().saturating_sub(cpu0);
                m.latencies.append(&mut latencies);
            }
        }
        for (_, m) in &mut measured {
            m.latencies.sort();
        }
        Ok(measured)
    }

    /// `count` LoadModel calls, `inflight` at a time on `client`'s one
    /// connection (with the bearer token on the authenticated side);
    /// their latencies.
    async fn calls_in_flight(
        &self,
        client: &SchedulerClient<Channel>,
        side: Side,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Vec<Duration>> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.inflight {
            let (mut client, next, prefix) = (client.clone(), next.clone(), prefix.to_owned());
            workers.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(latencies);
                    }
                    let mut request = tonic::Request::new(load_model_request(
                        NAMESPACE,
                        &format!("{prefix}-{i}"),
                    ));
                    if side == Side::GatewayAuth {
                        let bearer = format!("Bearer {}", crate::p1_auth::TOKEN).parse()?;
                        request.metadata_mut().insert("authorization", bearer);
                    }
                    let start = Instant::now();
                    client.load_model(request).await?;
                    latencies.push(start.elapsed());
                }
            });
        }
        let mut all = Vec::with_capacity(count);
        while let Some(done) = workers.join_next().await {
            all.append(&mut done??);
        }
        Ok(all)
    }
}

fn level_rows(level: usize, measured: &[(Side, Measured)], peer: &str, run: &Level) -> Vec<Row> {
    let note = format!(
        "{} calls/side after {} warm-up, {ROUNDS} rotating rounds; {peer}",
        run.calls, run.warmup
    );
    let (p50_target, p99_target, rate_target) = if level == 1 {
        (Some(TARGET_P50_RATIO), Some(TARGET_P99_RATIO), None)
    } else {
        (None, None, Some(TARGET_RATE_RATIO))
    };
    vec![
        latency_row(
            &format!("P1 x{level} p50"),
            measured,
            0.5,
            p50_target,
            &note,
        ),
        latency_row(
            &format!("P1 x{level} p99"),
            measured,
            0.99,
            p99_target,
            &note,
        ),
        rate_row(
            &format!("P1 x{level} calls/s"),
            measured,
            rate_target,
            &note,
        ),
        cpu_row(&format!("P1 x{level} CPU/call"), measured, &note),
        auth_row(
            &format!("P1 x{level} p50, auth on vs off"),
            measured,
            &|m| quantile(&m.latencies, 0.5).as_secs_f64(),
            &|s| ms(Duration::from_secs_f64(s)),
            &note,
        ),
        auth_row(
            &format!("P1 x{level} calls/s, auth on vs off"),
            measured,
            &Measured::rate,
            &|r| format!("{r:.0}/s"),
            &note,
        ),
    ]
}

/// The gateway with authentication and authorization (TokenReview,
/// SubjectAccessReview, decisions cached) against the same gateway
/// without, measured in the same rounds: the cost of checking every call.
fn auth_row(
    figure: &str,
    measured: &[(Side, Measured)],
    value: &dyn Fn(&Measured) -> f64,
    show: &dyn Fn(f64) -> String,
    note: &str,
) -> Row {
    let (Some(on), Some(off)) = (
        side(measured, Side::GatewayAuth),
        side(measured, Side::Gateway),
    ) else {
        return Row::failed(figure, "a side measured nothing");
    };
    let (on, off) = (value(on), value(off));
    Row {
        figure: figure.to_owned(),
        measured: format!("auth on {}", show(on)),
        baseline: format!("auth off {}", show(off)),
        ratio: format!("{:.2}", on / off),
        target: "-".into(),
        verdict: "n/a",
        note: format!(
            "bearer token, TokenReview + SubjectAccessReview cached (API double); {note}"
        ),
    }
}

fn side(measured: &[(Side, Measured)], which: Side) -> Option<&Measured> {
    measured.iter().find(|(s, _)| *s == which).map(|(_, m)| m)
}

/// A row comparing the gateway with direct (ratio, target) and with nginx
/// (in the note, and in the verdict: never worse than the peer).
struct Compared<'a> {
    figure: &'a str,
    gateway: f64,
    direct: f64,
    nginx: Option<f64>,
    show: &'a dyn Fn(f64) -> String,
    /// Lower is better (latency, CPU) or higher (throughput).
    lower_is_better: bool,
    target: Option<f64>,
    note: &'a str,
}

impl Compared<'_> {
    fn row(&self) -> Row {
        let ratio = self.gateway / self.direct;
        let better = |a: f64, b: f64| if self.lower_is_better { a <= b } else { a >= b };
        let target_met = self.target.is_none_or(|t| better(ratio, t));
        let peer_met = self.nginx.is_none_or(|n| better(self.gateway, n));
        let (target, met) = match (self.target, self.nginx) {
            (Some(t), Some(_)) => (
                format!("{} {t:.2}, vs nginx", op(self.lower_is_better)),
                target_met && peer_met,
            ),
            (Some(t), None) => (format!("{} {t:.2}", op(self.lower_is_better)), target_met),
            (None, Some(_)) => ("vs nginx".to_owned(), peer_met),
            (None, None) => ("-".to_owned(), true),
        };
        let peer = self.nginx.map_or_else(
            || "nginx n/a".to_owned(),
            |n| format!("nginx {} ({:.2}x direct)", (self.show)(n), n / self.direct),
        );
        Row {
            figure: self.figure.to_owned(),
            measured: format!("gateway {}", (self.show)(self.gateway)),
            baseline: format!("direct {}", (self.show)(self.direct)),
            ratio: format!("{ratio:.2}"),
            target,
            verdict: if self.target.is_none() && self.nginx.is_none() {
                "n/a"
            } else {
                verdict(met)
            },
            note: format!("{peer}; {}", self.note),
        }
    }
}

fn op(lower_is_better: bool) -> &'static str {
    if lower_is_better { "<=" } else { ">=" }
}

fn compare(
    measured: &[(Side, Measured)],
    value: impl Fn(&Measured) -> f64,
) -> Option<(f64, f64, Option<f64>)> {
    let gateway = value(side(measured, Side::Gateway)?);
    let direct = value(side(measured, Side::Direct)?);
    Some((gateway, direct, side(measured, Side::Nginx).map(value)))
}

/// One figure of every side (`value`), compared: a row.
fn compared_row(
    figure: &str,
    measured: &[(Side, Measured)],
    value: impl Fn(&Measured) -> f64,
    show: &dyn Fn(f64) -> String,
    lower_is_better: bool,
    target: Option<f64>,
    note: &str,
) -> Row {
    let Some((gateway, direct, nginx)) = compare(measured, value) else {
        return Row::failed(figure, "a side measured nothing");
    };
    Compared {
        figure,
        gateway,
        direct,
        nginx,
        show,
        lower_is_better,
        target,
        note,
    }
    .row()
}

fn latency_row(
    figure: &str,
    measured: &[(Side, Measured)],
    q: f64,
    target: Option<f64>,
    note: &str,
) -> Row {
    let value = |m: &Measured| quantile(&m.latencies, q).as_secs_f64();
    let show = |s: f64| ms(Duration::from_secs_f64(s));
    compared_row(figure, measured, value, &show, true, target, note)
}

fn rate_row(figure: &str, measured: &[(Side, Measured)], target: Option<f64>, note: &str) -> Row {
    let show = |r: f64| format!("{r:.0}/s");
    compared_row(figure, measured, Measured::rate, &show, false, target, note)
}

fn cpu_row(figure: &str, measured: &[(Side, Measured)], note: &str) -> Row {
    let value = |m: &Measured| m.cpu_per_call().as_secs_f64();
    let show = |s: f64| format!("{:.0} us", s * 1e6);
    compared_row(figure, measured, value, &show, true, None, note)
}
