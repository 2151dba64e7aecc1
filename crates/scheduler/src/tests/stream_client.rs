//! The pool's upstream streams use 1 KiB codec buffers: messages many times
//! larger still arrive whole (the buffers grow), over real gRPC to a
//! simulated scheduler.

use std::time::Duration;

use crate::stream_client::{STREAM_BUFFER_BYTES, open};
use crate::{MAX_MESSAGE_BYTES, UpstreamChannel};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{ModelStatusResponse, ModelSubscriptionRequest};
use switchyard_simulator::{Simulator, SimulatorConfig};
use switchyard_testkit::{DEADLINE, load_model_request as load_model};
use tonic::transport::Channel;

#[tokio::test]
async fn a_message_larger_than_the_buffers_arrives_whole() {
    let mut config = SimulatorConfig::new("ns", "127.0.0.1:0".parse().unwrap());
    config.sync_timeout = Duration::ZERO;
    let sim = Simulator::start(config).await.unwrap();
    let raw = Channel::from_shared(sim.uri()).unwrap().connect_lazy();
    let channel = UpstreamChannel::new(raw, "ns".into(), Default::default());

    // A model whose status message is about 100 times the buffer size.
    let uri = format!("gs://models/{}", "x".repeat(100 * STREAM_BUFFER_BYTES));
    let mut request = load_model("ns", "big");
    request
        .model
        .as_mut()
        .unwrap()
        .model_spec
        .as_mut()
        .unwrap()
        .uri = uri.clone();
    SchedulerClient::new(channel.clone())
        .load_model(request)
        .await
        .unwrap();

    let mut stream = open::<_, ModelStatusResponse>(
        &channel,
        MAX_MESSAGE_BYTES,
        "/seldon.mlops.scheduler.Scheduler/SubscribeModelStatus",
        ModelSubscriptionRequest {
            subscriber_name: "test".into(),
            is_model_gateway: false,
        },
    )
    .await
    .unwrap()
    .into_inner();
    let message = tokio::time::timeout(DEADLINE, stream.message())
        .await
        .unwrap()
        .unwrap()
        .expect("the snapshot");
    let model = message.versions[0].model_defn.as_ref().unwrap();
    assert_eq!(model.model_spec.as_ref().unwrap().uri, uri);
    sim.shutdown().await.unwrap();
}
