//! Unary calls pass through the gateway as bytes: a message carrying a
//! field the gateway's proto does not know reaches the scheduler with it,
//! and the scheduler's answer comes back with its own unknown field, both
//! byte for byte. The checks still read the message: a bad name never
//! reaches the scheduler.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use switchyard_gateway::raw_codec::RawCodec;
use switchyard_proto::scheduler::LoadModelResponse;
use switchyard_testkit::load_model_request;
use tokio::sync::mpsc;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};

use super::support::*;

const LOAD_MODEL: &str = "/seldon.mlops.scheduler.Scheduler/LoadModel";

/// `message` followed by field 99 (length-delimited), which no message of
/// the Scheduler's proto has.
fn with_unknown_field(message: &impl Message, value: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    message.encode(&mut out).expect("encodes");
    prost::encoding::encode_key(99, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(value.len() as u64, &mut out);
    out.put_slice(value);
    out.freeze()
}

/// A scheduler that records the bytes of every LoadModel and answers with
/// a LoadModelResponse carrying an unknown field; any other method is
/// UNIMPLEMENTED (the pool's streams and probes only need an answer).
#[derive(Clone)]
struct RawScheduler {
    seen: mpsc::UnboundedSender<Bytes>,
}

impl NamedService for RawScheduler {
    const NAME: &'static str = "seldon.mlops.scheduler.Scheduler";
}

impl UnaryService<Bytes> for RawScheduler {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let _ = self.seen.send(request.into_inner());
        let answer = with_unknown_field(&LoadModelResponse {}, b"from the scheduler");
        std::future::ready(Ok(tonic::Response::new(answer)))
    }
}

impl tower::Service<http::Request<Body>> for RawScheduler {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != LOAD_MODEL {
            return Box::pin(async { Ok(Status::unimplemented("not here").into_http()) });
        }
        let service = self.clone();
        Box::pin(async move { Ok(Grpc::new(RawCodec).unary(service, request).await) })
    }
}

async fn raw_load_model(channel: Channel, message: Bytes) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("gateway ready");
    let request = in_ns("raw", message);
    let path = http::uri::PathAndQuery::from_static(LOAD_MODEL);
    Ok(grpc.unary(request, path, RawCodec).await?.into_inner())
}

#[tokio::test]
async fn unknown_fields_survive_both_ways() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    let (seen, mut received) = mpsc::unbounded_channel();
    let stop_upstream = CancellationToken::new();
    let upstream = tokio::spawn({
        let stop = stop_upstream.clone();
        tonic::transport::Server::builder()
            .add_service(RawScheduler { seen })
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.cancelled_owned(),
            )
    });
    let env = Env::start(&[]).await;
    env.registry.apply(runtime("raw", upstream_addr));
    env.wait_known("raw").await;

    let sent = with_unknown_field(&load_model_request("raw", "m1"), b"from the client");
    let answer = timeout(DEADLINE, raw_load_model(env.channel().await, sent.clone()))
        .await
        .expect("answered in time")
        .expect("forwarded");
    let forwarded = received.try_recv().expect("the scheduler got the call");
    assert_eq!(forwarded, sent, "the request reached the scheduler as sent");
    assert_eq!(
        answer,
        with_unknown_field(&LoadModelResponse {}, b"from the scheduler"),
        "the response reached the client as sent"
    );

    let bad = with_unknown_field(&load_model_request("raw", "Not_A_Name"), b"x");
    let refused = raw_load_model(env.channel().await, bad)
        .await
        .expect_err("a bad name is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("model.meta.name"), "{refused:?}");
    assert!(
        received.try_recv().is_err(),
        "nothing more reached the scheduler"
    );

    env.stop().await;
    stop_upstream.cancel();
    upstream.await.unwrap().unwrap();
}
