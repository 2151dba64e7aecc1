//! Series of a removed runtime go away. The Prometheus recorder drops a
//! counter or gauge that has not changed for [`IDLE_TIMEOUT`] (its idle
//! timeout, applied when `/metrics` renders); [`Tracked`] remembers every
//! counter and gauge registered, and before each render [`Series::keep_alive`]
//! touches (adds 0 to) those of live namespaces and those without a
//! `namespace` label, so only the series of namespaces no longer in the
//! registry go idle and are dropped. Histograms never expire (none carries
//! a namespace, and adding nothing to one is not an update).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use metrics_util::MetricKindMask;
use parking_lot::RwLock;

/// How long a series of a removed namespace stays exported (counted from
/// the first scrape after its last update).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The label naming a series' namespace.
const NAMESPACE: &str = "namespace";

/// Every counter and gauge registered, by key.
#[derive(Default)]
pub struct Series {
    counters: RwLock<HashMap<Key, Counter>>,
    gauges: RwLock<HashMap<Key, Gauge>>,
}

impl Series {
    /// Touches every series whose namespace is `live` (or that has none) so
    /// it never goes idle; forgets the others, which the recorder drops
    /// once idle. A namespace that comes back registers its series afresh.
    pub fn keep_alive(&self, live: impl Fn(&str) -> bool) {
        let keep = |key: &Key| {
            key.labels()
                .find(|label| label.key() == NAMESPACE)
                .is_none_or(|label| live(label.value()))
        };
        self.counters.write().retain(|key, counter| {
            keep(key) && {
                counter.increment(0);
                true
            }
        });
        self.gauges.write().retain(|key, gauge| {
            keep(key) && {
                gauge.increment(0.0);
                true
            }
        });
    }

    fn remember<H: Clone>(map: &RwLock<HashMap<Key, H>>, key: &Key, handle: &H) {
        if !map.read().contains_key(key) {
            map.write().insert(key.clone(), handle.clone());
        }
    }
}

/// The Prometheus recorder, remembering what is registered in [`Series`].
pub struct Tracked {
    inner: PrometheusRecorder,
    series: Arc<Series>,
}

impl Tracked {
    /// `builder`'s recorder with counters and gauges dropped after `idle`.
    pub fn new(builder: PrometheusBuilder, idle: Duration) -> (Tracked, Arc<Series>) {
        let inner = builder
            .idle_timeout(MetricKindMask::COUNTER | MetricKindMask::GAUGE, Some(idle))
            .build_recorder();
        let series = Arc::new(Series::default());
        let tracked = Tracked {
            inner,
            series: series.clone(),
        };
        (tracked, series)
    }

    pub fn handle(&self) -> metrics_exporter_prometheus::PrometheusHandle {
        self.inner.handle()
    }
}

impl Recorder for Tracked {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        let counter = self.inner.register_counter(key, metadata);
        Series::remember(&self.series.counters, key, &counter);
        counter
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        let gauge = self.inner.register_gauge(key, metadata);
        Series::remember(&self.series.gauges, key, &gauge);
        gauge
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(key, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_testkit::eventually;

    #[tokio::test]
    async fn series_of_a_gone_namespace_expire_and_the_rest_stay() {
        let (recorder, series) = Tracked::new(PrometheusBuilder::new(), Duration::from_millis(50));
        let handle = recorder.handle();
        let record = |ns: &'static str| {
            metrics::with_local_recorder(&recorder, || {
                metrics::gauge!("connected", "namespace" => ns).set(1.0);
                metrics::counter!("reconnects_total", "namespace" => ns).increment(0);
                metrics::gauge!("runtimes").set(2.0);
            })
        };
        record("stays");
        record("goes");
        let render = || {
            series.keep_alive(|ns| ns == "stays");
            handle.render()
        };
        let first = render();
        assert!(first.contains("connected{namespace=\"goes\"} 1"), "{first}");

        eventually("the gone namespace's series expire", async || {
            !render().contains("namespace=\"goes\"")
        })
        .await;
        let text = render();
        for kept in [
            "connected{namespace=\"stays\"} 1",
            "reconnects_total{namespace=\"stays\"} 0",
            "runtimes 2",
        ] {
            assert!(text.contains(kept), "{kept} missing from\n{text}");
        }

        // The namespace comes back: its series are exported again, and
        // kept alive like the others.
        record("goes");
        let back = render();
        assert!(back.contains("connected{namespace=\"goes\"} 1"), "{back}");
    }
}
