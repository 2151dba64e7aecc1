//! The controllers of Model, Pipeline, Experiment and Server: Kubernetes
//! changes in, scheduler calls (through `core::schedulers`) and status, finalizer and
//! event writes (through the [`ApiWriter`](crate::ApiWriter)) out.
//!
//! Each kind runs a kube-runtime controller over all namespaces, or one per
//! listed namespace, with an explicit concurrency ([`RECONCILE_CONCURRENCY`]):
//! kube-runtime never reconciles one object twice at once, different objects
//! run concurrently, and every scheduler call has a timeout, so a slow or
//! unreachable scheduler only delays its own namespace's objects (Seldon ran
//! one worker per kind for the whole cluster, docs/seldon-compat.md#reconcile-concurrency).
//!
//! Controllers run only while this replica leads: [`Controllers::start`]
//! waits for the lease, runs the controllers (whose first list reconciles
//! every object; `status.observedGeneration` keeps that from calling the
//! scheduler again for what it already has), and stops them when the lease
//! is lost. Retryable failures back off per object (1 s doubling to 60 s);
//! final ones (invalid spec, FailedPrecondition, Unimplemented) wait for the
//! user to change the object. See [`lifecycle`] for the per-object flow,
//! [`error`] for the classification, [`server`] for Servers.
//!
//! Out of scope: StatefulSets and Services of Servers and SeldonRuntimes
//! (built by `switchyard-workloads`, not applied yet), scaling requests and
//! finalizer removal on terminal status (the status writer), resync (the
//! control-plane handler).

pub mod context;
pub mod error;
pub mod experiment;
pub mod lifecycle;
#[cfg(test)]
mod log_fields;
mod metrics;
pub mod model;
pub mod pipeline;
mod presence;
pub mod runtime;
pub mod server;
mod server_workload;
mod triggers;
pub mod workload;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use futures_util::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::Store;
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use switchyard_tasks::TaskGroup;
use switchyard_workloads::server::REPLICA_LABEL;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use context::{Context, DEFAULT_TEMPLATES_NAMESPACE, DELETION_RECHECK};
pub use error::{ReconcileError, RetryBackoff};
pub use experiment::{EXPERIMENT_CONTROLLER, EXPERIMENT_FINALIZER};
pub use lifecycle::SCHEDULER_CALL_TIMEOUT;
pub use model::{MODEL_CONTROLLER, MODEL_FINALIZER};
pub use pipeline::{PIPELINE_CONTROLLER, PIPELINE_FINALIZER};
pub use runtime::RUNTIME_CONTROLLER;
pub use server::{SERVER_CONTROLLER, SERVER_NOTIFY_TIMEOUT};

use context::{ControllerContext, key};
use lifecycle::ManagedKind;
use metrics::ControllerMetrics;

use crate::leader::{until_leading, until_not_leading};
use switchyard_api::{
    Experiment, Model, Pipeline, SeldonConfig, SeldonRuntime, Server, ServerConfig,
};

/// Reconciles each controller runs at once. kube-runtime's default is
/// unbounded, which under a burst (a re-list of thousands of objects) would
/// open thousands of scheduler calls and API writes at once; 16 keeps a
/// slow namespace from taking every slot (each call is bounded by its
/// timeout) while staying well inside the API server's client-side limits
/// on a 2-core operator.
pub const RECONCILE_CONCURRENCY: u16 = 16;

/// How often the per-object memory forgets objects that are gone.
pub const MEMORY_PRUNE_INTERVAL: Duration = Duration::from_secs(300);

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The running controllers: one task per kind, in the caller's group;
/// they stop when the group is cancelled.
pub struct Controllers {
    listed: Vec<watch::Receiver<bool>>,
}

/// How a controller stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stopped {
    /// Its running reconciles finished (or none was running).
    Cleanly,
    /// Reconciles still running after [`STOP_GRACE`] were dropped.
    Dropped,
}

