//! The gateway's connections as tonic serves them: `switchyard_net`'s
//! capped, idle-closing connections, with the connection's activity handed
//! to every request (as tonic's connect info) so the admission layer can
//! mark requests in flight.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TlsConnectInfo};

use switchyard_net::{Activity, Connection, Listener};

/// What a request knows of its connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionInfo {
    pub activity: Arc<Activity>,
}

impl ConnectionInfo {
    /// The connection of `request`, plaintext or TLS.
    pub(crate) fn of<B>(request: &http::Request<B>) -> Option<&ConnectionInfo> {
        let extensions = request.extensions();
        extensions.get::<ConnectionInfo>().or_else(|| {
            extensions
                .get::<TlsConnectInfo<ConnectionInfo>>()
                .map(TlsConnectInfo::get_ref)
        })
    }
}

/// One accepted gateway connection.
#[derive(Debug)]
pub(crate) struct GatewayIo(Connection<TcpStream>);

impl Connected for GatewayIo {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        ConnectionInfo {
            activity: self.0.activity().clone(),
        }
    }
}

impl AsyncRead for GatewayIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatewayIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The listener's connections as the stream tonic serves. It never ends
/// and never fails: accept errors are waited out in the listener.
pub(crate) fn incoming(
    listener: Listener,
) -> impl Stream<Item = Result<GatewayIo, io::Error>> + Send + 'static {
    futures_util::stream::unfold(listener, |mut listener| async move {
        let connection = listener.accept().await;
        Some((Ok(GatewayIo(connection)), listener))
    })
}
