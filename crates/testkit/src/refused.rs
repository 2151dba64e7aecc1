//! An address where connections are refused, for as long as the test holds
//! it. A port bound and released ("nothing listens there") can be taken by
//! another test's listener running in parallel; a socket bound without
//! listening keeps the port, and a connection to it is refused at once.

use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};

/// A bound, never listening socket on 127.0.0.1: its port refuses every
/// connection while this lives.
pub struct RefusingPort {
    socket: Socket,
}

impl RefusingPort {
    /// Binds a free port on 127.0.0.1 (without `SO_REUSEADDR`, so no other
    /// socket can take it meanwhile).
    pub fn new() -> std::io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        Ok(RefusingPort { socket })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("a bound IPv4 socket has an address")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_refused_while_it_lives() {
        let port = RefusingPort::new().unwrap();
        let error = std::net::TcpStream::connect(port.addr()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        // Nobody else can listen there meanwhile.
        assert!(std::net::TcpListener::bind(port.addr()).is_err());
    }
}