impl Controllers {
    /// Starts the Model, Pipeline, Experiment and Server controllers as
    /// tasks of `tasks`, watching every namespace (`namespaces` = `None`)
    /// or only the listed ones, with the writer's client. They reconcile
    /// only while the writer's replica leads. A controller whose running
    /// reconciles had to be dropped at shutdown ends with an error.
    pub fn start(
        context: Context,
        namespaces: Option<Vec<String>>,
        tasks: &TaskGroup,
    ) -> Controllers {
        let mut listed = Vec::new();
        let mut signal = || {
            let (tx, rx) = watch::channel(true);
            listed.push(rx);
            tx
        };
        let cancel = tasks.token();
        let runs = [
            (
                MODEL_CONTROLLER,
                managed_controller::<Model>(
                    MODEL_CONTROLLER,
                    &context,
                    &namespaces,
                    &cancel,
                    signal(),
                ),
            ),
            (
                PIPELINE_CONTROLLER,
                managed_controller::<Pipeline>(
                    PIPELINE_CONTROLLER,
                    &context,
                    &namespaces,
                    &cancel,
                    signal(),
                ),
            ),
            (
                EXPERIMENT_CONTROLLER,
                managed_controller::<Experiment>(
                    EXPERIMENT_CONTROLLER,
                    &context,
                    &namespaces,
                    &cancel,
                    signal(),
                ),
            ),
            (
                SERVER_CONTROLLER,
                server_controller(&context, &namespaces, &cancel, signal()),
            ),
            (
                RUNTIME_CONTROLLER,
                runtime_controller(&context, &namespaces, &cancel, signal()),
            ),
        ];
        for (name, run) in runs {
            tasks.spawn_fallible(format!("controller/{name}"), async move {
                match run.await {
                    Stopped::Cleanly => Ok(()),
                    Stopped::Dropped => Err(format!(
                        "reconciles still running {STOP_GRACE:?} after the stop were dropped"
                    )),
                }
            });
        }
        Controllers { listed }
    }

    /// Waits until no controller is waiting for its first list: each has
    /// listed its objects in the current leadership term, or this replica
    /// does not lead. (A standby has nothing to list.)
    pub fn listed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut listed = self.listed.clone();
        async move {
            for rx in &mut listed {
                // An error: the controller is gone; nothing to wait for.
                let _ = rx.wait_for(|listed| *listed).await;
            }
        }
    }
}

fn apis<K>(context: &Context, namespaces: &Option<Vec<String>>) -> Vec<Api<K>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    let client = context.writer.client().clone();
    match namespaces {
        None => vec![Api::all(client)],
        Some(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    }
}

/// How long a controller's running reconciles get to finish on shutdown.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// One namespace's (or the cluster's) controller run, made to end when
/// `term` fires even before its first list completed.
///
/// kube-runtime holds the reconcile runner until the store has its first
/// list; a graceful shutdown that comes before then ends the watch, so the
/// store never becomes ready and the run never ends (kube-runtime 5.0).
/// No reconcile can have started in that case, so dropping the run loses
/// nothing; once the store is ready, the run drains its reconciles and ends
/// by itself.
fn until_stopped<K>(
    run: impl Future<Output = ()> + Send + 'static,
    store: Store<K>,
    term: CancellationToken,
) -> Task
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    Box::pin(async move {
        let unready_at_stop = async {
            term.cancelled().await;
            if store.wait_until_ready().now_or_never().is_some() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = run => {}
            () = unready_at_stop => {
                tracing::debug!("controller stopped before its first list; no reconcile was running");
            }
        }
    })
}

fn controller_context(
    name: &'static str,
    context: &Context,
    controllers: usize,
) -> Arc<ControllerContext> {
    let concurrency = context
        .reconcile_concurrency
        .saturating_mul(controllers.max(1) as u16);
    Arc::new(ControllerContext::new(
        context.clone(),
        ControllerMetrics::new(name, concurrency),
    ))
}

fn config(concurrency: u16) -> controller::Config {
    controller::Config::default().concurrency(concurrency)
}

/// How long a SeldonRuntime's triggers must pause before it reconciles
/// (trailing edge). A burst of Model or Pipeline creations in a namespace
/// (each one moves the gateways' replica caps) then costs one reconcile,
/// a few dozen reads, instead of one per object; every other change of the
/// runtime or its objects is applied this much later.
pub const RUNTIME_DEBOUNCE: Duration = Duration::from_millis(250);

