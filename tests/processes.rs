//! `switchyard simulate` and `switchyard run --config` as separate
//! processes, as a user runs them: two simulated namespaces in one process,
//! the gateway in another, driven over real gRPC and HTTP on 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use switchyard::proto::gateway::gateway_client::GatewayClient;
use switchyard::proto::gateway::{ConnectionState, ListRuntimesRequest, Runtime};
use switchyard::proto::scheduler::scheduler_client::SchedulerClient;
use switchyard::proto::scheduler::{
    DeploymentSpec, KubernetesMeta, LoadModelRequest, MetaData, Model, ModelSpec,
    ModelSubscriptionRequest, UnloadPipelineRequest, model_status::ModelState,
};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

const DEADLINE: Duration = Duration::from_secs(30);

/// Two consecutive free ports on 127.0.0.1 (simulate takes a base port).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn switchyard(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("switchyard binary starts")
}

async fn connect(addr: SocketAddr) -> Channel {
    let start = tokio::time::Instant::now();
    loop {
        match Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            Ok(channel) => return channel,
            Err(error) => {
                assert!(start.elapsed() < DEADLINE, "{addr} never accepted: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn runtimes(gateway: &mut GatewayClient<Channel>) -> Vec<Runtime> {
    gateway
        .list_runtimes(ListRuntimesRequest {})
        .await
        .unwrap()
        .into_inner()
        .runtimes
}

async fn until_runtimes(gateway: &mut GatewayClient<Channel>, want: &[&str]) {
    let start = tokio::time::Instant::now();
    loop {
        let list = runtimes(gateway).await;
        let ready: Vec<&str> = list
            .iter()
            .filter(|r| r.state() == ConnectionState::Ready)
            .map(|r| r.namespace.as_str())
            .collect();
        if ready == want && list.len() == want.len() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "runtimes {list:?}, wanted exactly {want:?} ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn load(ns: &str, name: &str) -> LoadModelRequest {
    LoadModelRequest {
        model: Some(Model {
            meta: Some(MetaData {
                name: name.into(),
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: ns.into(),
                    generation: 1,
                }),
                ..Default::default()
            }),
            model_spec: Some(ModelSpec {
                uri: "gs://models/m".into(),
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas: 1,
                max_replicas: u32::MAX,
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

fn config_file(runtimes: &[(&str, u16)]) -> String {
    runtimes
        .iter()
        .map(|(ns, port)| {
            format!("[[runtimes]]\nnamespace = \"{ns}\"\naddress = \"127.0.0.1:{port}\"\n")
        })
        .collect()
}

#[tokio::test]
async fn simulate_and_run_as_separate_processes() {
    let base = free_port_pair();
    let _simulators = switchyard(&[
        "simulate",
        "--namespaces",
        "2",
        "--base-port",
        &base.to_string(),
        "--namespace-prefix",
        "ns",
        "--sync-timeout-ms",
        "0",
    ]);
    let dir = std::env::temp_dir().join(format!("switchyard-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config: PathBuf = dir.join("switchyard.toml");
    std::fs::write(&config, config_file(&[("ns1", base), ("ns2", base + 1)])).unwrap();
    let (gateway_addr, metrics_addr) = (free_addr(), free_addr());
    let _gateway = switchyard(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--gateway-listen",
        &gateway_addr.to_string(),
        "--metrics-listen",
        &metrics_addr.to_string(),
    ]);

    let channel = connect(gateway_addr).await;
    let mut gateway = GatewayClient::new(channel.clone());
    until_runtimes(&mut gateway, &["ns1", "ns2"]).await;

    // Models in two namespaces, seen on one aggregated subscription.
    let mut scheduler = SchedulerClient::new(channel);
    let mut models = scheduler
        .subscribe_model_status(ModelSubscriptionRequest {
            subscriber_name: "e2e".into(),
            is_model_gateway: false,
        })
        .await
        .unwrap()
        .into_inner();
    scheduler.load_model(load("ns1", "iris")).await.unwrap();
    scheduler.load_model(load("ns2", "income")).await.unwrap();
    let mut available = std::collections::BTreeSet::new();
    while available.len() < 2 {
        let msg = tokio::time::timeout(DEADLINE, models.message())
            .await
            .expect("status in time")
            .unwrap()
            .expect("stream open");
        let v = &msg.versions[0];
        if v.state.as_ref().unwrap().state() == ModelState::ModelAvailable {
            available.insert(format!(
                "{}/{}",
                v.kubernetes_meta.as_ref().unwrap().namespace,
                msg.model_name
            ));
        }
    }
    assert_eq!(
        available.into_iter().collect::<Vec<_>>(),
        ["ns1/iris", "ns2/income"]
    );

    // An unknown namespace is NOT_FOUND, naming it.
    let mut request = tonic::Request::new(UnloadPipelineRequest { name: "p".into() });
    request
        .metadata_mut()
        .insert("seldon-namespace", "nowhere".parse().unwrap());
    let status = scheduler.unload_pipeline(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(status.message().contains("nowhere"), "{status:?}");

    // Metrics are served on their own port.
    let body = http_get(metrics_addr, "/metrics").await;
    assert!(
        body.contains("switchyard_scheduler_connected{namespace=\"ns1\"} 1"),
        "{body}"
    );
    assert!(body.contains("grpc_server_handled_total"), "{body}");
    assert!(http_get(metrics_addr, "/readyz").await.contains("ready"));

    // Removing a runtime from the file takes effect with no restart.
    std::fs::write(&config, config_file(&[("ns1", base)])).unwrap();
    until_runtimes(&mut gateway, &["ns1"]).await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A minimal HTTP/1.1 GET over a plain TCP stream.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("admin endpoint up");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}
