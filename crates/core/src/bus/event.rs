//! What travels on the status bus: one upstream status message, tagged with
//! the namespace whose scheduler sent it, and the key it conflates under.

use std::sync::Arc;

use switchyard_proto::scheduler::{
    ExperimentStatusResponse, ModelStatusResponse, PipelineStatusResponse, ServerStatusResponse,
    model_status::ModelState, pipeline_version_state::PipelineStatus,
};

/// The four kinds of status stream a scheduler serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusKind {
    Model,
    Pipeline,
    Experiment,
    Server,
}

impl StatusKind {
    pub const ALL: [StatusKind; 4] = [
        StatusKind::Model,
        StatusKind::Pipeline,
        StatusKind::Experiment,
        StatusKind::Server,
    ];

    /// Lower-case name, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Model => "model",
            StatusKind::Pipeline => "pipeline",
            StatusKind::Experiment => "experiment",
            StatusKind::Server => "server",
        }
    }
}

/// One status message as the scheduler sent it.
#[derive(Clone, Debug, PartialEq)]
pub enum StatusPayload {
    Model(ModelStatusResponse),
    Pipeline(PipelineStatusResponse),
    Experiment(ExperimentStatusResponse),
    Server(ServerStatusResponse),
}

impl StatusPayload {
    pub fn kind(&self) -> StatusKind {
        match self {
            StatusPayload::Model(_) => StatusKind::Model,
            StatusPayload::Pipeline(_) => StatusKind::Pipeline,
            StatusPayload::Experiment(_) => StatusKind::Experiment,
            StatusPayload::Server(_) => StatusKind::Server,
        }
    }

    /// The object's name within its namespace.
    pub fn name(&self) -> &str {
        match self {
            StatusPayload::Model(m) => &m.model_name,
            StatusPayload::Pipeline(p) => &p.pipeline_name,
            StatusPayload::Experiment(e) => &e.experiment_name,
            StatusPayload::Server(s) => &s.server_name,
        }
    }

    /// True when the object is gone from the scheduler after this message,
    /// so a new subscriber's snapshot must not list it.
    pub fn is_final(&self) -> bool {
        match self {
            StatusPayload::Model(m) => {
                m.deleted
                    || m.versions.first().is_some_and(|v| {
                        v.state
                            .as_ref()
                            .is_some_and(|s| s.state() == ModelState::ModelTerminated)
                    })
            }
            StatusPayload::Pipeline(p) => p.versions.last().is_some_and(|v| {
                v.state
                    .as_ref()
                    .is_some_and(|s| s.status() == PipelineStatus::PipelineTerminated)
            }),
            // A stopped experiment is reported inactive and may be started
            // again under the same name; its last state stays listed.
            StatusPayload::Experiment(_) | StatusPayload::Server(_) => false,
        }
    }
}

/// Identity of one object's status: conflation happens per key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusKey {
    pub namespace: Arc<str>,
    pub kind: StatusKind,
    pub name: String,
}

/// An upstream status message and the namespace it came from. Cheap to
/// clone: every subscriber shares the one payload.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusEvent {
    pub namespace: Arc<str>,
    pub payload: Arc<StatusPayload>,
}

impl StatusEvent {
    pub fn new(namespace: Arc<str>, payload: StatusPayload) -> Self {
        StatusEvent {
            namespace,
            payload: Arc::new(payload),
        }
    }

    pub fn kind(&self) -> StatusKind {
        self.payload.kind()
    }

    pub fn key(&self) -> StatusKey {
        StatusKey {
            namespace: self.namespace.clone(),
            kind: self.payload.kind(),
            name: self.payload.name().to_owned(),
        }
    }
}