/// Logs what a controller stream yields (errors only: successes are in the
/// metrics).
fn log_result<T, E: std::fmt::Display>(name: &'static str, result: Result<T, E>) {
    if let Err(e) = result {
        tracing::warn!(controller = name, error = %e, "controller error");
    }
}

fn managed_controller<K: ManagedKind>(
    name: &'static str,
    context: &Context,
    namespaces: &Option<Vec<String>>,
    cancel: &CancellationToken,
    listed: watch::Sender<bool>,
) -> BoxFuture<'static, Stopped> {
    let apis = apis::<K>(context, namespaces);
    let ctx = controller_context(name, context, apis.len());
    let concurrency = context.reconcile_concurrency;
    let build = move |ctx: Arc<ControllerContext>, term: CancellationToken| {
        let mut stores = Vec::new();
        let mut tasks: Vec<Task> = Vec::new();
        for api in &apis {
            let (reader, writer) = kube::runtime::reflector::store();
            // Only the changes a reconcile acts on trigger one: not the
            // status writes (ours and the stream's, three per object on
            // the way to Ready), unless they say the scheduler lost it.
            let changes = watcher(api.clone(), watcher::Config::default())
                .default_backoff()
                .reflect(writer)
                .applied_objects()
                .predicate_filter(lifecycle::acted_on::<K>, PredicateConfig::default());
            let controller = Controller::for_stream(changes, reader)
                .with_config(config(concurrency))
                .graceful_shutdown_on(term.clone().cancelled_owned());
            let store = controller.store();
            stores.push(store.clone());
            let run = controller
                .run(
                    |obj: Arc<K>, ctx: Arc<ControllerContext>| async move {
                        lifecycle::observe(&*obj, &ctx, lifecycle::reconcile(obj.clone(), &ctx))
                            .await
                    },
                    |_, _, _| controller::Action::await_change(),
                    ctx.clone(),
                )
                .for_each(move |r| {
                    log_result(name, r);
                    std::future::ready(())
                });
            tasks.push(until_stopped(run, store, term.clone()));
        }
        (tasks, stores)
    };
    supervise(ctx, cancel.clone(), listed, build).boxed()
}

fn server_controller(
    context: &Context,
    namespaces: &Option<Vec<String>>,
    cancel: &CancellationToken,
    listed: watch::Sender<bool>,
) -> BoxFuture<'static, Stopped> {
    let statefulsets = apis::<PartialObjectMeta<StatefulSet>>(context, namespaces);
    let deployments = apis::<PartialObjectMeta<Deployment>>(context, namespaces);
    let services = apis::<Service>(context, namespaces);
    let templates: Api<PartialObjectMeta<ServerConfig>> = Api::namespaced(
        context.writer.client().clone(),
        &context.templates_namespace,
    );
    let apis = apis::<Server>(context, namespaces);
    let ctx = controller_context(SERVER_CONTROLLER, context, apis.len());
    let concurrency = context.reconcile_concurrency;
    let build = move |ctx: Arc<ControllerContext>, term: CancellationToken| {
        let mut stores = Vec::new();
        let mut tasks: Vec<Task> = Vec::new();
        for (((api, sts), deploy), svc) in apis
            .iter()
            .zip(&statefulsets)
            .zip(&deployments)
            .zip(&services)
        {
            // The workload of a Server has the Server's name (docs/seldon-compat.md#server-workloads).
            let controller = Controller::new(api.clone(), watcher::Config::default());
            let servers = controller.store();
            let controller = controller
                // A ServerConfig edit rolls to every Server built from it
                // (unless `disableAutoUpdate`).
                .watches(
                    templates.clone(),
                    watcher::Config::default(),
                    move |config: PartialObjectMeta<ServerConfig>| {
                        built_from(&servers, &config.name_any())
                    },
                )
                // Only Servers' workloads, metadata only.
                .watches(sts.clone(), triggers::server_workloads(), same_name)
                .watches(deploy.clone(), triggers::server_workloads(), same_name)
                // A Server's per-replica Services: one deleted is put back.
                .owns(
                    svc.clone(),
                    watcher::Config::default().labels(REPLICA_LABEL),
                )
                .with_config(config(concurrency))
                .graceful_shutdown_on(term.clone().cancelled_owned());
            let store = controller.store();
            stores.push(store.clone());
            let run = controller
                .run(
                    |obj: Arc<Server>, ctx: Arc<ControllerContext>| async move {
                        lifecycle::observe(&*obj, &ctx, server::reconcile(obj.clone(), &ctx)).await
                    },
                    |_, _, _| controller::Action::await_change(),
                    ctx.clone(),
                )
                .for_each(|r| {
                    log_result(SERVER_CONTROLLER, r);
                    std::future::ready(())
                });
            tasks.push(until_stopped(run, store, term.clone()));
            tasks.push(Box::pin(server::watch_deletions(
                api.clone(),
                ctx.clone(),
                term.clone(),
            )));
        }
        (tasks, stores)
    };
    supervise(ctx, cancel.clone(), listed, build).boxed()
}

