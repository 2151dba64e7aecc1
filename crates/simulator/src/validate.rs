//! Request validation: every check of a client's message happens here and
//! returns a precise `tonic::Status` (INVALID_ARGUMENT for a malformed
//! message). Handlers never index into client input themselves; what a field may
//! hold (names, replica counts, pipeline rules) is in `rules`.

use tonic::Status;

use crate::rules;

use switchyard_proto::scheduler::{
    Experiment, KubernetesMeta, LoadModelRequest, LoadPipelineRequest, Model, Pipeline,
    ServerNotify, ServerNotifyRequest, StartExperimentRequest, StopExperimentRequest,
    UnloadModelRequest, UnloadPipelineRequest,
};

fn missing(field: &str, rpc: &str) -> Status {
    Status::invalid_argument(format!(
        "{rpc}: required field `{field}` is missing or empty"
    ))
}

/// A LoadModel needs `model`, `model.meta` and a non-empty `model.meta.name`.
pub(crate) fn load_model(req: LoadModelRequest) -> Result<Model, Status> {
    let model = req.model.ok_or_else(|| missing("model", "LoadModel"))?;
    match &model.meta {
        None => Err(missing("model.meta", "LoadModel")),
        Some(meta) if meta.name.is_empty() => Err(missing("model.meta.name", "LoadModel")),
        Some(_) => rules::model(&model).map(|()| model),
    }
}

/// An UnloadModel: (name, version, kubernetesMeta).
pub(crate) fn unload_model(
    req: UnloadModelRequest,
) -> Result<(String, Option<u32>, Option<KubernetesMeta>), Status> {
    let reference = req.model.ok_or_else(|| missing("model", "UnloadModel"))?;
    if reference.name.is_empty() {
        return Err(missing("model.name", "UnloadModel"));
    }
    Ok((reference.name, reference.version, req.kubernetes_meta))
}

pub(crate) fn load_pipeline(req: LoadPipelineRequest) -> Result<Pipeline, Status> {
    let pipeline = req
        .pipeline
        .ok_or_else(|| missing("pipeline", "LoadPipeline"))?;
    if pipeline.name.is_empty() {
        return Err(missing("pipeline.name", "LoadPipeline"));
    }
    rules::pipeline(&pipeline)?;
    Ok(pipeline)
}

pub(crate) fn unload_pipeline(req: UnloadPipelineRequest) -> Result<String, Status> {
    non_empty(req.name, "name", "UnloadPipeline")
}

pub(crate) fn start_experiment(req: StartExperimentRequest) -> Result<Experiment, Status> {
    let experiment = req
        .experiment
        .ok_or_else(|| missing("experiment", "StartExperiment"))?;
    if experiment.name.is_empty() {
        return Err(missing("experiment.name", "StartExperiment"));
    }
    rules::experiment(&experiment)?;
    Ok(experiment)
}

pub(crate) fn stop_experiment(req: StopExperimentRequest) -> Result<String, Status> {
    non_empty(req.name, "name", "StopExperiment")
}

/// Every announced server needs a name.
pub(crate) fn server_notify(req: ServerNotifyRequest) -> Result<(Vec<ServerNotify>, bool), Status> {
    if let Some(idx) = req.servers.iter().position(|s| s.name.is_empty()) {
        return Err(missing(&format!("servers[{idx}].name"), "ServerNotify"));
    }
    rules::servers(&req.servers)?;
    Ok((req.servers, req.is_first_sync))
}

/// The optional name filter of a finite status RPC: `None` or empty = all.
pub(crate) fn name_filter(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.is_empty())
}

fn non_empty(value: String, field: &str, rpc: &str) -> Result<String, Status> {
    if value.is_empty() {
        Err(missing(field, rpc))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{MetaData, ModelReference};
    use tonic::Code;

    #[test]
    fn malformed_requests_are_invalid_arguments() {
        fn code<T>(r: Result<T, Status>) -> Option<Code> {
            r.err().map(|s| s.code())
        }
        assert_eq!(
            code(load_model(LoadModelRequest { model: None })),
            Some(Code::InvalidArgument)
        );
        let no_meta = LoadModelRequest {
            model: Some(Model::default()),
        };
        assert_eq!(code(load_model(no_meta)), Some(Code::InvalidArgument));
        let no_name = LoadModelRequest {
            model: Some(Model {
                meta: Some(MetaData::default()),
                ..Default::default()
            }),
        };
        assert_eq!(code(load_model(no_name)), Some(Code::InvalidArgument));
        let unload = UnloadModelRequest {
            model: Some(ModelReference::default()),
            kubernetes_meta: None,
        };
        assert_eq!(code(unload_model(unload)), Some(Code::InvalidArgument));
        assert_eq!(
            code(server_notify(ServerNotifyRequest {
                servers: vec![ServerNotify::default()],
                is_first_sync: false
            })),
            Some(Code::InvalidArgument)
        );
        assert_eq!(
            code(stop_experiment(StopExperimentRequest::default())),
            Some(Code::InvalidArgument)
        );
    }
}
