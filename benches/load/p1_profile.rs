//! A client for profiling the gateway's forwarding path in a process of
//! its own, where an instruction counter sees the gateway alone: P1's
//! LoadModel calls (new model names, namespace in the message), `calls`
//! of them, `inflight` at a time on one connection, to `addr`.
//!
//! `cargo bench --bench load -- --drive ADDR [--calls N] [--inflight K] [--prefix P]`
//!
//! How the gateway's instructions per forwarded call are counted (the
//! gateway as production runs it: `switchyard run`, Prometheus recorder
//! installed; instructions are repeatable where time on a shared machine
//! is not):
//!
//! ```text
//! switchyard simulate --listen 127.0.0.1:19004 --namespace p1 &
//! valgrind --tool=callgrind --callgrind-out-file=gw.%p \
//!   switchyard run --runtime p1=127.0.0.1:19004 --gateway-listen 127.0.0.1:19005 &
//! load --drive 127.0.0.1:19005 --calls 300            # warm up
//! callgrind_control -z                                # zero the counts
//! load --drive 127.0.0.1:19005 --calls 2000 --prefix m
//! callgrind_control -d                                # dump: Ir / 2000
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use switchyard_testkit::load_model_request;

use crate::harness;

/// The namespace of the simulator the calls are for.
const NAMESPACE: &str = "p1";

/// What `--drive` was asked.
pub(crate) struct Drive {
    addr: SocketAddr,
    calls: usize,
    inflight: usize,
    prefix: String,
}

impl Drive {
    /// From the bench's arguments, if `--drive ADDR` is among them.
    pub(crate) fn from_args(args: &[String]) -> anyhow::Result<Option<Drive>> {
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
        };
        let Some(addr) = value("--drive") else {
            return Ok(None);
        };
        let number = |flag: &str, default: usize| -> anyhow::Result<usize> {
            value(flag).map_or(Ok(default), |v| {
                v.parse().with_context(|| format!("{flag} {v:?}"))
            })
        };
        Ok(Some(Drive {
            addr: addr.parse().with_context(|| format!("--drive {addr:?}"))?,
            calls: number("--calls", 1_000)?,
            inflight: number("--inflight", 1)?.max(1),
            prefix: value("--prefix").cloned().unwrap_or_else(|| "drive".into()),
        }))
    }

    /// Makes the calls; prints how long they took.
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let client = harness::scheduler_client(self.addr).await?;
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.inflight {
            let (mut client, next) = (client.clone(), next.clone());
            let (prefix, calls) = (self.prefix.clone(), self.calls);
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls {
                        return anyhow::Ok(());
                    }
                    let name = format!("{prefix}-{i}");
                    client
                        .load_model(load_model_request(NAMESPACE, &name))
                        .await?;
                }
            });
        }
        while let Some(done) = workers.join_next().await {
            done??;
        }
        let elapsed = start.elapsed();
        eprintln!(
            "{} calls, {} in flight, in {:.3} s ({:.0}/s)",
            self.calls,
            self.inflight,
            elapsed.as_secs_f64(),
            self.calls as f64 / elapsed.as_secs_f64()
        );
        Ok(())
    }
}
