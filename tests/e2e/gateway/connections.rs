//! Issue 14, item 4: connections are timed out and capped on both ports.
//! Half-open connections (nothing sent, the HTTP/2 preface only, headers
//! without a body) and idle ones are closed, a connection with a call in
//! flight never is, the cap makes new clients wait instead of exhausting
//! descriptors, and at the descriptor limit accepting backs off instead of
//! spinning.

use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::raw::*;
use super::support::*;
use switchyard::telemetry::admin::{self, Admin};
use switchyard_net::ListenerLimits;

const SHORT: Duration = Duration::from_millis(300);

/// Reads `tcp` until the server closes it (EOF or reset).
async fn closed_by_server(tcp: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    timeout(DEADLINE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[tokio::test(flavor = "current_thread")]
async fn half_open_and_idle_connections_are_closed_busy_ones_are_not() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let options = GatewayOptions {
        handshake_timeout: SHORT,
        idle_timeout: SHORT,
        request_read_timeout: SHORT,
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;

    // A subscriber opened first must outlive every timeout below.
    let mut subscriber = bystander(&env).await;

    // Nothing sent; the HTTP/2 preface only.
    let mut silent = TcpStream::connect(env.addr).await.unwrap();
    let mut preface = TcpStream::connect(env.addr).await.unwrap();
    preface.write_all(PREFACE).await.unwrap();
    closed_by_server(&mut silent).await;
    closed_by_server(&mut preface).await;

    // Headers without a body: the call ends, DEADLINE_EXCEEDED.
    let (mut h2, driver) = h2(env.addr).await;
    let path = format!("{SCHEDULER}LoadModel");
    let response = h2
        .send_request(request(
            http::Method::POST,
            &path,
            "application/grpc",
            never(),
        ))
        .await
        .expect("an answer");
    assert_eq!(
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("4".to_owned()),
        "{response:?}"
    );
    drop(response);
    // That connection, now without calls, is closed for idleness.
    timeout(DEADLINE, driver)
        .await
        .expect("the idle connection is closed")
        .unwrap();

    // The subscriber's connection was idle for all that time but had a
    // stream open: still there.
    still_served(&mut subscriber, "iris").await;

    let text = handle.render();
    for line in [
        "switchyard_listener_closed_connections_total{listener=\"gateway\",reason=\"handshake_timeout\"} 2",
        "switchyard_listener_closed_connections_total{listener=\"gateway\",reason=\"idle_timeout\"} 1",
        "switchyard_gateway_rejected_requests_total{reason=\"read_timeout\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn past_the_connection_cap_new_clients_wait_for_a_free_slot() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let options = GatewayOptions {
        max_connections: 2,
        handshake_timeout: Duration::from_millis(500),
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    let mut hogs = Vec::new();
    for _ in 0..2 {
        hogs.push(TcpStream::connect(env.addr).await.unwrap());
    }
    // The kernel completes the TCP handshake (backlog); the gateway takes
    // the connection once a hog is timed out.
    let mut late = env.client().await;
    late.load_model(load_model("iris", Some("team-a")))
        .await
        .expect("served once a slot frees");
    for hog in &mut hogs {
        closed_by_server(hog).await;
    }
    let text = handle.render();
    assert!(
        text.contains("switchyard_listener_at_capacity_total{listener=\"gateway\"}"),
        "{text}"
    );
    assert!(
        text.contains("switchyard_listener_max_connections{listener=\"gateway\"} 2"),
        "{text}"
    );
    env.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    timeout(DEADLINE, tcp.read_to_string(&mut out))
        .await
        .expect("an answer in time")
        .expect("readable");
    out
}

#[tokio::test]
async fn the_admin_port_closes_unused_connections_and_keeps_answering_probes() {
    let metrics = PrometheusBuilder::new().build_recorder().handle();
    let (_ready_tx, ready) = tokio::sync::watch::channel(true);
    let cancel = CancellationToken::new();
    let limits = ListenerLimits {
        max_connections: 4,
        handshake_timeout: SHORT,
        idle_timeout: SHORT,
    };
    let (addr, serving) = admin::bind(
        "127.0.0.1:0".parse().unwrap(),
        Admin {
            metrics,
            ready,
            log_level: None,
            runtimes: switchyard_core::registry::RuntimeRegistry::new(),
        },
        limits,
        cancel.clone(),
    )
    .await
    .unwrap();
    let server = tokio::spawn(serving);
    // Every slot taken: idle connections and a slow header.
    let mut hogs = Vec::new();
    for _ in 0..3 {
        hogs.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: a")
        .await
        .unwrap();
    hogs.push(slow);
    // A probe waits for a slot, then is answered.
    let answer = http_get(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for hog in &mut hogs {
        closed_by_server(hog).await;
    }
    cancel.cancel();
    timeout(DEADLINE, server).await.unwrap().unwrap();
}

/// CPU time (user + system) of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn set_fd_limit(soft: u64) -> u64 {
    // SAFETY: get/setrlimit read and write the struct they are given.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let old = limit.rlim_cur;
        limit.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        old
    }
}

/// Counts log events whose text contains `needle`.
#[derive(Clone)]
struct LogCounter {
    needle: &'static str,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl std::io::Write for LogCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if String::from_utf8_lossy(buf).contains(self.needle) {
            self.count
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

/// At the file descriptor limit, accept fails (EMFILE) while clients keep
/// arriving: the listener backs off instead of spinning, and serves again
/// once descriptors free up. Alone in a child process: the limit is the
/// process'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_descriptor_limit_accepting_backs_off_instead_of_spinning() {
    if !isolated(
        "gateway::connections::at_the_descriptor_limit_accepting_backs_off_instead_of_spinning",
    )
    .await
    {
        return;
    }
    // One warning per condition per interval, not one per failed accept.
    let warnings = LogCounter {
        needle: "accept failed",
        count: Default::default(),
    };
    let writer = warnings.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .expect("the isolated process has no subscriber yet");
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    gw.load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap();
    let old = set_fd_limit(open_fds() + 8);
    // Connect until the process has no descriptor left for accept: the
    // clients' sockets take them, the kernel queues the connections.
    let mut clients = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect(env.addr).await {
            Ok(tcp) => clients.push(tcp),
            Err(_) => break,
        }
    }
    let cpu = cpu_time();
    tokio::time::sleep(Duration::from_secs(1)).await; // time passing, not a state
    let spent = cpu_time() - cpu;
    println!("CPU over one second at the descriptor limit: {spent:?}");
    assert!(
        spent < Duration::from_millis(400),
        "the accept loop spins: {spent:?}"
    );
    let logged = warnings.count.load(std::sync::atomic::Ordering::Relaxed);
    println!("accept warnings logged: {logged}");
    assert!(
        (1..=2).contains(&logged),
        "{logged} accept warnings in about a second"
    );
    drop(clients);
    set_fd_limit(old);
    gw.load_model(load_model("iris2", Some("team-a")))
        .await
        .expect("served again once descriptors free up");
    let mut fresh = env.client().await;
    fresh
        .load_model(load_model("iris3", Some("team-a")))
        .await
        .expect("new connections are accepted again");
    env.stop().await;
}

/// Forwards bytes both ways until `freeze`; then holds both connections
/// open and silent, as a peer whose host vanished.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    freeze: CancellationToken,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            () = freeze.cancelled() => std::future::pending::<()>().await,
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

#[tokio::test]
async fn a_dead_subscriber_is_found_by_keepalive_and_dropped() {
    let options = GatewayOptions {
        keepalive_interval: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(200),
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let freeze = CancellationToken::new();
    let gateway = env.addr;
    let pumps = tokio::spawn({
        let freeze = freeze.clone();
        async move {
            let (client, _) = proxy.accept().await.unwrap();
            let upstream = TcpStream::connect(gateway).await.unwrap();
            let (client_read, client_write) = client.into_split();
            let (upstream_read, upstream_write) = upstream.into_split();
            tokio::join!(
                pump(client_read, upstream_write, freeze.clone()),
                pump(upstream_read, client_write, freeze),
            );
        }
    });
    let channel = Endpoint::from_shared(format!("http://{proxy_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = SchedulerClient::new(channel);
    let _stream = client
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();
    eventually("the subscriber joins", async || {
        env.bus.subscriber_count() == 1
    })
    .await;
    // The peer goes silent without closing anything: only pings tell.
    freeze.cancel();
    eventually("the silent subscriber is dropped", async || {
        env.bus.subscriber_count() == 0
    })
    .await;
    pumps.abort();
    env.stop().await;
}
