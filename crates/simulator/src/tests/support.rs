//! Helpers shared by the simulator tests: starting a simulator on
//! 127.0.0.1:0, clients, request builders and deadline-bounded waits.

pub(super) use std::time::Duration;

pub(super) use crate::{Rpc, Simulator, SimulatorConfig, SimulatorFleet, SimulatorHandle};
pub(super) use switchyard_proto::health::{
    HealthCheckRequest, health_check_service_client::HealthCheckServiceClient,
};
pub(super) use switchyard_proto::scheduler::{
    ControlPlaneSubscriptionRequest, DeploymentSpec, Experiment, ExperimentCandidate,
    ExperimentStatusRequest, ExperimentSubscriptionRequest, KubernetesMeta, LoadModelRequest,
    LoadPipelineRequest, MetaData, Model, ModelReference, ModelSpec, ModelStatusRequest,
    ModelStatusResponse, ModelSubscriptionRequest, Pipeline, PipelineStatusRequest, PipelineStep,
    PipelineSubscriptionRequest, SchedulerStatusRequest, ServerNotify, ServerNotifyRequest,
    ServerStatusRequest, ServerSubscriptionRequest, StartExperimentRequest, StopExperimentRequest,
    UnloadModelRequest, UnloadPipelineRequest, control_plane_response::Event,
    model_status::ModelState, pipeline_version_state::PipelineStatus,
    scheduler_client::SchedulerClient, server_status_response::Type,
};
pub(super) use tokio::time::{Instant, timeout};
pub(super) use tonic::{
    Code, Status, Streaming,
    transport::{Channel, Endpoint},
};

pub(super) const DEADLINE: Duration = Duration::from_secs(10);

pub(super) const SUBSCRIBER: &str = "test";

pub(super) fn config() -> SimulatorConfig {
    let mut config = SimulatorConfig::new("ns1", "127.0.0.1:0".parse().expect("address"));
    config.sync_timeout = Duration::ZERO;
    config.knobs.transition_delay = Duration::from_millis(20);
    config
}

pub(super) async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

pub(super) async fn channel(sim: &SimulatorHandle) -> Channel {
    Endpoint::from_shared(sim.uri())
        .expect("uri")
        .connect()
        .await
        .expect("connects")
}

pub(super) async fn client(sim: &SimulatorHandle) -> SchedulerClient<Channel> {
    SchedulerClient::new(channel(sim).await)
}

pub(super) fn k8s(generation: i64) -> Option<KubernetesMeta> {
    Some(KubernetesMeta {
        namespace: "ns1".into(),
        generation,
    })
}

pub(super) fn model(name: &str, uri: &str, replicas: u32, generation: i64) -> Model {
    Model {
        meta: Some(MetaData {
            name: name.into(),
            kind: None,
            version: None,
            kubernetes_meta: k8s(generation),
        }),
        model_spec: Some(ModelSpec {
            uri: uri.into(),
            ..Default::default()
        }),
        deployment_spec: Some(DeploymentSpec {
            replicas,
            min_replicas: 0,
            max_replicas: u32::MAX,
            log_payloads: false,
        }),
        stream_spec: None,
        dataflow_spec: None,
    }
}

pub(super) fn load(m: Model) -> LoadModelRequest {
    LoadModelRequest { model: Some(m) }
}

pub(super) fn unload(name: &str) -> UnloadModelRequest {
    UnloadModelRequest {
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        kubernetes_meta: k8s(2),
    }
}

/// The next message, within the deadline.
pub(super) async fn next<T>(stream: &mut Streaming<T>) -> T {
    timeout(DEADLINE, stream.message())
        .await
        .expect("a message before the deadline")
        .expect("no stream error")
        .expect("stream still open")
}

/// Messages until one satisfies `pred`, within the deadline.
pub(super) async fn read_until<T>(
    stream: &mut Streaming<T>,
    mut pred: impl FnMut(&T) -> bool,
) -> T {
    timeout(DEADLINE, async {
        loop {
            match stream.message().await {
                Ok(Some(m)) if pred(&m) => return m,
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended while waiting"),
                Err(status) => panic!("stream failed while waiting: {status:?}"),
            }
        }
    })
    .await
    .expect("condition met before the deadline")
}

/// The error that ends `stream`, within the deadline (messages skipped).
pub(super) async fn stream_error<T>(stream: &mut Streaming<T>) -> Status {
    timeout(DEADLINE, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended cleanly, expected an error"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("stream ended before the deadline")
}

pub(super) fn model_state(m: &ModelStatusResponse) -> (ModelState, ModelState) {
    let state = m
        .versions
        .first()
        .and_then(|v| v.state.clone())
        .unwrap_or_default();
    (state.state(), state.model_gw_state())
}

pub(super) async fn subscribe_models(
    c: &mut SchedulerClient<Channel>,
) -> Streaming<ModelStatusResponse> {
    c.subscribe_model_status(ModelSubscriptionRequest {
        subscriber_name: SUBSCRIBER.into(),
        is_model_gateway: false,
    })
    .await
    .expect("subscribed")
    .into_inner()
}

pub(super) async fn count_models(c: &mut SchedulerClient<Channel>) -> usize {
    let mut stream = c
        .model_status(ModelStatusRequest::default())
        .await
        .expect("model status")
        .into_inner();
    let mut n = 0;
    while timeout(DEADLINE, stream.message())
        .await
        .expect("finite stream ends")
        .expect("no error")
        .is_some()
    {
        n += 1;
    }
    n
}

pub(super) async fn collect_all<T>(mut stream: Streaming<T>) -> Vec<T> {
    let mut items = Vec::new();
    while let Some(item) = timeout(DEADLINE, stream.message())
        .await
        .expect("finite stream ends")
        .expect("no error")
    {
        items.push(item);
    }
    items
}

/// Reads one HTTP/2 frame: (type, flags, payload).
pub(super) async fn read_frame(
    tcp: &mut tokio::net::TcpStream,
) -> std::io::Result<(u8, u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut header = [0_u8; 9];
    tcp.read_exact(&mut header).await?;
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]);
    let mut payload = vec![0; usize::try_from(length).expect("small frame")];
    tcp.read_exact(&mut payload).await?;
    Ok((header[3], header[4], payload))
}
