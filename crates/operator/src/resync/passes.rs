//! One pass per control-plane event: what is re-sent for SEND_SERVERS,
//! SEND_MODELS, SEND_PIPELINES and SEND_EXPERIMENTS.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::ResourceExt;

use super::calls::{
    call, classify, deleting, get_opt, has_finalizer, list, listing, resend, sent, translated,
};
use super::{Ctx, ResyncError};
use crate::status::{EXPERIMENT_FINALIZER, MODEL_FINALIZER, PIPELINE_FINALIZER};
use switchyard_api::experiment::Experiment;
use switchyard_api::model::Model;
use switchyard_api::pipeline::Pipeline;
use switchyard_api::server::Server;
use switchyard_core::schedulers::{SUBSCRIBER_NAME, Scheduler};
use switchyard_proto::scheduler::pipeline_version_state::PipelineStatus;
use switchyard_proto::scheduler::{
    ExperimentStatusRequest, PipelineStatusRequest, ServerNotifyRequest,
};
use switchyard_translate::{self as translate, validate_scaling};

/// SEND_SERVERS: every Server of the namespace in one first-sync
/// ServerNotify (empty when there is none).
pub(super) async fn servers(
    ctx: &Ctx,
    ns: &str,
    client: Arc<dyn Scheduler>,
) -> Result<(), ResyncError> {
    let servers: Vec<Server> = list(ctx, ns).await?;
    let mut live = BTreeMap::new();
    for server in &servers {
        let name = server.name_any();
        live.insert(name.clone(), live_replicas(ctx, ns, server).await?);
    }
    let batch = translate::server::resync_server_notify_request(&servers, &live);
    for failure in &batch.failures {
        tracing::warn!(namespace = ns, server = failure.name, error = %failure.error, "server left out of the resync");
    }
    let request = batch.request.unwrap_or(ServerNotifyRequest {
        servers: Vec::new(),
        is_first_sync: true,
    });
    let count = request.servers.len();
    let what = format!("ServerNotify for {ns}");
    if let Err(status) = call(|| what.clone(), client.server_notify(request)).await? {
        return classify(what, status);
    }
    for _ in 0..count {
        sent(ns, "server");
    }
    tracing::info!(namespace = ns, servers = count, "servers resynced");
    Ok(())
}

/// What runs for `server`: its StatefulSet's or Deployment's replicas,
/// else (not applied yet) its own validated scaling.
pub(super) async fn live_replicas(
    ctx: &Ctx,
    ns: &str,
    server: &Server,
) -> Result<i32, ResyncError> {
    let name = server.name_any();
    if let Some(sts) = get_opt::<StatefulSet>(ctx, ns, &name).await? {
        return Ok(sts.spec.replicas.unwrap_or(1));
    }
    if let Some(deployment) = get_opt::<Deployment>(ctx, ns, &name).await? {
        return Ok(deployment.spec.replicas.unwrap_or(1));
    }
    let spec = &server.spec;
    Ok(
        match validate_scaling(spec.replicas, spec.min_replicas, spec.max_replicas) {
            Ok(scaling) => i32::try_from(scaling.replicas).unwrap_or(i32::MAX),
            // Left as written: the batch reports the invalid spec.
            Err(_) => spec.replicas.unwrap_or_default(),
        },
    )
}

/// SEND_MODELS: unload deleting Models, load every other one.
pub(super) async fn models(
    ctx: &Ctx,
    ns: &str,
    client: Arc<dyn Scheduler>,
) -> Result<(), ResyncError> {
    let models: Vec<Model> = list(ctx, ns).await?;
    for model in models.iter().filter(|m| deleting(*m)) {
        if !has_finalizer(model, MODEL_FINALIZER) {
            continue;
        }
        let name = model.name_any();
        let request = translate::model::unload_model_request(model);
        let accepted = match translated(ns, "UnloadModel", &name, request) {
            Some(request) => {
                let what = format!("UnloadModel {ns}/{name}");
                resend(ns, "model", what, client.unload_model(request)).await?
            }
            None => false,
        };
        if !accepted {
            ctx.writer.remove_finalizer(model, MODEL_FINALIZER).await?;
        }
    }
    let mut loaded = Vec::new();
    for model in models.iter().filter(|m| !deleting(*m)) {
        let name = model.name_any();
        let request = translate::model::load_model_request(model);
        if let Some(request) = translated(ns, "LoadModel", &name, request) {
            let what = format!("LoadModel {ns}/{name}");
            if resend(ns, "model", what, client.load_model(request)).await? {
                loaded.push(model);
            }
        }
    }
    for model in taken_back(ctx, ns, loaded).await? {
        let name = model.name_any();
        let request = translate::model::unload_model_request(model);
        if let Some(request) = translated(ns, "UnloadModel", &name, request) {
            let what = format!("UnloadModel {ns}/{name}");
            resend(ns, "model", what, client.unload_model(request)).await?;
        }
    }
    Ok(())
}

/// The latest status of every pipeline the scheduler has.
pub(super) async fn scheduler_pipelines(
    ns: &str,
    client: &dyn Scheduler,
) -> Result<HashMap<String, PipelineStatus>, ResyncError> {
    let what = || format!("PipelineStatus of {ns}");
    let request = PipelineStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
        name: None,
        all_versions: false,
    };
    let listing = listing(what, client.pipeline_status(request)).await?;
    let mut found = HashMap::new();
    for response in listing {
        let status = response
            .versions
            .last()
            .and_then(|v| v.state.as_ref())
            .map_or(PipelineStatus::Unknown, |s| s.status());
        found.insert(response.pipeline_name, status);
    }
    Ok(found)
}

