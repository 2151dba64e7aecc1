//! The simulated scheduler's state machine: models, pipelines, experiments
//! and servers of one namespace, in memory. Every operation is synchronous
//! and returns `Effects`: the status events to publish now and the
//! transitions to fire after the transition delay. No I/O, no `.await`.

use std::time::SystemTime;

use crate::{
    error::{Kind, StoreError},
    experiments::{ExperimentStart, Experiments},
    lifecycle::Transition,
    models::{LoadOutcome, ModelPhase, Models},
    pipelines::{PipelineLoad, PipelinePhase, Pipelines},
    servers::{self, Servers},
};
use switchyard_proto::scheduler::{
    Experiment, ExperimentStatusResponse, KubernetesMeta, Model, ModelStatusResponse, Pipeline,
    PipelineStatusResponse, ServerNotify, ServerStatusResponse,
};

/// One status change, as the subscription streams carry it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    Model(ModelStatusResponse),
    Pipeline(PipelineStatusResponse),
    Experiment(ExperimentStatusResponse),
    Server(ServerStatusResponse),
}

/// What an operation caused.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Effects {
    /// Status events to publish, in order.
    pub events: Vec<Event>,
    /// Steps to take after the transition delay.
    pub transitions: Vec<Transition>,
}

/// The whole state of one simulated scheduler.
#[derive(Debug)]
pub(crate) struct Store {
    pub models: Models,
    pub pipelines: Pipelines,
    pub experiments: Experiments,
    pub servers: Servers,
    /// Server for unpinned models while no server is known.
    default_server: String,
    /// Source of revisions and pipeline uids.
    counter: u64,
}

impl Store {
    pub(crate) fn new(default_server: String) -> Self {
        Self {
            models: Models::default(),
            pipelines: Pipelines::default(),
            experiments: Experiments::default(),
            servers: Servers::default(),
            default_server,
            counter: 0,
        }
    }

    /// Server for unpinned models while no server is known.
    pub(crate) fn default_server(&self) -> &str {
        &self.default_server
    }

