//! The pool's TLS and mTLS towards a scheduler, from config. The "scheduler"
//! here is a switchyard gateway serving mTLS in front of a simulator (it
//! serves the same API), so the whole path is real rustls on 127.0.0.1.

use std::path::PathBuf;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use switchyard::app::{App, AppConfig};
use switchyard::config::{GatewayConfig, ServerTls};
use switchyard_core::bus::StatusBus;
use switchyard_core::registry::{ClientTls, RuntimeRegistry, RuntimeSpec};
use switchyard_proto::scheduler::SchedulerStatusRequest;
use switchyard_scheduler::{ConnectionState, SchedulerPool};
use switchyard_simulator::{Simulator, SimulatorConfig};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(20);

/// A CA plus server (`localhost`) and client certificates, as PEM files.
fn pki() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-pool-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    for (name, san) in [("server", "localhost"), ("client", "switchyard")] {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![san.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    dir
}

#[tokio::test]
async fn the_pool_speaks_mtls_and_is_refused_without_a_client_certificate() {
    let dir = pki();
    let sim = Simulator::start(SimulatorConfig::new(
        "secure",
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .unwrap();
    // The upstream: mTLS required.
    let upstream = App::start(
        AppConfig {
            gateway: GatewayConfig {
                default_namespace: Some("secure".into()),
                tls: Some(ServerTls {
                    cert: dir.join("server.pem"),
                    key: dir.join("server.key"),
                    client_ca: Some(dir.join("ca.pem")),
                }),
                ..Default::default()
            },
            gateway_listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: None,
            admin_limits: switchyard::telemetry::admin::ADMIN_LIMITS,
            spread: Default::default(),
            runtimes: Default::default(),
            kubernetes: None,
        },
        None,
    )
    .await
    .unwrap();
    upstream.registry.apply(RuntimeSpec {
        namespace: "secure".into(),
        address: sim.local_addr().to_string(),
        tls: None,
    });

    let registry = RuntimeRegistry::new();
    let pool = SchedulerPool::new(StatusBus::default(), None);
    let cancel = CancellationToken::new();
    let follower = tokio::spawn({
        let (pool, registry, cancel) = (pool.clone(), registry.clone(), cancel.clone());
        async move { pool.follow(registry, cancel).await }
    });
    let address = format!("localhost:{}", upstream.gateway_addr.port());
    registry.apply(RuntimeSpec {
        namespace: "secure".into(),
        address: address.clone(),
        tls: Some(ClientTls {
            ca: dir.join("ca.pem"),
            cert: Some(dir.join("client.pem")),
            key: Some(dir.join("client.key")),
            server_name: Some("localhost".into()),
        }),
    });
    let start = tokio::time::Instant::now();
    while pool.get("secure").map(|e| e.info().state) != Ok(ConnectionState::Ready) {
        assert!(
            start.elapsed() < DEADLINE,
            "mTLS connection never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = pool
        .client("secure")
        .unwrap()
        .scheduler_status(SchedulerStatusRequest::default())
        .await
        .unwrap();
    assert_eq!(status.into_inner().application_version, "0.0.1");

    // Without a client certificate the server refuses the handshake.
    registry.apply(RuntimeSpec {
        namespace: "secure".into(),
        address,
        tls: Some(ClientTls {
            ca: dir.join("ca.pem"),
            cert: None,
            key: None,
            server_name: Some("localhost".into()),
        }),
    });
    let start = tokio::time::Instant::now();
    let refused = loop {
        // The entry is replaced; calls on the new one fail.
        match pool
            .client("secure")
            .unwrap()
            .scheduler_status(SchedulerStatusRequest::default())
            .await
        {
            Err(status) => break status,
            Ok(_) => {
                assert!(
                    start.elapsed() < DEADLINE,
                    "a client without a certificate was served"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // tonic reports the failed handshake as a transport error (the gateway
    // maps it to UNAVAILABLE for its clients).
    assert!(
        matches!(
            refused.code(),
            tonic::Code::Unavailable | tonic::Code::Unknown
        ),
        "{refused:?}"
    );
    assert!(
        format!("{refused:?}").contains("CertificateRequired"),
        "{refused:?}"
    );

    cancel.cancel();
    follower.await.unwrap();
    upstream.shutdown().await.unwrap();
    sim.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