fn runtime_controller(
    context: &Context,
    namespaces: &Option<Vec<String>>,
    cancel: &CancellationToken,
    listed: watch::Sender<bool>,
) -> BoxFuture<'static, Stopped> {
    let statefulsets = apis::<StatefulSet>(context, namespaces);
    let deployments = apis::<Deployment>(context, namespaces);
    let services = apis::<Service>(context, namespaces);
    let config_maps = apis::<ConfigMap>(context, namespaces);
    let models = apis::<PartialObjectMeta<Model>>(context, namespaces);
    let pipelines = apis::<PartialObjectMeta<Pipeline>>(context, namespaces);
    let templates: Api<PartialObjectMeta<SeldonConfig>> = Api::namespaced(
        context.writer.client().clone(),
        &context.templates_namespace,
    );
    let apis = apis::<SeldonRuntime>(context, namespaces);
    let ctx = controller_context(RUNTIME_CONTROLLER, context, apis.len());
    let concurrency = context.reconcile_concurrency;
    let build = move |ctx: Arc<ControllerContext>, term: CancellationToken| {
        let mut stores = Vec::new();
        let mut tasks: Vec<Task> = Vec::new();
        for (i, api) in apis.iter().enumerate() {
            let controller = Controller::new(api.clone(), watcher::Config::default());
            let runtimes = controller.store();
            let (by_config, by_models, by_pipelines) =
                (runtimes.clone(), runtimes.clone(), runtimes.clone());
            let controller = controller
                // Everything built for a runtime: one changed or deleted is
                // put back (metadata watches; workloads and Services by
                // their component label).
                .owns(statefulsets[i].clone(), triggers::runtime_components())
                .owns(deployments[i].clone(), triggers::runtime_components())
                .owns(services[i].clone(), triggers::runtime_components())
                .owns(config_maps[i].clone(), watcher::Config::default())
                // A SeldonConfig edit rolls to the runtimes built from it.
                .watches(
                    templates.clone(),
                    watcher::Config::default(),
                    move |config: PartialObjectMeta<SeldonConfig>| {
                        let name = config.name_any();
                        by_config
                            .state()
                            .iter()
                            .filter(|r| r.spec.seldon_config == name && !r.spec.disable_auto_update)
                            .map(|r| ObjectRef::from_obj(&**r))
                            .collect::<Vec<_>>()
                    },
                )
                // Models and Pipelines cap the gateways' replicas: their
                // number counts, not their status.
                .watches_stream(
                    triggers::arrivals_and_departures(models[i].clone()),
                    move |m: PartialObjectMeta<Model>| in_namespace(&by_models, m.namespace()),
                )
                .watches_stream(
                    triggers::arrivals_and_departures(pipelines[i].clone()),
                    move |p: PartialObjectMeta<Pipeline>| {
                        in_namespace(&by_pipelines, p.namespace())
                    },
                )
                .with_config(config(concurrency).debounce(RUNTIME_DEBOUNCE))
                .graceful_shutdown_on(term.clone().cancelled_owned());
            let store = controller.store();
            stores.push(store.clone());
            let run = controller
                .run(
                    |obj: Arc<SeldonRuntime>, ctx: Arc<ControllerContext>| async move {
                        lifecycle::observe(&*obj, &ctx, runtime::reconcile(obj.clone(), &ctx)).await
                    },
                    |_, _, _| controller::Action::await_change(),
                    ctx.clone(),
                )
                .for_each(|r| {
                    log_result(RUNTIME_CONTROLLER, r);
                    std::future::ready(())
                });
            tasks.push(until_stopped(run, store, term.clone()));
        }
        (tasks, stores)
    };
    supervise(ctx, cancel.clone(), listed, build).boxed()
}

