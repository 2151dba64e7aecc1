//! The demo binary as a child process (`switchyard demo` on 127.0.0.1 with
//! ports it picks itself), and a small HTTP GET, for the tests that scrape
//! it (`metrics_exported`, `dashboards`).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the demo may take to print its addresses.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `switchyard demo`; killed when dropped.
pub(crate) struct DemoProcess {
    child: Child,
    /// Where it serves `/metrics`.
    pub metrics: SocketAddr,
}

impl DemoProcess {
    /// Starts the demo, stopping by itself after `duration`, rescaling a
    /// Model every 2 s.
    pub(crate) async fn start(duration: Duration) -> DemoProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["demo", "--gateway-listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0", "--rescale-every", "2"])
            .args(["--duration", &duration.as_secs().to_string()])
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the switchyard binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let metrics = tokio::time::timeout(STARTUP, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.trim().strip_prefix("metrics") {
                    let addr = url.trim().trim_start_matches("http://");
                    let addr = addr.trim_end_matches("/metrics");
                    return addr.parse::<SocketAddr>().expect("metrics address");
                }
            }
            panic!("switchyard demo exited before printing its metrics address");
        })
        .await
        .expect("switchyard demo printed its metrics address in time");
        // Keep draining stdout so the demo never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        DemoProcess { child, metrics }
    }

    /// Sends `signal` (a `kill` name such as `USR1`) to the demo.
    pub(crate) async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the demo is running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}: {status}");
    }

    /// Whether the demo process has exited.
    pub(crate) fn exited(&mut self) -> bool {
        self.child.try_wait().expect("child status").is_some()
    }

    /// The text of `/metrics`.
    pub(crate) async fn scrape(&self) -> String {
        let (status, body) = http_get(self.metrics, "/metrics").await.expect("/metrics");
        assert_eq!(status, 200, "/metrics: {body}");
        body
    }
}

/// GET `path_and_query` from `addr`: the status code and body.
pub(crate) async fn http_get(
    addr: SocketAddr,
    path_and_query: &str,
) -> Result<(u16, String), String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {addr}: {e}"))?;
    tokio::spawn(connection);
    let request = hyper::Request::get(path_and_query)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {path_and_query}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading GET {path_and_query}: {e}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