    fn next_rev(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// LoadModel (docs/seldon-compat.md#model-load-repeat).
    pub(crate) fn load_model(
        &mut self,
        model: Model,
        now: SystemTime,
    ) -> Result<Effects, StoreError> {
        let server = self.place(&model);
        let rev = self.next_rev();
        let name = model
            .meta
            .as_ref()
            .map_or(String::new(), |m| m.name.clone());
        let before = self.models.get(&name).map(|r| r.server.clone());
        let outcome = self.models.load(model, server, rev, now)?;
        let mut effects = Effects::default();
        let Some(record) = self.models.get(&name) else {
            return Ok(effects);
        };
        let rev = record.rev;
        let placed_on = record.server.clone();
        match outcome {
            LoadOutcome::Unchanged => return Ok(effects),
            LoadOutcome::MetaUpdated => {}
            LoadOutcome::Created | LoadOutcome::NewVersion | LoadOutcome::Rescaled => {
                effects
                    .transitions
                    .push(Transition::ModelAvailable { name, rev });
            }
        }
        effects.events.push(Event::Model(record.status()));
        if let Some(previous) = before.filter(|s| *s != placed_on) {
            effects.events.extend(self.server_event(&previous));
        }
        if outcome != LoadOutcome::MetaUpdated {
            effects.events.extend(self.server_event(&placed_on));
        }
        Ok(effects)
    }

    /// UnloadModel: Terminating now, Terminated after the delay.
    pub(crate) fn unload_model(
        &mut self,
        name: &str,
        version: Option<u32>,
        kubernetes_meta: Option<KubernetesMeta>,
        now: SystemTime,
    ) -> Result<Effects, StoreError> {
        let rev = self.next_rev();
        let changed = self
            .models
            .unload(name, version, kubernetes_meta, rev, now)?;
        let mut effects = Effects::default();
        if let Some(record) = self.models.get(name).filter(|_| changed) {
            let server = record.server.clone();
            effects.events.push(Event::Model(record.status()));
            effects.transitions.push(Transition::ModelTerminated {
                name: name.to_string(),
                rev,
            });
            effects.events.extend(self.server_event(&server));
        }
        Ok(effects)
    }

    /// LoadPipeline: Creating now, Ready after the delay.
    pub(crate) fn load_pipeline(
        &mut self,
        pipeline: Pipeline,
        now: SystemTime,
    ) -> Result<Effects, StoreError> {
        let rev = self.next_rev();
        let uid = format!("sim{:017x}", rev);
        let name = pipeline.name.clone();
        let outcome = self.pipelines.load(pipeline, uid, rev, now)?;
        let mut effects = Effects::default();
        if outcome == PipelineLoad::Unchanged {
            return Ok(effects);
        }
        if let Some(record) = self.pipelines.get(&name) {
            effects.events.push(Event::Pipeline(record.status()));
            if outcome == PipelineLoad::NewVersion {
                effects
                    .transitions
                    .push(Transition::PipelineReady { name, rev });
            }
        }
        Ok(effects)
    }

    /// UnloadPipeline: Terminating now, Terminated after the delay.
    pub(crate) fn unload_pipeline(
        &mut self,
        name: &str,
        now: SystemTime,
    ) -> Result<Effects, StoreError> {
        let rev = self.next_rev();
        let changed = self.pipelines.unload(name, rev, now)?;
        let mut effects = Effects::default();
        if let Some(record) = self.pipelines.get(name).filter(|_| changed) {
            effects.events.push(Event::Pipeline(record.status()));
            effects.transitions.push(Transition::PipelineTerminated {
                name: name.to_string(),
                rev,
            });
        }
        Ok(effects)
    }

    /// StartExperiment: active after the delay.
    pub(crate) fn start_experiment(&mut self, experiment: Experiment) -> Effects {
        let rev = self.next_rev();
        let name = experiment.name.clone();
        let mut effects = Effects::default();
        match self.experiments.start(experiment, rev) {
            ExperimentStart::Unchanged => {}
            ExperimentStart::Starting => effects
                .transitions
                .push(Transition::ExperimentActive { name, rev }),
            ExperimentStart::MetaUpdated => {
                if let Some(record) = self.experiments.get(&name) {
                    effects.events.push(Event::Experiment(record.status()));
                }
            }
        }
        effects
    }

    /// StopExperiment: reported inactive once, then forgotten.
    pub(crate) fn stop_experiment(&mut self, name: &str) -> Result<Effects, StoreError> {
        let stopped = self.experiments.stop(name)?;
        Ok(Effects {
            events: vec![Event::Experiment(stopped)],
            transitions: vec![],
        })
    }

    /// ServerNotify: stores each server and reports the changed ones.
    pub(crate) fn server_notify(&mut self, notified: Vec<ServerNotify>) -> Effects {
        let mut effects = Effects::default();
        for server in notified {
            let name = server.name.clone();
            if self.servers.notify(server) {
                effects.events.extend(self.server_event(&name));
            }
        }
        effects
    }

    /// A ScalingRequest for a known server.
    pub(crate) fn scaling_request(&self, name: &str, replicas: i32) -> Result<Event, StoreError> {
        let server = self.servers.get(name).ok_or_else(|| StoreError::NotFound {
            kind: Kind::Server,
            name: name.to_string(),
        })?;
        Ok(Event::Server(servers::scaling_request(
            name,
            replicas,
            server.kubernetes_meta.clone(),
        )))
    }

    /// Takes a due step, unless the object changed since it was scheduled.
    pub(crate) fn apply(&mut self, transition: Transition, now: SystemTime) -> Effects {
        let new_rev = self.next_rev();
        let mut effects = Effects::default();
        match transition {
            Transition::ModelAvailable { name, rev } => {
                if let Some(record) =
                    self.models
                        .advance(&name, rev, ModelPhase::Available, new_rev, now)
                {
                    let server = record.server.clone();
                    effects.events.push(Event::Model(record.status()));
                    effects.events.extend(self.server_event(&server));
                }
            }
            Transition::ModelTerminated { name, rev } => {
                if let Some(record) =
                    self.models
                        .advance(&name, rev, ModelPhase::Terminated, new_rev, now)
                {
                    effects.events.push(Event::Model(record.status()));
                    self.models.remove(&name);
                }
            }
            Transition::PipelineReady { name, rev } => {
                if let Some(record) =
                    self.pipelines
                        .advance(&name, rev, PipelinePhase::Ready, new_rev, now)
                {
                    effects.events.push(Event::Pipeline(record.status()));
                }
            }
            Transition::PipelineTerminated { name, rev } => {
                if let Some(record) =
                    self.pipelines
                        .advance(&name, rev, PipelinePhase::Terminated, new_rev, now)
                {
                    effects.events.push(Event::Pipeline(record.status()));
                    self.pipelines.remove(&name);
                }
            }
            Transition::ExperimentActive { name, rev } => {
                if let Some(record) = self.experiments.activate(&name, rev) {
                    effects.events.push(Event::Experiment(record.status()));
                }
            }
        }
        effects
    }

    /// Re-publishes the model after `after` (round robin) with a fresh
    /// change time: the unit of load of the event generator.
    pub(crate) fn touch_next_model(
        &mut self,
        after: Option<&str>,
        now: SystemTime,
    ) -> Option<(String, Event)> {
        let name = self.models.next_name(after)?;
        let record = self.models.touch(&name, now)?;
        Some((name, Event::Model(record.status())))
    }

    pub(crate) fn model_statuses(&self) -> Vec<ModelStatusResponse> {
        self.models.iter().map(|r| r.status()).collect()
    }

    pub(crate) fn pipeline_statuses(&self) -> Vec<PipelineStatusResponse> {
        self.pipelines.iter().map(|r| r.status()).collect()
    }

    pub(crate) fn experiment_statuses(&self) -> Vec<ExperimentStatusResponse> {
        self.experiments.iter().map(|r| r.status()).collect()
    }

    pub(crate) fn server_statuses(&self) -> Vec<ServerStatusResponse> {
        self.servers
            .iter()
            .map(|s| servers::status(s, self.models.iter()))
            .collect()
    }

    pub(crate) fn server_status(&self, name: &str) -> Option<ServerStatusResponse> {
        let server = self.servers.get(name)?;
        Some(servers::status(server, self.models.iter()))
    }

    fn server_event(&self, name: &str) -> Option<Event> {
        self.server_status(name).map(Event::Server)
    }

    /// The pinned server, else the known server with the fewest loaded
    /// model replicas, else the default server.
    fn place(&self, model: &Model) -> String {
        if let Some(pinned) = model.model_spec.as_ref().and_then(|s| s.server.clone()) {
            return pinned;
        }
        self.servers
            .iter()
            .filter(|s| s.expected_replicas > 0)
            .min_by_key(|s| {
                self.models
                    .iter()
                    .filter(|m| m.server == s.name)
                    .map(|m| u64::from(m.replicas()))
                    .sum::<u64>()
            })
            .map_or_else(|| self.default_server.clone(), |s| s.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{DeploymentSpec, MetaData, ModelSpec};

    fn model(name: &str, replicas: u32) -> Model {
        Model {
            meta: Some(MetaData {
                name: name.into(),
                ..Default::default()
            }),
            model_spec: Some(ModelSpec {
                uri: "gs://m".into(),
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn model_life_cycle_counts_replicas_on_its_server() {
        let now = SystemTime::now();
        let mut store = Store::new("mlserver".into());
        store.server_notify(vec![ServerNotify {
            name: "triton".into(),
            expected_replicas: 3,
            ..Default::default()
        }]);
        let loaded = store.load_model(model("m", 2), now);
        let transitions = loaded.map(|e| e.transitions).unwrap_or_default();
        assert_eq!(transitions.len(), 1);
        for t in transitions {
            let effects = store.apply(t, now);
            assert_eq!(effects.events.len(), 2, "model and server events");
        }
        let server = store.server_status("triton");
        assert_eq!(server.map(|s| s.num_loaded_model_replicas), Some(2));
        let unload = store.unload_model("m", None, None, now);
        for t in unload.map(|e| e.transitions).unwrap_or_default() {
            store.apply(t, now);
        }
        assert!(store.models.get("m").is_none());
        assert_eq!(
            store
                .server_status("triton")
                .map(|s| s.num_loaded_model_replicas),
            Some(0)
        );
    }

    #[test]
    fn stale_transition_is_ignored() {
        let now = SystemTime::now();
        let mut store = Store::new("mlserver".into());
        let first = store.load_model(model("m", 1), now).map(|e| e.transitions);
        store.unload_model("m", None, None, now).ok();
        for t in first.unwrap_or_default() {
            assert!(store.apply(t, now).events.is_empty());
        }
    }

    #[test]
    fn unpinned_model_without_servers_goes_to_default_server() {
        let now = SystemTime::now();
        let mut store = Store::new("mlserver".into());
        store.load_model(model("m", 1), now).ok();
        assert_eq!(
            store.models.get("m").map(|r| r.server.as_str()),
            Some("mlserver")
        );
    }
}