/// The runtimes of `namespace`.
fn in_namespace(
    runtimes: &Store<SeldonRuntime>,
    namespace: Option<String>,
) -> Vec<ObjectRef<SeldonRuntime>> {
    runtimes
        .state()
        .iter()
        .filter(|r| r.namespace() == namespace)
        .map(|r| ObjectRef::from_obj(&**r))
        .collect()
}

/// The Servers built from ServerConfig `config` that follow its changes.
fn built_from(servers: &Store<Server>, config: &str) -> Vec<ObjectRef<Server>> {
    servers
        .state()
        .iter()
        .filter(|s| s.spec.server_config == config && !s.spec.disable_auto_update)
        .map(|s| ObjectRef::from_obj(&**s))
        .collect()
}

/// The Server a StatefulSet or Deployment runs: the one of its name.
fn same_name<W: Resource>(workload: W) -> Option<ObjectRef<Server>> {
    let namespace = workload.meta().namespace.clone()?;
    Some(ObjectRef::new(&workload.name_any()).within(&namespace))
}

/// Runs one kind's controllers for each leadership term until `cancel`:
/// wait for the lease, start fresh (memory emptied), prune the memory of
/// gone objects now and then, stop when the lease is lost. `listed` is
/// false from the start of a term until every store has its first list.
async fn supervise<K, B>(
    ctx: Arc<ControllerContext>,
    cancel: CancellationToken,
    listed: watch::Sender<bool>,
    build: B,
) -> Stopped
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    B: Fn(Arc<ControllerContext>, CancellationToken) -> (Vec<Task>, Vec<Store<K>>),
{
    let name = ctx.metrics.controller();
    let mut leader = ctx.shared.writer.leadership();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Stopped::Cleanly,
            leading = until_leading(&mut leader) => if !leading { return Stopped::Cleanly },
        }
        tracing::info!(controller = name, "leading: controller started");
        ctx.retain(|_| false);
        let term = cancel.child_token();
        let (tasks, stores) = build(ctx.clone(), term.clone());
        listed.send_replace(false);
        let mut first_lists = std::pin::pin!(join_all(
            stores
                .iter()
                .map(|store| {
                    let store = store.clone();
                    async move { store.wait_until_ready().await.is_ok() }
                })
                .collect::<Vec<_>>()
        ));
        let mut listing = true;
        let mut runs = std::pin::pin!(join_all(tasks));
        let mut prune = tokio::time::interval_at(
            tokio::time::Instant::now() + MEMORY_PRUNE_INTERVAL,
            MEMORY_PRUNE_INTERVAL,
        );
        let mut lost = leader.clone();
        let mut lost = std::pin::pin!(async move { until_not_leading(&mut lost).await });
        let mut leading = true;
        loop {
            tokio::select! {
                _ = &mut runs => break,
                () = cancel.cancelled() => {
                    // Process shutdown: let running reconciles finish for a
                    // moment, then drop them (a stuck scheduler call must
                    // not hold the pod past its grace period).
                    term.cancel();
                    if tokio::time::timeout(STOP_GRACE, &mut runs).await.is_err() {
                        tracing::warn!(controller = name, grace = ?STOP_GRACE, "controller did not stop in time; dropped");
                        return Stopped::Dropped;
                    }
                    return Stopped::Cleanly;
                }
                () = &mut lost, if leading => {
                    tracing::info!(controller = name, "lease lost: controller stopping");
                    leading = false;
                    term.cancel();
                }
                _ = &mut first_lists, if listing => {
                    listing = false;
                    listed.send_replace(true);
                }
                _ = prune.tick() => {
                    let live: HashSet<String> = stores
                        .iter()
                        .flat_map(|s| s.state())
                        .map(|o| key(&*o))
                        .collect();
                    ctx.retain(|k| live.contains(k));
                }
            }
        }
        term.cancel();
        listed.send_replace(true);
        if cancel.is_cancelled() {
            return Stopped::Cleanly;
        }
    }
}
