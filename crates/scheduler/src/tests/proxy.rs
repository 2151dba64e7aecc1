//! A TCP proxy on 127.0.0.1 in front of a simulated scheduler that counts
//! the connections through it and can cut one: what the pool's connections
//! look like from the scheduler's side.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Seen {
    /// Open connections in accept order, by accept number.
    open: Vec<(usize, CancellationToken)>,
    accepted: usize,
}

pub(super) struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
}

impl Proxy {
    pub(super) async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = CancellationToken::new();
        tokio::spawn({
            let seen = seen.clone();
            let stop = stop.clone();
            async move {
                loop {
                    let (mut client, _) = tokio::select! {
                        () = stop.cancelled() => return,
                        accepted = listener.accept() => accepted.unwrap(),
                    };
                    let cut = stop.child_token();
                    let id = {
                        let mut seen = seen.lock();
                        seen.accepted += 1;
                        let id = seen.accepted;
                        seen.open.push((id, cut.clone()));
                        id
                    };
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            tokio::select! {
                                () = cut.cancelled() => {}
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            }
                        }
                        seen.lock().open.retain(|(n, _)| *n != id);
                    });
                }
            }
        });
        Proxy { addr, seen, stop }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) fn open(&self) -> usize {
        self.seen.lock().open.len()
    }

    pub(super) fn accepted(&self) -> usize {
        self.seen.lock().accepted
    }

    /// Cuts the connection accepted last (both sockets closed).
    pub(super) fn cut_newest(&self) {
        if let Some((_, cut)) = self.seen.lock().open.last() {
            cut.cancel();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
