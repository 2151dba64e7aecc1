//! Logs and metrics: the log subscriber ([`logs`]), the Prometheus
//! recorder (series of removed runtimes expire: [`series`]), the process
//! and runtime metrics sampled on scrape, the Kubernetes API client's
//! metrics ([`kube_client`]), certificate expiry ([`certificates`]) and the
//! admin HTTP endpoint that serves them with health probes and the log
//! level. Every metric name comes from [`switchyard_core::metrics::CATALOGUE`].

pub mod admin;
pub mod certificates;
pub mod kube_client;
pub mod logs;
#[cfg(target_os = "linux")]
mod process;
mod runtime;
pub mod series;

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use switchyard_core::registry::Runtimes;

/// Histogram buckets for gRPC handling and reconcile times, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One value sampled on scrape, by catalogue name.
type Sample = (&'static str, f64);

/// The series the installed recorder has seen (to keep the live ones).
static SERIES: OnceLock<Arc<series::Series>> = OnceLock::new();

/// Installs the global Prometheus recorder, describes every metric and
/// sets `switchyard_build_info`.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?;
    let (recorder, series) = series::Tracked::new(builder, series::IDLE_TIMEOUT);
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
    let _ = SERIES.set(series);
    switchyard_core::metrics::describe();
    metrics::gauge!(
        switchyard_core::metrics::BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION")
    )
    .set(1.0);
    Ok(handle)
}

/// Everything `/metrics` serves: the recorder's metrics (series of
/// namespaces not in `runtimes` left to expire), then the process, tokio
/// runtime and certificate metrics read now.
pub fn render(handle: &PrometheusHandle, runtimes: &Runtimes) -> String {
    if let Some(series) = SERIES.get() {
        series.keep_alive(|namespace| runtimes.contains_key(namespace));
    }
    handle.run_upkeep();
    let mut text = handle.render();
    certificates::render(&mut text);
    #[cfg(target_os = "linux")]
    render_samples(&mut text, &process::sample());
    render_samples(&mut text, &runtime::sample());
    text
}

/// Appends `samples` in Prometheus' text format, with the catalogue's help
/// and type.
fn render_samples(text: &mut String, samples: &[Sample]) {
    for &(name, value) in samples {
        let Some(def) = switchyard_core::metrics::find(name) else {
            debug_assert!(false, "{name} is not in the metrics catalogue");
            continue;
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let _ = write!(
            text,
            "# HELP {name} {}\n# TYPE {name} {}\n{name} {value}\n\n",
            def.help,
            def.kind.as_str()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_render_with_the_catalogue_help_and_type() {
        let mut text = String::new();
        render_samples(
            &mut text,
            &[(switchyard_core::metrics::PROCESS_CPU_SECONDS_TOTAL, 1.25)],
        );
        assert_eq!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 1.25\n\n"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_runtime_reports_its_workers() {
        let samples = runtime::sample();
        assert!(
            samples.contains(&(switchyard_core::metrics::TOKIO_WORKERS, 2.0)),
            "{samples:?}"
        );
    }
}
