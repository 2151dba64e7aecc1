//! A unary call's one message in gRPC's framing (a flag byte, a four-byte
//! length, the message), read and written here instead of by tonic's codec:
//! the admission layer has already read the whole request, so decoding it
//! again into a stream, and encoding the answer through one, is work twice.
//!
//! Only the plain case is taken here: one uncompressed message, nothing
//! after it, no `grpc-encoding`. Anything else goes to tonic's server as
//! before, which answers it as it always did. The answer is what tonic's
//! server would send: `content-type: application/grpc`, the message in one
//! frame, then `grpc-status: 0` as trailers; a message over the response
//! limit is refused in the trailers with tonic's OUT_OF_RANGE; an error is
//! a trailers-only response.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use tonic::body::Body;
use tonic::{Response, Status};

/// Flag byte and length.
const HEADER: usize = 5;

const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");

/// Headers a response's metadata may not set (tonic's reserved ones).
const RESERVED: [&str; 6] = [
    "te",
    "user-agent",
    "content-type",
    "grpc-message",
    "grpc-message-type",
    "grpc-status",
];

/// The request body's bytes (after the admission layer: one chunk, taken
/// without a copy).
pub(super) async fn read(body: Body) -> Result<Bytes, Status> {
    Ok(body.collect().await?.to_bytes())
}

/// The one message of `frame`, when it is the plain case (see the module
/// docs).
pub(super) fn message(frame: &Bytes, headers: &HeaderMap) -> Option<Bytes> {
    if headers.contains_key(&GRPC_ENCODING) {
        return None;
    }
    let [flag, a, b, c, d] = <[u8; HEADER]>::try_from(frame.get(..HEADER)?).ok()?;
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    (flag == 0 && frame.len() == HEADER + len).then(|| frame.slice(HEADER..))
}

/// The HTTP response for a unary call's answer, as tonic's server sends
/// it (see the module docs).
pub(super) fn response(
    answer: Result<Response<Bytes>, Status>,
    max: usize,
) -> http::Response<Body> {
    let (metadata, message, _) = match answer {
        Ok(response) => response.into_parts(),
        Err(status) => return status.into_http(),
    };
    let mut headers = metadata.into_headers();
    if !headers.is_empty() {
        for name in RESERVED {
            headers.remove(name);
        }
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let body = if message.len() > max {
        Unary::trailers_only(Status::out_of_range(format!(
            "Error, encoded message length too large: found {} bytes, the limit is: {max} bytes",
            message.len()
        )))
    } else {
        let mut framed = BytesMut::with_capacity(HEADER + message.len());
        framed.put_u8(0);
        framed.put_u32(message.len() as u32);
        framed.put(message);
        Unary {
            data: Some(framed.freeze()),
            trailers: Some(trailers(&Status::ok(""))),
        }
    };
    let mut response = http::Response::new(Body::new(body));
    *response.headers_mut() = headers;
    response
}

/// `status` as trailers.
fn trailers(status: &Status) -> Result<HeaderMap, Status> {
    let mut trailers = HeaderMap::new();
    status.add_header(&mut trailers)?;
    Ok(trailers)
}

/// A unary answer's body: the framed message, then the trailers.
struct Unary {
    data: Option<Bytes>,
    trailers: Option<Result<HeaderMap, Status>>,
}

impl Unary {
    fn trailers_only(status: Status) -> Self {
        Unary {
            data: None,
            trailers: Some(trailers(&status)),
        }
    }
}

impl HttpBody for Unary {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| t.map(Frame::trailers)))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    // No size hint: an exact one would make hyper add a content-length,
    // which tonic's answers never carried.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(flag: u8, message: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(flag);
        b.put_u32(message.len() as u32);
        b.put_slice(message);
        b.freeze()
    }

    #[test]
    fn only_one_plain_message_is_taken() {
        let plain = HeaderMap::new();
        assert_eq!(
            message(&framed(0, b"abc"), &plain).as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(message(&framed(0, b""), &plain).as_deref(), Some(&b""[..]));
        // Compressed, truncated, followed by more, or announced encoded:
        // tonic's server answers those.
        assert!(message(&framed(1, b"abc"), &plain).is_none());
        assert!(message(&framed(0, b"abc").slice(..6), &plain).is_none());
        let two = [framed(0, b"a"), framed(0, b"b")].concat();
        assert!(message(&Bytes::from(two), &plain).is_none());
        assert!(message(&Bytes::new(), &plain).is_none());
        let mut gzip = HeaderMap::new();
        gzip.insert(GRPC_ENCODING, HeaderValue::from_static("gzip"));
        assert!(message(&framed(0, b"abc"), &gzip).is_none());
    }

    /// The body's next frame, which must be its trailers.
    async fn next_trailers<B>(body: &mut B) -> http::HeaderMap
    where
        B: http_body::Body + Unpin,
        B::Error: std::fmt::Debug,
    {
        body.frame()
            .await
            .unwrap()
            .unwrap()
            .into_trailers()
            .unwrap_or_else(|_| panic!("trailers expected"))
    }

    #[tokio::test]
    async fn an_answer_is_framed_then_ok_in_the_trailers() {
        let answer = Ok(Response::new(Bytes::from_static(b"hello")));
        let response = response(answer, 1024);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc");
        let mut body = response.into_body();
        let data = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(data, framed(0, b"hello"));
        let trailers = next_trailers(&mut body).await;
        assert_eq!(trailers["grpc-status"], "0");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_answer_over_the_limit_is_out_of_range_in_the_trailers() {
        let answer = Ok(Response::new(Bytes::from_static(b"hello")));
        let mut body = response(answer, 4).into_body();
        let trailers = next_trailers(&mut body).await;
        let status = Status::from_header_map(&trailers).unwrap();
        assert_eq!(status.code(), tonic::Code::OutOfRange);
        assert!(status.message().contains("found 5 bytes"), "{status:?}");
    }

    #[test]
    fn an_error_is_trailers_only() {
        let response = response(Err(Status::not_found("nope")), 1024);
        assert_eq!(response.headers()["grpc-status"], "5");
    }
}
