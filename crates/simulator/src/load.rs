//! The status event generator: while the `event_rate` knob is above zero,
//! re-publishes existing models' status (fresh change time, same state),
//! round robin, at that many events per second, to load-test subscribers.
//! Also the preloaded models that give it something to publish.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::state::Shared;
use switchyard_proto::scheduler::{DeploymentSpec, KubernetesMeta, MetaData, Model, ModelSpec};

/// How often the generator wakes while running; each wake publishes the
/// events owed since the last one.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Most events published per tick (100 000/s), so an absurd rate cannot
/// hold the state lock for long.
pub(crate) const MAX_EVENTS_PER_TICK: usize = 1000;

/// Runs until `stop` is cancelled.
pub(crate) async fn run_generator(shared: Arc<Shared>, stop: CancellationToken) {
    let mut knobs = shared.knobs.subscribe();
    let mut cursor: Option<String> = None;
    loop {
        let rate = knobs.borrow_and_update().event_rate;
        if rate <= 0.0 || !rate.is_finite() {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = knobs.changed() => if changed.is_err() { return },
            }
            continue;
        }
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = tokio::time::Instant::now();
        let mut owed = 0.0_f64;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = knobs.changed() => {
                    if changed.is_err() { return }
                    break;
                }
                now = ticker.tick() => {
                    owed += rate * now.duration_since(last).as_secs_f64();
                    last = now;
                    // Whole events only; the fraction carries over.
                    let due = owed.floor();
                    owed -= due;
                    let count = (due as usize).min(MAX_EVENTS_PER_TICK);
                    if count > 0 {
                        shared.touch_models(count, &mut cursor);
                    }
                }
            }
        }
    }
}

/// The models a simulator starts with (`preload_models`): `model-0` ..,
/// one replica each, in `namespace`, generation 1.
pub(crate) fn preload(namespace: &str, count: usize) -> Vec<Model> {
    (0..count)
        .map(|i| Model {
            meta: Some(MetaData {
                name: format!("model-{i}"),
                kind: None,
                version: None,
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: namespace.to_string(),
                    generation: 1,
                }),
            }),
            model_spec: Some(ModelSpec {
                uri: format!("gs://seldon-models/simulated/model-{i}"),
                requirements: vec!["sklearn".to_string()],
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas: 1,
                min_replicas: 0,
                max_replicas: u32::MAX,
                log_payloads: false,
            }),
            stream_spec: None,
            dataflow_spec: None,
        })
        .collect()
}
