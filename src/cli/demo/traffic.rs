//! The demo's gateway client, so every gRPC metric (and dashboard panel)
//! has data: one aggregated model status subscription, as a Seldon model
//! gateway holds, and at every tick `ListRuntimes`, a `ModelStatus`
//! listing per namespace and one `ServerStatus` for a namespace without a
//! runtime (answered `NOT_FOUND`, which the errors panel shows).

use std::net::SocketAddr;
use std::time::Duration;

use tonic::Request;
use tonic::transport::{Channel, Endpoint};

use super::NAMESPACES;
use super::access::ADMIN_TOKEN;
use switchyard_proto::gateway::ListRuntimesRequest;
use switchyard_proto::gateway::gateway_client::GatewayClient;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    ModelStatusRequest, ModelSubscriptionRequest, ServerStatusRequest,
};

/// The namespace the demo asks for that has no runtime.
const MISSING_NAMESPACE: &str = "no-such-namespace";

/// Talks to the gateway at `gateway` every `every`; never returns.
pub(super) async fn drive(gateway: SocketAddr, every: Duration) {
    let channel = match Endpoint::from_shared(format!("http://{gateway}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(error) => {
            tracing::warn!(%error, "demo client: bad gateway address");
            return std::future::pending().await;
        }
    };
    let poll = async {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            poll_once(&channel).await;
        }
    };
    tokio::join!(follow_models(channel.clone(), every), poll);
}

/// Keeps one `SubscribeModelStatus` open, reading every message.
async fn follow_models(channel: Channel, retry: Duration) {
    let mut client = SchedulerClient::new(channel);
    loop {
        let request = authorized(ModelSubscriptionRequest {
            subscriber_name: "switchyard-demo".into(),
            is_model_gateway: false,
        });
        match client.subscribe_model_status(request).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                while let Ok(Some(_)) = stream.message().await {}
            }
            Err(status) => tracing::debug!(%status, "demo client: model subscription"),
        }
        tokio::time::sleep(retry).await;
    }
}

async fn poll_once(channel: &Channel) {
    if let Err(status) = GatewayClient::new(channel.clone())
        .list_runtimes(authorized(ListRuntimesRequest::default()))
        .await
    {
        tracing::debug!(%status, "demo client: ListRuntimes");
    }
    let mut scheduler = SchedulerClient::new(channel.clone());
    for namespace in NAMESPACES {
        let request = in_namespace(namespace, ModelStatusRequest::default());
        if let Ok(response) = scheduler.model_status(request).await {
            let mut stream = response.into_inner();
            while let Ok(Some(_)) = stream.message().await {}
        }
    }
    let request = in_namespace(MISSING_NAMESPACE, ServerStatusRequest::default());
    // An administrator: a namespace without a runtime is NOT_FOUND.
    if let Ok(response) = scheduler.server_status(request).await {
        let mut stream = response.into_inner();
        while let Ok(Some(_)) = stream.message().await {}
    }
}

fn in_namespace<T>(namespace: &str, message: T) -> Request<T> {
    let mut request = authorized(message);
    if let Ok(value) = namespace.parse() {
        request.metadata_mut().insert("seldon-namespace", value);
    }
    request
}

/// `message` with the demo administrator's bearer token.
fn authorized<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {ADMIN_TOKEN}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}
