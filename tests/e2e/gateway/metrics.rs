//! The gRPC metrics layer, read back from a Prometheus recorder local to
//! this test's thread (a current-thread runtime keeps every task on it).

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use switchyard_core::metrics::GRPC_SERVER_HANDLING_SECONDS;
use switchyard_proto::health::{HealthCheckRequest, HealthCheckResponse};

use super::support::*;

const SVC: &str = "grpc_service=\"seldon.mlops.scheduler.Scheduler\"";

#[tokio::test(flavor = "current_thread")]
async fn calls_are_counted_by_method_and_code() {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(GRPC_SERVER_HANDLING_SECONDS.into()),
            &[0.01, 0.1, 1.0],
        )
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let env = Env::start(&["team-a"]).await;
    let channel = env.channel().await;
    let mut gw = SchedulerClient::new(channel.clone());
    gw.load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap();
    gw.load_model(LoadModelRequest { model: None })
        .await
        .unwrap_err();
    gw.load_model(load_model("iris", Some("nowhere")))
        .await
        .unwrap_err();
    model_names(&mut gw).await;
    let mut subscription = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();
    timeout(DEADLINE, subscription.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    drop(subscription);
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.unwrap();
    let unknown = raw
        .unary(
            Request::new(HealthCheckRequest {}),
            http::uri::PathAndQuery::from_static("/no.Such/Method"),
            tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unimplemented);

    let expected = [
        format!("grpc_server_started_total{{{SVC},grpc_method=\"LoadModel\",grpc_type=\"unary\"}} 3"),
        format!("grpc_server_handled_total{{{SVC},grpc_method=\"LoadModel\",grpc_type=\"unary\",grpc_code=\"OK\"}} 1"),
        format!("grpc_server_handled_total{{{SVC},grpc_method=\"LoadModel\",grpc_type=\"unary\",grpc_code=\"InvalidArgument\"}} 1"),
        format!("grpc_server_handled_total{{{SVC},grpc_method=\"LoadModel\",grpc_type=\"unary\",grpc_code=\"NotFound\"}} 1"),
        format!("grpc_server_handled_total{{{SVC},grpc_method=\"ModelStatus\",grpc_type=\"server_stream\",grpc_code=\"OK\"}} 1"),
        format!("grpc_server_msg_sent_total{{{SVC},grpc_method=\"ModelStatus\",grpc_type=\"server_stream\"}} 1"),
        format!("grpc_server_handled_total{{{SVC},grpc_method=\"SubscribeModelStatus\",grpc_type=\"server_stream\",grpc_code=\"Canceled\"}} 1"),
        "grpc_server_handled_total{grpc_service=\"unknown\",grpc_method=\"unknown\",grpc_type=\"unknown\",grpc_code=\"Unimplemented\"} 1".to_owned(),
        format!("grpc_server_handling_seconds_bucket{{{SVC},grpc_method=\"LoadModel\",grpc_type=\"unary\",le=\"+Inf\"}} 3"),
    ];
    // The cancelled subscription is recorded when the server notices.
    let start = Instant::now();
    loop {
        let text = handle.render();
        let missing: Vec<_> = expected
            .iter()
            .filter(|line| !text.contains(line.as_str()))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "missing {missing:#?} in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    env.stop().await;
}
