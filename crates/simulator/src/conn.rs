//! Accepted connections: a TCP stream wrapper (`PolicedConn`) that watches
//! the HTTP/2 frames passing in both directions to enforce the scheduler's
//! keepalive policy (`keepalive`), and that a restart can reset.
//!
//! Reads: every client PING is judged; on a third strike a GOAWAY
//! ENHANCE_YOUR_CALM "too_many_pings" is queued. Writes: the server's
//! HEADERS/DATA forgive strikes, END_STREAM/RST_STREAM close streams, and a
//! queued GOAWAY is written at the next frame boundary, after which the
//! connection ends (reads see EOF, writes fail), as grpc-go does. While
//! the freeze fault is set (`freeze`), reads, writes and accepts wait.

use std::{
    collections::HashSet,
    io,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll, Waker, ready},
    time::Duration,
};

use futures_util::Stream;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Instant,
};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::{
    frames::{self, FrameScanner},
    keepalive::{ENHANCE_YOUR_CALM, PingPolice, PingPolicy, TOO_MANY_PINGS, Verdict},
    state::Shared,
};

/// Pause after a failed accept (e.g. out of file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// A server-side connection under keepalive enforcement.
pub(crate) struct PolicedConn {
    inner: TcpStream,
    shared: Arc<Shared>,
    from_client: FrameScanner,
    to_client: FrameScanner,
    police: PingPolice,
    /// Client streams opened and not yet ended by the server or reset.
    open_streams: HashSet<u32>,
    last_client_stream: u32,
    /// GOAWAY bytes still to write, and how many are written.
    goaway: Option<(Vec<u8>, usize)>,
    /// GOAWAY sent: the connection is over.
    closed: bool,
    read_waker: Option<Waker>,
    /// Completes when a restart resets every connection.
    reset: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl PolicedConn {
    pub(crate) fn new(
        inner: TcpStream,
        shared: Arc<Shared>,
        policy: PingPolicy,
        reset: CancellationToken,
    ) -> Self {
        Self {
            inner,
            shared,
            from_client: FrameScanner::client_to_server(),
            to_client: FrameScanner::server_to_client(),
            police: PingPolice::new(policy),
            open_streams: HashSet::new(),
            last_client_stream: 0,
            goaway: None,
            closed: false,
            read_waker: None,
            reset: Box::pin(reset.cancelled_owned()),
        }
    }

    fn poll_reset(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.reset.as_mut().poll(cx).is_ready() {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "scheduler restarted",
            ))
        } else {
            Ok(())
        }
    }

    fn judge_client_bytes(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        let mut too_many = false;
        let Self {
            from_client,
            police,
            open_streams,
            last_client_stream,
            ..
        } = self;
        from_client.feed(bytes, |frame| match frame.kind {
            frames::PING if frame.flags & frames::ACK == 0 => {
                too_many |= police.ping(now, open_streams.len()) == Verdict::TooManyPings;
            }
            frames::HEADERS if frame.stream_id > *last_client_stream => {
                *last_client_stream = frame.stream_id;
                open_streams.insert(frame.stream_id);
            }
            frames::RST_STREAM => {
                open_streams.remove(&frame.stream_id);
            }
            _ => {}
        });
        if too_many && self.goaway.is_none() && !self.closed {
            tracing::warn!(
                namespace = %self.shared.namespace,
                peer = ?self.inner.peer_addr().ok(),
                "client pings more often than the keepalive policy allows: GOAWAY too_many_pings"
            );
            self.shared
                .counters
                .connections_refused_for_pings
                .fetch_add(1, Ordering::Relaxed);
            let frame = frames::goaway(self.last_client_stream, ENHANCE_YOUR_CALM, TOO_MANY_PINGS);
            self.goaway = Some((frame, 0));
        }
    }

    fn note_server_bytes(&mut self, bytes: &[u8]) {
        let Self {
            to_client,
            police,
            open_streams,
            ..
        } = self;
        to_client.feed(bytes, |frame| match frame.kind {
            frames::DATA | frames::HEADERS => {
                police.data_sent();
                if frame.flags & frames::END_STREAM != 0 {
                    open_streams.remove(&frame.stream_id);
                }
            }
            frames::RST_STREAM => {
                open_streams.remove(&frame.stream_id);
            }
            _ => {}
        });
    }

    /// Writes the queued GOAWAY if the outgoing bytes are at a frame
    /// boundary. Ready(Ok) once it is written and the connection closed;
    /// Ready(Ok) too when nothing is queued.
    fn poll_goaway(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((frame, written)) = self.goaway.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        if !self.to_client.at_boundary() && self.to_client.is_http2() {
            return Poll::Pending;
        }
        while *written < frame.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &frame[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        self.goaway = None;
        self.closed = true;
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
        Poll::Ready(Ok(()))
    }

    fn closed_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::BrokenPipe,
            "connection closed after GOAWAY too_many_pings",
        )
    }
}

impl AsyncRead for PolicedConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.poll_reset(cx)?;
        ready!(this.shared.freeze.poll_thawed(cx));
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        if this.goaway.is_some() {
            // Written here when the outgoing side is between frames,
            // otherwise by the next write or flush, which wakes us.
            this.read_waker = Some(cx.waker().clone());
            ready!(this.poll_goaway(cx))?;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let filled = buf.filled();
        this.judge_client_bytes(&filled[before..]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for PolicedConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.poll_reset(cx)?;
        ready!(this.shared.freeze.poll_thawed(cx));
        if this.closed {
            return Poll::Ready(Err(Self::closed_error()));
        }
        let mut limit = buf.len();
        if this.goaway.is_some() {
            match this.to_client.bytes_to_boundary() {
                // Finish the frame in progress, and nothing more.
                Some(left) => limit = limit.min(left),
                None => {
                    ready!(this.poll_goaway(cx))?;
                    return Poll::Ready(Err(Self::closed_error()));
                }
            }
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..limit]))?;
        this.note_server_bytes(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.poll_reset(cx)?;
        ready!(this.shared.freeze.poll_thawed(cx));
        if this.goaway.is_some() && this.to_client.at_boundary() {
            ready!(this.poll_goaway(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Connected for PolicedConn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// Accepts connections on `listener`, wrapping each in a `PolicedConn`.
/// Accept errors are logged and retried; the stream never ends by itself.
pub(crate) fn incoming(
    listener: TcpListener,
    shared: Arc<Shared>,
    policy: PingPolicy,
) -> impl Stream<Item = io::Result<PolicedConn>> + Send {
    futures_util::stream::unfold((listener, shared), move |(listener, shared)| async move {
        loop {
            // A frozen process accepts nothing (the kernel queues them).
            shared.freeze.thawed().await;
            match listener.accept().await {
                Ok((tcp, peer)) => {
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::debug!(namespace = %shared.namespace, %peer, %err, "set_nodelay failed");
                    }
                    shared
                        .counters
                        .connections_accepted
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(namespace = %shared.namespace, %peer, "connection accepted");
                    let conn = PolicedConn::new(
                        tcp,
                        Arc::clone(&shared),
                        policy,
                        shared.connection_token(),
                    );
                    return Some((Ok(conn), (listener, shared)));
                }
                Err(err) => {
                    tracing::warn!(namespace = %shared.namespace, %err, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            }
        }
    })
}