/// SEND_PIPELINES: load every Pipeline the scheduler lacks; unload deleting
/// ones it still has, release those it does not.
pub(super) async fn pipelines(
    ctx: &Ctx,
    ns: &str,
    client: Arc<dyn Scheduler>,
) -> Result<(), ResyncError> {
    let has = scheduler_pipelines(ns, &*client).await?;
    let pipelines: Vec<Pipeline> = list(ctx, ns).await?;
    let mut loaded = Vec::new();
    for pipeline in &pipelines {
        let name = pipeline.name_any();
        let known = has.get(&name).copied();
        if deleting(pipeline) {
            if !has_finalizer(pipeline, PIPELINE_FINALIZER) {
                continue;
            }
            match known {
                None | Some(PipelineStatus::PipelineTerminated) => {
                    ctx.writer
                        .remove_finalizer(pipeline, PIPELINE_FINALIZER)
                        .await?;
                }
                // Already going: the Terminated event releases it.
                Some(PipelineStatus::PipelineTerminating | PipelineStatus::PipelineTerminate) => {}
                Some(_) => {
                    let request = translate::pipeline::unload_pipeline_request(pipeline);
                    let accepted = match translated(ns, "UnloadPipeline", &name, request) {
                        Some(request) => {
                            let what = format!("UnloadPipeline {ns}/{name}");
                            resend(ns, "pipeline", what, client.unload_pipeline(request)).await?
                        }
                        None => false,
                    };
                    if !accepted {
                        ctx.writer
                            .remove_finalizer(pipeline, PIPELINE_FINALIZER)
                            .await?;
                    }
                }
            }
            continue;
        }
        if !matches!(known, None | Some(PipelineStatus::PipelineTerminated)) {
            continue;
        }
        let request = translate::pipeline::load_pipeline_request(pipeline);
        if let Some(request) = translated(ns, "LoadPipeline", &name, request) {
            let what = format!("LoadPipeline {ns}/{name}");
            if resend(ns, "pipeline", what, client.load_pipeline(request)).await? {
                loaded.push(pipeline);
            }
        }
    }
    for pipeline in taken_back(ctx, ns, loaded).await? {
        let name = pipeline.name_any();
        let request = translate::pipeline::unload_pipeline_request(pipeline);
        if let Some(request) = translated(ns, "UnloadPipeline", &name, request) {
            let what = format!("UnloadPipeline {ns}/{name}");
            resend(ns, "pipeline", what, client.unload_pipeline(request)).await?;
        }
    }
    Ok(())
}

/// Whether each experiment the scheduler has is active.
pub(super) async fn scheduler_experiments(
    ns: &str,
    client: &dyn Scheduler,
) -> Result<HashMap<String, bool>, ResyncError> {
    let what = || format!("ExperimentStatus of {ns}");
    let request = ExperimentStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
        name: None,
    };
    let listing = listing(what, client.experiment_status(request)).await?;
    Ok(listing
        .into_iter()
        .map(|response| (response.experiment_name, response.active))
        .collect())
}

/// SEND_EXPERIMENTS: start every Experiment the scheduler lacks; stop
/// deleting ones it runs, release the others.
pub(super) async fn experiments(
    ctx: &Ctx,
    ns: &str,
    client: Arc<dyn Scheduler>,
) -> Result<(), ResyncError> {
    let has = scheduler_experiments(ns, &*client).await?;
    let experiments: Vec<Experiment> = list(ctx, ns).await?;
    let mut started = Vec::new();
    for experiment in &experiments {
        let name = experiment.name_any();
        let known = has.get(&name).copied();
        if deleting(experiment) {
            if !has_finalizer(experiment, EXPERIMENT_FINALIZER) {
                continue;
            }
            if known != Some(true) {
                ctx.writer
                    .remove_finalizer(experiment, EXPERIMENT_FINALIZER)
                    .await?;
                continue;
            }
            let request = translate::experiment::stop_experiment_request(experiment);
            let accepted = match translated(ns, "StopExperiment", &name, request) {
                Some(request) => {
                    let what = format!("StopExperiment {ns}/{name}");
                    resend(ns, "experiment", what, client.stop_experiment(request)).await?
                }
                None => false,
            };
            if !accepted {
                ctx.writer
                    .remove_finalizer(experiment, EXPERIMENT_FINALIZER)
                    .await?;
            }
            continue;
        }
        if known.is_some() {
            continue;
        }
        let request = translate::experiment::start_experiment_request(experiment);
        if let Some(request) = translated(ns, "StartExperiment", &name, request) {
            let what = format!("StartExperiment {ns}/{name}");
            if resend(ns, "experiment", what, client.start_experiment(request)).await? {
                started.push(experiment);
            }
        }
    }
    for experiment in taken_back(ctx, ns, started).await? {
        let name = experiment.name_any();
        let request = translate::experiment::stop_experiment_request(experiment);
        if let Some(request) = translated(ns, "StopExperiment", &name, request) {
            let what = format!("StopExperiment {ns}/{name}");
            resend(ns, "experiment", what, client.stop_experiment(request)).await?;
        }
    }
    Ok(())
}

/// Of the objects this pass loaded, those deleted meanwhile: the deletion
/// may have found the scheduler without them (so their finalizer went at
/// once) before the load reached it, leaving them loaded with no object
/// behind. They are unloaded again. One more list, only after loads.
async fn taken_back<'a, K>(
    ctx: &Ctx,
    ns: &str,
    loaded: Vec<&'a K>,
) -> Result<Vec<&'a K>, ResyncError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    if loaded.is_empty() {
        return Ok(loaded);
    }
    let live: HashSet<String> = list::<K>(ctx, ns)
        .await?
        .iter()
        .filter(|o| !deleting(*o))
        .map(|o| o.name_any())
        .collect();
    Ok(loaded
        .into_iter()
        .filter(|o| !live.contains(&o.name_any()))
        .collect())
}
