//! `switchyard demo`: the whole fleet in one process, with no cluster.
//!
//! Starts three simulated Seldon schedulers (one per namespace), the
//! gateway in front of them, loads `examples/demo.yaml` (a Server, two
//! Models and a Pipeline) into every namespace *through the gateway*, then
//! prints the aggregated model and pipeline status as it changes, with one
//! model rescaled every few seconds so there is something to watch.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use futures_util::{StreamExt, stream};
use tonic::transport::Channel;

use crate::app::{App, AppConfig};
use crate::cmd::translate::{Outcome, SchedulerRequest, translate_documents};
use crate::config::GatewayConfig;
use crate::proto::scheduler::scheduler_client::SchedulerClient;
use crate::proto::scheduler::{
    ModelStatusResponse, ModelSubscriptionRequest, PipelineStatusResponse,
    PipelineSubscriptionRequest,
};
use crate::registry::RuntimeSpec;
use crate::simulator::{SimulatorConfig, SimulatorFleet};

/// The manifests loaded into every namespace.
const MANIFESTS: &str = include_str!("../../examples/demo.yaml");
/// The simulated namespaces.
const NAMESPACES: [&str; 3] = ["fraud", "recsys", "search"];

/// Arguments of `switchyard demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Gateway address; if busy, any free port on 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:9004")]
    pub gateway_listen: SocketAddr,
    /// Metrics address; if busy, any free port on 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub metrics_listen: SocketAddr,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Seconds between rescaling a model (0: never).
    #[arg(long, default_value_t = 5)]
    pub rescale_every: u64,
}

/// Runs the demo until Ctrl-C (or `--duration`).
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        gateway_listen,
        metrics_listen,
        duration,
        rescale_every,
    } = args;
    let metrics = crate::telemetry::install_metrics()?;
    let template = SimulatorConfig::new("demo", "127.0.0.1:0".parse()?);
    let fleet =
        SimulatorFleet::start_named(template, NAMESPACES.iter().map(|s| s.to_string()).collect())
            .await?;

    let app = App::start(
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen: free_or_any(gateway_listen),
            metrics_listen: Some(free_or_any(metrics_listen)),
            runtimes_file: None,
            runtimes_poll: Duration::from_secs(2),
            kubernetes: None,
        },
        Some(metrics),
    )
    .await?;
    for sim in fleet.handles() {
        app.registry.apply(RuntimeSpec {
            namespace: sim.namespace().to_owned(),
            address: sim.local_addr().to_string(),
            tls: None,
        });
    }
    println!(
        "switchyard demo: {} simulated namespaces behind one gateway",
        NAMESPACES.len()
    );
    for sim in fleet.handles() {
        println!(
            "  namespace {:<8} scheduler at {}",
            sim.namespace(),
            sim.local_addr()
        );
    }
    println!(
        "  gateway  {}   (seldon.mlops.scheduler.Scheduler for every namespace; metadata seldon-namespace picks one)",
        app.gateway_addr
    );
    if let Some(addr) = app.metrics_addr {
        println!("  metrics  http://{addr}/metrics");
    }
    println!("Ctrl-C to stop.\n");

    let channel = Channel::from_shared(format!("http://{}", app.gateway_addr))?
        .connect()
        .await?;
    let client = SchedulerClient::new(channel);
    let show = tokio::spawn(show_status(client.clone()));
    load_examples(client.clone()).await?;
    let rescale = tokio::spawn(rescale_loop(client, rescale_every));

    let stop = async {
        match duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => crate::cli::run::shutdown_signal().await,
        }
    };
    let result = app.run_until(stop).await;
    show.abort();
    rescale.abort();
    fleet.shutdown().await?;
    result
}

