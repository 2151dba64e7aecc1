//! The load benchmark's peer proxy (benches/load/nginx.rs) works as the
//! benchmark assumes: Debian's nginx (`nginx-light`, which `.ci/run`
//! installs) starts from the generated config on loopback, forwards unary
//! calls and server streams to a simulated scheduler, keeps its upstream
//! connections alive across calls (the point of tuning it), reports its
//! CPU time, and is gone when dropped.

#[path = "../../benches/load/cpu.rs"]
mod cpu;
#[path = "../../benches/load/nginx.rs"]
mod nginx;

use std::time::Duration;

use switchyard_proto::scheduler::ModelSubscriptionRequest;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_simulator::{Simulator, SimulatorConfig};
use switchyard_testkit::{DEADLINE, load_model_request};
use tonic::transport::Endpoint;

const CALLS: usize = 20;

#[tokio::test]
async fn nginx_forwards_grpc_over_kept_alive_upstream_connections() {
    let mut config = SimulatorConfig::new("peer", "127.0.0.1:0".parse().unwrap());
    config.sync_timeout = Duration::ZERO;
    let sim = Simulator::start(config).await.unwrap();
    let binary =
        nginx::binary().expect("nginx is installed (Debian's nginx-light; .ci/run installs it)");
    let peer = nginx::Nginx::start(&binary, sim.local_addr(), 1, 8).unwrap();
    let listen = peer.local_addr();

    // Each call on a new client connection: nginx, not the client, is what
    // keeps the scheduler's side to one connection.
    for i in 0..CALLS {
        let channel = Endpoint::from_shared(format!("http://{}", peer.local_addr()))
            .unwrap()
            .connect()
            .await
            .unwrap();
        SchedulerClient::new(channel)
            .load_model(load_model_request("peer", &format!("m{i}")))
            .await
            .unwrap();
    }
    let stats = sim.stats();
    assert_eq!(stats.models, CALLS, "every call reached the scheduler");
    assert!(
        stats.connections_accepted < 3,
        "nginx reuses its upstream connection: the scheduler accepted {} for {CALLS} calls",
        stats.connections_accepted
    );

    // A server stream through it delivers the snapshot.
    let channel = Endpoint::from_shared(format!("http://{}", peer.local_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut stream = SchedulerClient::new(channel)
        .subscribe_model_status(ModelSubscriptionRequest {
            subscriber_name: "peer-test".into(),
            is_model_gateway: false,
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(DEADLINE, stream.message())
        .await
        .unwrap()
        .unwrap();
    assert!(
        first.is_some(),
        "the snapshot's first model arrives through nginx"
    );
    drop(stream);

    // Its CPU is read from the master and every worker (one here).
    assert_eq!(peer.processes().len(), 2, "nginx's master and its worker");
    assert!(cpu::own_time() > Duration::ZERO);
    let _: Duration = peer.cpu_time();
    drop(peer);
    assert!(
        std::net::TcpStream::connect(listen).is_err(),
        "nginx stopped listening when dropped"
    );
    sim.shutdown().await.unwrap();
}
