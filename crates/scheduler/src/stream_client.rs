//! The pool's own calls with small codec buffers, as the generated client
//! would make them: its long-lived upstream streams and its liveness probe.
//!
//! tonic gives every call an 8 KiB encode and an 8 KiB decode buffer, held
//! for as long as the call lives. The pool keeps five streams open per
//! namespace for the life of the process, so with a thousand namespaces
//! those buffers alone are most of switchyard's memory (BENCHMARKS.md, P3).
//! A decode buffer grows to the size of the message it reads (tonic
//! reserves each message's length), and most of a runtime's streams are
//! idle (experiments, pipelines, the control plane), so a small initial
//! buffer costs an active stream one growth and saves every idle one its
//! buffer.

use futures_util::future::BoxFuture;
use std::marker::PhantomData;

use http::uri::PathAndQuery;
use prost::Message;
use tonic::codec::{BufferSettings, Codec};
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::UpstreamChannel;
use crate::link::Link;

/// Initial size of a stream's encode and decode buffers: a subscription
/// request fits.
pub const STREAM_BUFFER_BYTES: usize = 128;
/// tonic's default: how much to encode before yielding to other tasks.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// Prost encoding with [`STREAM_BUFFER_BYTES`] buffers.
struct SmallBuffers<T, U>(PhantomData<(T, U)>);

impl<T, U> Codec for SmallBuffers<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(settings())
    }
}

fn settings() -> BufferSettings {
    BufferSettings::new(STREAM_BUFFER_BYTES, YIELD_THRESHOLD)
}

/// Opens the server-streaming `method` (`/package.Service/Method`) of the
/// scheduler behind `channel` with `request`, as the generated client
/// would, with small buffers. Boxed: a stream's task awaits it once, and
/// inline its state (a whole gRPC call) would size that task, held by
/// every runtime for as long as it lives (`tests/task_size.rs`).
pub fn open<'a, Req, Resp>(
    channel: &'a UpstreamChannel,
    max_message_bytes: usize,
    method: &'static str,
    request: Req,
) -> BoxFuture<'a, Result<Response<Streaming<Resp>>, Status>>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    Box::pin(open_inline(channel, max_message_bytes, method, request))
}

async fn open_inline<Req, Resp>(
    channel: &UpstreamChannel,
    max_message_bytes: usize,
    method: &'static str,
    request: Req,
) -> Result<Response<Streaming<Resp>>, Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut grpc =
        tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(max_message_bytes);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
    grpc.server_streaming(
        Request::new(request),
        PathAndQuery::from_static(method),
        SmallBuffers::<Req, Resp>(PhantomData),
    )
    .await
}

/// Calls the unary `method` of the scheduler behind `link` with `request`,
/// with small buffers: the liveness probe's call, made every
/// [`crate::liveness::IDLE_PROBE_AFTER`] by every runtime, which tonic's
/// default buffers would make 16 KiB of allocation each.
pub(crate) async fn unary<Req, Resp>(
    link: &Link,
    method: &'static str,
    request: Req,
) -> Result<Response<Resp>, Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(link.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
    grpc.unary(
        Request::new(request),
        PathAndQuery::from_static(method),
        SmallBuffers::<Req, Resp>(PhantomData),
    )
    .await
}