/// `addr` if it can be bound now, else any free port on 127.0.0.1.
fn free_or_any(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

/// Sends every example request for every namespace through the gateway.
async fn load_examples(mut client: SchedulerClient<Channel>) -> anyhow::Result<()> {
    for namespace in NAMESPACES {
        for report in translate_documents(MANIFESTS, namespace) {
            let request = match report.result {
                Ok(Outcome::Request(request)) => *request,
                Ok(Outcome::NoRequest(_)) => continue,
                Err(error) => {
                    anyhow::bail!("examples/demo.yaml document {}: {error}", report.document)
                }
            };
            let rpc = request.rpc();
            let sent = match request {
                SchedulerRequest::LoadModel(r) => client.load_model(r).await.map(drop),
                SchedulerRequest::LoadPipeline(r) => client.load_pipeline(r).await.map(drop),
                SchedulerRequest::StartExperiment(r) => client.start_experiment(r).await.map(drop),
                SchedulerRequest::ServerNotify(mut r) => {
                    r.is_first_sync = true;
                    client.server_notify(r).await.map(drop)
                }
                other => {
                    tracing::debug!(rpc = other.rpc(), "not sent by the demo");
                    Ok(())
                }
            };
            match sent {
                Ok(()) => println!(
                    "{namespace:<8} {rpc:<15} {}",
                    report.name.unwrap_or_default()
                ),
                Err(status) => println!("{namespace:<8} {rpc:<15} failed: {status}"),
            }
        }
    }
    println!();
    Ok(())
}

/// Prints model and pipeline status from the gateway's aggregated streams.
async fn show_status(mut client: SchedulerClient<Channel>) -> anyhow::Result<()> {
    let models = client
        .subscribe_model_status(ModelSubscriptionRequest {
            subscriber_name: "switchyard-demo".into(),
            is_model_gateway: false,
        })
        .await?
        .into_inner()
        .map(|m| m.map(describe_model));
    let pipelines = client
        .subscribe_pipeline_status(PipelineSubscriptionRequest {
            subscriber_name: "switchyard-demo".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .map(|p| p.map(describe_pipeline));
    let mut merged = stream::select(models, pipelines);
    while let Some(line) = merged.next().await {
        match line {
            Ok(line) => println!("{line}"),
            Err(status) => {
                println!("status stream ended: {status}");
                break;
            }
        }
    }
    Ok(())
}

fn describe_model(m: ModelStatusResponse) -> String {
    let Some(v) = m.versions.first() else {
        return format!("{:<8} model    {:<8} (no versions)", "?", m.model_name);
    };
    let ns = v
        .kubernetes_meta
        .as_ref()
        .map_or("?", |k| k.namespace.as_str());
    let state = v.state.clone().unwrap_or_default();
    format!(
        "{ns:<8} model    {:<8} v{} {:<18} {}/{} replicas available on {}",
        m.model_name,
        v.version,
        state.state().as_str_name(),
        state.available_replicas,
        state.available_replicas + state.unavailable_replicas,
        v.server_name,
    )
}

fn describe_pipeline(p: PipelineStatusResponse) -> String {
    let Some(v) = p.versions.last() else {
        return format!("{:<8} pipeline {:<8} (no versions)", "?", p.pipeline_name);
    };
    let ns = v
        .pipeline
        .as_ref()
        .and_then(|p| p.kubernetes_meta.as_ref())
        .map_or("?", |k| k.namespace.as_str());
    let state = v.state.clone().unwrap_or_default();
    format!(
        "{ns:<8} pipeline {:<8} v{} {:<18} gateway {}",
        p.pipeline_name,
        state.pipeline_version,
        state.status().as_str_name(),
        state.pipeline_gw_status().as_str_name(),
    )
}

/// Every `every` seconds, rescales `income` in the next namespace (1 <-> 2
/// replicas), so the status keeps moving.
async fn rescale_loop(mut client: SchedulerClient<Channel>, every: u64) {
    if every == 0 {
        return;
    }
    let mut round = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(every)).await;
        let namespace = NAMESPACES[round % NAMESPACES.len()];
        let replicas = if (round / NAMESPACES.len()).is_multiple_of(2) {
            1
        } else {
            2
        };
        round += 1;
        let Some(mut request) = translate_documents(MANIFESTS, namespace)
            .into_iter()
            .filter(|r| r.name.as_deref() == Some("income"))
            .find_map(|r| match r.result {
                Ok(Outcome::Request(request)) => match *request {
                    SchedulerRequest::LoadModel(load) => Some(load),
                    _ => None,
                },
                _ => None,
            })
        else {
            return;
        };
        if let Some(deployment) = request
            .model
            .as_mut()
            .and_then(|m| m.deployment_spec.as_mut())
        {
            deployment.replicas = replicas;
        }
        println!("{namespace:<8} LoadModel       income -> {replicas} replicas");
        if let Err(status) = client.load_model(request).await {
            println!("{namespace:<8} rescale failed: {status}");
        }
    }
}
