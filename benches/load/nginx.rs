//! The peer proxy: nginx's `grpc_pass` with upstream keepalive, tuned the
//! way an operator would put it in front of one scheduler, started on
//! 127.0.0.1 with a generated config in a directory of its own. It runs
//! only when an `nginx` binary is present (Debian's `nginx-light` has the
//! HTTP/2 and gRPC modules); otherwise the benchmark says why it has no
//! nginx column.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Where Debian installs it, for a PATH without /usr/sbin.
const DEBIAN_BINARY: &str = "/usr/sbin/nginx";
/// How long nginx gets to start listening.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A running nginx in front of one upstream. Stops (and removes its
/// directory) on drop.
pub(crate) struct Nginx {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

/// The nginx binary to run: `$NGINX`, `nginx` on PATH, or Debian's path.
pub(crate) fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from(DEBIAN_BINARY)).filter(|p| p.is_file()))
}

impl Nginx {
    /// Starts nginx proxying gRPC on a free loopback port to `upstream`,
    /// with `workers` worker processes and up to `keepalive` idle upstream
    /// connections kept open.
    pub(crate) fn start(
        binary: &Path,
        upstream: SocketAddr,
        workers: usize,
        keepalive: usize,
    ) -> anyhow::Result<Nginx> {
        let addr = free_port()?;
        let dir = std::env::temp_dir().join(format!(
            "switchyard-nginx-{}-{}",
            std::process::id(),
            addr.port()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, addr, upstream, workers, keepalive))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut nginx = Nginx { child, dir, addr };
        nginx.wait_listening()?;
        Ok(nginx)
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// CPU time used so far by nginx's master and worker processes.
    pub(crate) fn cpu_time(&self) -> Duration {
        self.processes()
            .into_iter()
            .map(super::cpu::process_time)
            .sum()
    }

    /// nginx's master process and its workers.
    pub(crate) fn processes(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut pids = vec![master];
        pids.extend(super::cpu::children(master));
        pids
    }

    fn wait_listening(&mut self) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                anyhow::bail!("nginx exited at start ({status}): {}", log.trim());
            }
            if start.elapsed() > START_DEADLINE {
                anyhow::bail!(
                    "nginx did not listen on {} within {START_DEADLINE:?}",
                    self.addr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast stop; SIGKILL if it lingers.
        // SAFETY: kill(2) on the pid of a child this struct owns.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx's config: HTTP/2 cleartext in, gRPC out over kept-alive
/// upstream connections, no access log, temp paths inside `dir`.
fn config(
    dir: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    workers: usize,
    keepalive: usize,
) -> String {
    let dir = dir.display();
    format!(
        "daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  http2_max_concurrent_streams 1024;
  upstream scheduler {{
    server {upstream};
    keepalive {keepalive};
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }}
  server {{
    listen {listen} http2;
    keepalive_requests 1000000;
    location / {{
      grpc_pass grpc://scheduler;
      grpc_read_timeout 3600s;
      grpc_send_timeout 3600s;
      grpc_buffer_size 64k;
    }}
  }}
}}
"
    )
}

/// A port on 127.0.0.1 that was free a moment ago (nginx binds it itself).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?)
}
