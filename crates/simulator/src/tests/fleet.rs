//! Several namespaces in one process, on consecutive ports.

use super::support::*;

#[tokio::test]
async fn fleet_serves_each_namespace_on_consecutive_ports() {
    // Find a free run of three ports; retry if another process takes one.
    let mut attempts = 0;
    let fleet = loop {
        attempts += 1;
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        let base = probe.local_addr().expect("addr").port().min(u16::MAX - 3);
        drop(probe);
        let mut template = config();
        template.listen.set_port(base);
        match SimulatorFleet::start(template, 3, "ns").await {
            Ok(fleet) => break fleet,
            Err(err) if attempts < 5 => eprintln!("retrying: {err}"),
            Err(err) => panic!("no free port run: {err}"),
        }
    };
    let handles = fleet.handles();
    let names: Vec<_> = handles.iter().map(|h| h.namespace()).collect();
    assert_eq!(names, ["ns1", "ns2", "ns3"]);
    let base = handles[0].local_addr().port();
    for (offset, handle) in (0_u16..).zip(handles) {
        assert_eq!(handle.local_addr().port(), base + offset);
        let mut health = HealthCheckServiceClient::new(channel(handle).await);
        assert!(
            health
                .health_check(HealthCheckRequest {})
                .await
                .expect("healthy")
                .into_inner()
                .ok
        );
    }
    assert!(fleet.get("ns2").is_some());
    fleet.shutdown().await.expect("clean shutdown");
}
