//! Issue 14, item 8: protocol hygiene. What is not a gRPC call is refused
//! as grpc-go's server refuses it (HTTP 405 for a method other than POST,
//! 415 for a content type other than application/grpc, each with a
//! grpc-status), and a second message on a call that takes one is a
//! protocol violation (INTERNAL), never answered as if valid.

use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusBuilder;
use prost::Message;

use super::raw::*;
use super::support::*;

fn grpc_status(response: &http::Response<hyper::body::Incoming>) -> Option<Code> {
    let value = response.headers().get("grpc-status")?.to_str().ok()?;
    Some(Code::from_i32(value.parse().ok()?))
}

#[tokio::test(flavor = "current_thread")]
async fn non_grpc_requests_and_extra_messages_are_refused() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let env = Env::start(&["team-a"]).await;
    let (mut h2, _driver) = h2(env.addr).await;
    let path = format!("{SCHEDULER}SchedulerStatus");
    let message = frame(&SchedulerStatusRequest::default().encode_to_vec());

    use http::{Method, StatusCode as Http};
    let cases = [
        (
            Method::GET,
            "application/grpc",
            Http::METHOD_NOT_ALLOWED,
            Some(Code::Internal),
        ),
        (
            Method::PUT,
            "application/grpc",
            Http::METHOD_NOT_ALLOWED,
            Some(Code::Internal),
        ),
        (
            Method::DELETE,
            "application/grpc",
            Http::METHOD_NOT_ALLOWED,
            Some(Code::Internal),
        ),
        (
            Method::POST,
            "application/json",
            Http::UNSUPPORTED_MEDIA_TYPE,
            Some(Code::InvalidArgument),
        ),
        (
            Method::POST,
            "text/plain",
            Http::UNSUPPORTED_MEDIA_TYPE,
            Some(Code::InvalidArgument),
        ),
        (
            Method::POST,
            "application/grpcx",
            Http::UNSUPPORTED_MEDIA_TYPE,
            Some(Code::InvalidArgument),
        ),
        (
            Method::POST,
            "application/grpc-web",
            Http::UNSUPPORTED_MEDIA_TYPE,
            Some(Code::InvalidArgument),
        ),
        // The real thing, with the content types gRPC allows: served (not
        // a trailers-only refusal).
        (Method::POST, "application/grpc", Http::OK, None),
        (Method::POST, "application/grpc+proto", Http::OK, None),
    ];
    for (method, content_type, http, grpc) in cases {
        let request = request(method.clone(), &path, content_type, full(message.clone()));
        let response = h2.send_request(request).await.expect("an answer");
        assert_eq!(response.status(), http, "{method} {content_type}");
        assert_eq!(grpc_status(&response), grpc, "{method} {content_type}");
    }

    // Two LoadModel messages on one call: refused, the model not loaded.
    let model = Bytes::from(load_model("iris", Some("team-a")).encode_to_vec());
    let status = raw_messages(env.channel().await, "LoadModel", vec![model.clone(), model])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(
        status.message().contains("second request message"),
        "{status:?}"
    );
    assert!(
        model_names(&mut env.direct("team-a").await)
            .await
            .is_empty()
    );

    let text = handle.render();
    for (reason, count) in [("method", 3), ("content_type", 4), ("extra_message", 1)] {
        let line =
            format!("switchyard_gateway_rejected_requests_total{{reason=\"{reason}\"}} {count}");
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    env.stop().await;
}
