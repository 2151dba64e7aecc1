//! The experiment table and the `ExperimentStatusResponse` each record is
//! reported as. Life cycle: StartExperiment -> (after the transition delay)
//! active with candidates and mirror ready; StopExperiment -> inactive,
//! reported once, then forgotten.

use std::collections::BTreeMap;

use crate::error::{Kind, StoreError};
use switchyard_proto::scheduler::{Experiment, ExperimentStatusResponse};

/// What the scheduler holds about one experiment.
#[derive(Clone, Debug)]
pub(crate) struct ExperimentRecord {
    pub experiment: Experiment,
    /// True once the start has completed.
    pub active: bool,
    /// See `ModelRecord::rev`.
    pub rev: u64,
}

/// What a StartExperiment did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExperimentStart {
    Unchanged,
    /// New or changed definition: becomes active after the delay.
    Starting,
    /// Only `kubernetesMeta` changed.
    MetaUpdated,
}

impl ExperimentRecord {
    pub(crate) fn status(&self) -> ExperimentStatusResponse {
        status(&self.experiment, self.active)
    }
}

/// The status of `experiment`, active or not.
pub(crate) fn status(experiment: &Experiment, active: bool) -> ExperimentStatusResponse {
    ExperimentStatusResponse {
        experiment_name: experiment.name.clone(),
        active,
        candidates_ready: active,
        mirror_ready: active,
        status_description: if active {
            "experiment active".to_string()
        } else {
            String::new()
        },
        kubernetes_meta: experiment.kubernetes_meta.clone(),
    }
}

/// All experiments of one scheduler, by name.
#[derive(Debug, Default)]
pub(crate) struct Experiments {
    records: BTreeMap<String, ExperimentRecord>,
}

impl Experiments {
    pub(crate) fn get(&self, name: &str) -> Option<&ExperimentRecord> {
        self.records.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ExperimentRecord> {
        self.records.values()
    }

    pub(crate) fn start(&mut self, experiment: Experiment, rev: u64) -> ExperimentStart {
        if let Some(existing) = self.records.get_mut(&experiment.name) {
            let without_meta = |e: &Experiment| Experiment {
                kubernetes_meta: None,
                ..e.clone()
            };
            if without_meta(&existing.experiment) == without_meta(&experiment) {
                if existing.experiment.kubernetes_meta == experiment.kubernetes_meta {
                    return ExperimentStart::Unchanged;
                }
                existing.experiment.kubernetes_meta = experiment.kubernetes_meta;
                return ExperimentStart::MetaUpdated;
            }
        }
        self.records.insert(
            experiment.name.clone(),
            ExperimentRecord {
                experiment,
                active: false,
                rev,
            },
        );
        ExperimentStart::Starting
    }

    /// Activates an experiment still at revision `rev`.
    pub(crate) fn activate(&mut self, name: &str, rev: u64) -> Option<&ExperimentRecord> {
        let record = self.records.get_mut(name).filter(|r| r.rev == rev)?;
        record.active = true;
        Some(record)
    }

    /// Stops and forgets `name`, returning its final (inactive) status.
    pub(crate) fn stop(&mut self, name: &str) -> Result<ExperimentStatusResponse, StoreError> {
        let record = self
            .records
            .remove(name)
            .ok_or_else(|| StoreError::NotFound {
                kind: Kind::Experiment,
                name: name.to_string(),
            })?;
        let mut stopped = status(&record.experiment, false);
        stopped.status_description = "experiment stopped".to_string();
        Ok(stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_activate_stop() {
        let mut experiments = Experiments::default();
        let exp = Experiment {
            name: "e".into(),
            ..Default::default()
        };
        assert_eq!(experiments.start(exp.clone(), 1), ExperimentStart::Starting);
        assert_eq!(experiments.start(exp, 2), ExperimentStart::Unchanged);
        assert!(experiments.activate("e", 7).is_none());
        assert!(
            experiments
                .activate("e", 1)
                .is_some_and(|r| r.status().active)
        );
        assert!(experiments.stop("e").is_ok_and(|s| !s.active));
        assert!(experiments.stop("e").is_err());
    }
}
