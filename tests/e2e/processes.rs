//! `switchyard simulate` and `switchyard run --config` as separate
//! processes, as a user runs them: two simulated namespaces in one process,
//! the gateway in another, driven over real gRPC and HTTP on 127.0.0.1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::common;

use common::process::{field_value, http_get, switchyard};
use common::{DEADLINE, load_model as load};
use switchyard_proto::gateway::gateway_client::GatewayClient;
use switchyard_proto::gateway::{ConnectionState, ListRuntimesRequest, Runtime};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    ModelSubscriptionRequest, UnloadPipelineRequest, model_status::ModelState,
};
use tonic::transport::Channel;

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

fn config_file(runtimes: &[(&str, &str)]) -> String {
    runtimes
        .iter()
        .map(|(ns, addr)| format!("[[runtimes]]\nnamespace = \"{ns}\"\naddress = \"{addr}\"\n"))
        .collect()
}

#[tokio::test]
async fn simulate_and_run_as_separate_processes() {
    let simulate = |ns: &'static str| async move {
        switchyard(
            &[
                "simulate",
                "--listen",
                "127.0.0.1:0",
                "--namespace",
                ns,
                "--sync-timeout-ms",
                "0",
            ],
            "simulated scheduler listening",
        )
        .await
    };
    let (_ns1, line) = simulate("ns1").await;
    let ns1_addr = field_value(&line, "addr").expect("simulator address logged");
    let (_ns2, line) = simulate("ns2").await;
    let ns2_addr = field_value(&line, "addr").expect("simulator address logged");
    let dir = std::env::temp_dir().join(format!("switchyard-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config: PathBuf = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        config_file(&[("ns1", &ns1_addr), ("ns2", &ns2_addr)]),
    )
    .unwrap();
    let (_gateway, line) = switchyard(
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--gateway-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        "switchyard running",
    )
    .await;
    let address = |field| -> SocketAddr {
        field_value(&line, field)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} address in {line:?}"))
    };
    let (gateway_addr, metrics_addr) = (address("gateway"), address("metrics"));

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
    std::fs::write(&config, config_file(&[("ns1", &ns1_addr)])).unwrap();
    until_runtimes(&mut gateway, &["ns1"]).await;
    // ... and its five tasks are gone: the task gauge is back to one
    // namespace's worth.
    let start = tokio::time::Instant::now();
    loop {
        let body = http_get(metrics_addr, "/metrics").await;
        let tasks: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("switchyard_pool_tasks{"))
            .collect();
        if tasks.len() == 5 && tasks.iter().all(|l| l.ends_with(" 1")) {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "task gauge not back to one namespace: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}
