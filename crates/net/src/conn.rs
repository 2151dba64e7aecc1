//! An accepted connection: its slot under the listener's cap, what it is
//! doing ([`Activity`]) and the deadline that closes it when it does
//! nothing.
//!
//! The deadline is enforced where every server polls: reading. While the
//! server waits for bytes, the connection also waits for its deadline
//! (accept + handshake timeout before first use, last use + idle timeout
//! after); when it passes with nothing in flight, the read fails with
//! `TimedOut` and the server closes the connection. No task per
//! connection, no polling.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::ListenerLimits;
use super::throttle::LogThrottle;
use switchyard_core::metrics as m;

/// What counts as using a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleBy {
    /// Bytes read (HTTP/1: a client between requests sends nothing).
    Reads,
    /// Requests in flight, marked by the server with [`Activity::begin`]
    /// (HTTP/2: pings and long streams carry no request bytes).
    Requests,
}

/// Why a connection was closed by its deadline (the `reason` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    Handshake,
    Idle,
}

impl Expiry {
    fn as_str(self) -> &'static str {
        match self {
            Expiry::Handshake => "handshake_timeout",
            Expiry::Idle => "idle_timeout",
        }
    }
}

#[derive(Debug)]
struct State {
    active: usize,
    used: bool,
    idle_since: Instant,
    waker: Option<Waker>,
}

/// What a connection is doing, shared between the connection (which
/// enforces its deadline) and the server (which marks requests).
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    state: Mutex<State>,
}

impl Activity {
    fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Activity {
            accepted: now,
            state: Mutex::new(State {
                active: 0,
                used: false,
                idle_since: now,
                waker: None,
            }),
        })
    }

    /// Marks a request in flight until the guard drops; a connection with
    /// a request in flight is never closed for idleness.
    pub fn begin(self: &Arc<Self>) -> ActiveGuard {
        let mut state = self.state.lock();
        state.active += 1;
        state.used = true;
        ActiveGuard {
            activity: self.clone(),
            in_flight: state.active,
        }
    }

    /// Requests in flight now.
    pub fn active(&self) -> usize {
        self.state.lock().active
    }

    fn touch(&self) {
        let mut state = self.state.lock();
        state.used = true;
        state.idle_since = Instant::now();
    }

    /// The deadline now, or `None` while a request is in flight (then
    /// `waker` is woken when the last one ends).
    fn deadline(&self, limits: &ListenerLimits, waker: &Waker) -> Option<(Instant, Expiry)> {
        let mut state = self.state.lock();
        if state.active > 0 {
            if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                state.waker = Some(waker.clone());
            }
            return None;
        }
        Some(if state.used {
            (state.idle_since + limits.idle_timeout, Expiry::Idle)
        } else {
            (self.accepted + limits.handshake_timeout, Expiry::Handshake)
        })
    }
}

/// A request in flight on a connection (see [`Activity::begin`]).
#[derive(Debug)]
pub struct ActiveGuard {
    activity: Arc<Activity>,
    in_flight: usize,
}

impl ActiveGuard {
    /// Requests in flight on the connection when this one began, itself
    /// included.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.activity.state.lock();
            state.active = state.active.saturating_sub(1);
            if state.active > 0 {
                return;
            }
            state.idle_since = Instant::now();
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// What the connections of one listener share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub name: &'static str,
    pub limits: ListenerLimits,
    pub idle_by: IdleBy,
    pub expired: Mutex<[LogThrottle; 2]>,
}

/// One of the listener's slots; gives it back (and lowers the gauge) when
/// the connection is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    pub _permit: OwnedSemaphorePermit,
    pub listener: &'static str,
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!(m::LISTENER_CONNECTIONS, "listener" => self.listener).decrement(1.0);
    }
}

/// An accepted connection (see the module docs).
#[derive(Debug)]
pub struct Connection<IO> {
    io: IO,
    peer: SocketAddr,
    activity: Arc<Activity>,
    timer: Pin<Box<Sleep>>,
    shared: Arc<Shared>,
    expired: Option<Expiry>,
    _slot: Slot,
}

impl<IO> Connection<IO> {
    pub(crate) fn new(io: IO, peer: SocketAddr, shared: Arc<Shared>, slot: Slot) -> Self {
        let activity = Activity::new();
        let timer = Box::pin(tokio::time::sleep_until(
            activity.accepted + shared.limits.handshake_timeout,
        ));
        Connection {
            io,
            peer,
            activity,
            timer,
            shared,
            expired: None,
            _slot: slot,
        }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The connection's activity, for the server to mark requests.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    fn expired_error(&self, expiry: Expiry) -> io::Error {
        let limits = &self.shared.limits;
        let after = match expiry {
            Expiry::Handshake => limits.handshake_timeout,
            Expiry::Idle => limits.idle_timeout,
        };
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} connection from {} unused for {after:?}",
                self.shared.name, self.peer
            ),
        )
    }

    /// Ready when the deadline passed with nothing in flight.
    fn poll_expiry(&mut self, cx: &mut Context<'_>) -> Poll<Expiry> {
        if let Some(expiry) = self.expired {
            return Poll::Ready(expiry);
        }
        let Some((deadline, expiry)) = self.activity.deadline(&self.shared.limits, cx.waker())
        else {
            return Poll::Pending;
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired = Some(expiry);
        let name = self.shared.name;
        metrics::counter!(m::LISTENER_CLOSED_TOTAL, "listener" => name, "reason" => expiry.as_str())
            .increment(1);
        let logged = self.shared.expired.lock()[expiry as usize].hit();
        if let Some(count) = logged {
            tracing::info!(listener = name, reason = expiry.as_str(), count, last_peer = %self.peer, "closed unused connections");
        }
        Poll::Ready(expiry)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Connection<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(expiry) = this.expired {
            return Poll::Ready(Err(this.expired_error(expiry)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.shared.idle_by == IdleBy::Reads && buf.filled().len() > before {
                    this.activity.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_expiry(cx) {
                Poll::Ready(expiry) => Poll::Ready(Err(this.expired_error(expiry))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Connection<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
