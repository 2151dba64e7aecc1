//! Tools of the hardening tests: requests as raw bytes (what a hostile
//! client sends, without building the message it encodes), a bare HTTP/2
//! client, the process' memory, and running one test alone in a child
//! process so that memory is the gateway's and that test's only.

use std::convert::Infallible;

use bytes::{BufMut, Bytes};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::support::*;

/// Sends and receives messages as they are on the wire.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

pub(super) const SCHEDULER: &str = "/seldon.mlops.scheduler.Scheduler/";

/// A unary call of `method` with `message` as encoded bytes.
pub(super) async fn raw_unary(
    channel: Channel,
    method: &str,
    message: Bytes,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let path = http::uri::PathAndQuery::try_from(format!("{SCHEDULER}{method}")).unwrap();
    grpc.unary(in_ns("team-a", message), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// Several messages on a call of `method`, as a client stream.
pub(super) async fn raw_messages(
    channel: Channel,
    method: &str,
    messages: Vec<Bytes>,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let path = http::uri::PathAndQuery::try_from(format!("{SCHEDULER}{method}")).unwrap();
    let stream = futures_util::stream::iter(messages);
    grpc.client_streaming(in_ns("team-a", stream), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// `count` empty entries of field 1 (ServerNotifyRequest.servers): two
/// bytes each on the wire, a whole struct each once decoded.
pub(super) fn empty_entries(count: usize) -> Bytes {
    Bytes::from([0x0a_u8, 0x00].repeat(count))
}

/// A gRPC frame (uncompressed) around `message`.
pub(super) fn frame(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    out.extend_from_slice(message);
    out.into()
}

pub(super) type RawBody = BoxBody<Bytes, Infallible>;

/// A body sending `bytes`.
pub(super) fn full(bytes: Bytes) -> RawBody {
    Full::new(bytes).boxed()
}

/// A body that never sends anything (headers without a body).
pub(super) fn never() -> RawBody {
    StreamBody::new(futures_util::stream::pending::<
        Result<Frame<Bytes>, Infallible>,
    >())
    .boxed()
}

/// A bare HTTP/2 connection to `addr`; the task drives it and ends when
/// the server closes it.
pub(super) async fn h2(
    addr: std::net::SocketAddr,
) -> (SendRequest<RawBody>, tokio::task::JoinHandle<()>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("HTTP/2 handshake");
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    (send, driver)
}

/// A request of `method` to `path` with `content_type`.
pub(super) fn request(
    method: http::Method,
    path: &str,
    content_type: &str,
    body: RawBody,
) -> http::Request<RawBody> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://gateway{path}"))
        .header("content-type", content_type)
        .header("te", "trailers")
        .header(NAMESPACE_METADATA, "team-a")
        .body(body)
        .unwrap()
}

/// `field` of /proc/self/status, in KiB.
pub(super) fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets VmHWM (the peak resident size) to the current size.
pub(super) fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

const ISOLATED: &str = "SWITCHYARD_TEST_ISOLATED";

/// Whether this is the child process that runs `test` alone. In the
/// parent, runs it in a child (the test binary itself, `--exact`), checks
/// it passed, and returns false.
pub(super) async fn isolated(test: &str) -> bool {
    if std::env::var_os(ISOLATED).is_some() {
        return true;
    }
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(ISOLATED, "1")
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(120), child)
        .await
        .expect("the isolated test ends in time")
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed alone:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
    false
}
