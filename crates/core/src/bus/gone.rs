//! What a subscriber is told when the bus forgets an object because its
//! scheduler no longer lists it (the scheduler restarted empty, or lost the
//! object while the stream was down): the object's last state, turned into
//! the message the scheduler sends when such an object goes away.
//!
//! Models and pipelines end Terminated (with their gateway side), as a
//! deletion does, so clients release what they hold for them; an experiment
//! ends inactive and a server with no replicas, the states the scheduler
//! reports for those that are gone.

use switchyard_proto::scheduler::{
    ModelStatus, PipelineVersionState, model_status::ModelState,
    model_status_response::ModelOperation, pipeline_status_response::PipelineOperation,
    pipeline_version_state::PipelineStatus, server_status_response::Type,
};

use super::event::StatusPayload;

/// The reason every such message carries.
pub const NOT_LISTED: &str = "not listed by the scheduler after it reconnected";

impl StatusPayload {
    /// This object's last state as the message saying it is gone.
    pub fn gone(&self) -> StatusPayload {
        match self {
            StatusPayload::Model(m) => {
                let mut m = m.clone();
                m.deleted = true;
                m.operation = ModelOperation::ModelDelete as i32;
                m.versions.truncate(1);
                for version in &mut m.versions {
                    version.model_replica_state.clear();
                    let last = version.state.take().unwrap_or_default();
                    version.state = Some(ModelStatus {
                        state: ModelState::ModelTerminated as i32,
                        reason: NOT_LISTED.to_owned(),
                        available_replicas: 0,
                        unavailable_replicas: 0,
                        last_change_timestamp: last.last_change_timestamp,
                        model_gw_state: ModelState::ModelTerminated as i32,
                        model_gw_reason: NOT_LISTED.to_owned(),
                    });
                }
                StatusPayload::Model(m)
            }
            StatusPayload::Pipeline(p) => {
                let mut p = p.clone();
                p.operation = PipelineOperation::PipelineDelete as i32;
                let keep = p.versions.len().saturating_sub(1);
                p.versions.drain(..keep);
                for version in &mut p.versions {
                    let last = version.state.take().unwrap_or_default();
                    version.state = Some(PipelineVersionState {
                        pipeline_version: last.pipeline_version,
                        status: PipelineStatus::PipelineTerminated as i32,
                        reason: NOT_LISTED.to_owned(),
                        last_change_timestamp: last.last_change_timestamp,
                        models_ready: false,
                        pipeline_gw_status: PipelineStatus::PipelineTerminated as i32,
                        pipeline_gw_reason: NOT_LISTED.to_owned(),
                    });
                }
                StatusPayload::Pipeline(p)
            }
            StatusPayload::Experiment(e) => {
                let mut e = e.clone();
                e.active = false;
                e.candidates_ready = false;
                e.mirror_ready = false;
                e.status_description = NOT_LISTED.to_owned();
                StatusPayload::Experiment(e)
            }
            StatusPayload::Server(s) => {
                let mut s = s.clone();
                s.r#type = Type::StatusUpdate as i32;
                s.resources.clear();
                s.expected_replicas = 0;
                s.available_replicas = 0;
                s.num_loaded_model_replicas = 0;
                StatusPayload::Server(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{
        ModelStatusResponse, ModelVersionStatus, PipelineStatusResponse, PipelineWithState,
    };

    #[test]
    fn models_and_pipelines_end_terminated() {
        let model = StatusPayload::Model(ModelStatusResponse {
            model_name: "iris".into(),
            versions: vec![ModelVersionStatus {
                version: 3,
                state: Some(ModelStatus {
                    state: ModelState::ModelAvailable as i32,
                    available_replicas: 2,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        let gone = model.gone();
        assert!(gone.is_final(), "{gone:?}");
        assert_eq!(gone.name(), "iris");
        let pipeline = StatusPayload::Pipeline(PipelineStatusResponse {
            pipeline_name: "p".into(),
            versions: vec![PipelineWithState::default(), PipelineWithState::default()],
            ..Default::default()
        });
        let gone = pipeline.gone();
        assert!(gone.is_final(), "{gone:?}");
        let StatusPayload::Pipeline(p) = gone else {
            unreachable!()
        };
        assert_eq!(p.versions.len(), 1, "the latest version only");
    }
}
