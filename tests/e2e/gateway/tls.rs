//! TLS and mTLS on the gateway endpoint, with certificates made on the fly.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use switchyard::config::ServerTls;
use switchyard_proto::health::HealthCheckRequest;
use switchyard_proto::health::health_check_service_client::HealthCheckServiceClient;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::support::*;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

/// A CA, a server certificate for `localhost` and a client certificate,
/// written under a fresh temporary directory.
fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("switchyard-gw-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into()]);
    let (client_cert, client_key) = leaf(vec!["switchyard-client".into()]);
    let ca_pem = ca_cert.pem();
    std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert).unwrap();
    std::fs::write(dir.join("server.key"), server_key).unwrap();
    Pki {
        dir,
        ca_pem,
        client_cert,
        client_key,
    }
}

fn tls_endpoint(env: &Env, pki: &Pki, identity: bool) -> Endpoint {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if identity {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    Endpoint::from_shared(format!("https://localhost:{}", env.addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
}

async fn healthy(endpoint: Endpoint) -> Result<bool, Status> {
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let response = HealthCheckServiceClient::new(channel)
        .health_check(HealthCheckRequest {})
        .await?;
    Ok(response.into_inner().ok)
}

#[tokio::test]
async fn tls_and_mtls_are_served_from_config() {
    let tls = pki("tls");
    let config = GatewayConfig {
        tls: Some(ServerTls {
            cert: tls.dir.join("server.pem"),
            key: tls.dir.join("server.key"),
            client_ca: None,
        }),
        ..Default::default()
    };
    // Short connection timeouts: over TLS too, a connection with a call
    // in flight is never idle, and one that never handshakes is closed.
    let options = GatewayOptions {
        handshake_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], config, options).await;
    assert!(
        healthy(tls_endpoint(&env, &tls, false))
            .await
            .expect("TLS works")
    );
    let mut gw = SchedulerClient::new(tls_endpoint(&env, &tls, false).connect().await.unwrap());
    let mut events = gw
        .subscribe_model_status(in_ns("team-a", ModelSubscriptionRequest::default()))
        .await
        .expect("subscribed over TLS")
        .into_inner();
    let mut silent = tokio::net::TcpStream::connect(env.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let closed = timeout(
        DEADLINE,
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a connection that never handshakes is closed: {closed:?}"
    );
    // Several idle timeouts pass (time passing, not a state).
    tokio::time::sleep(Duration::from_secs(1)).await;
    gw.load_model(load_model("iris", Some("team-a")))
        .await
        .expect("routed over TLS");
    read_until(&mut events, |m| m.model_name == "iris").await;
    env.stop().await;

    let mtls = pki("mtls");
    let config = GatewayConfig {
        tls: Some(ServerTls {
            cert: mtls.dir.join("server.pem"),
            key: mtls.dir.join("server.key"),
            client_ca: Some(mtls.dir.join("ca.pem")),
        }),
        ..Default::default()
    };
    let env = Env::start_with(&["team-a"], config, test_options()).await;
    assert!(
        healthy(tls_endpoint(&env, &mtls, true))
            .await
            .expect("mTLS works")
    );
    assert!(
        healthy(tls_endpoint(&env, &mtls, false)).await.is_err(),
        "a client without a certificate is refused"
    );
    env.stop().await;
    let _ = std::fs::remove_dir_all(&tls.dir);
    let _ = std::fs::remove_dir_all(&mtls.dir);
}

#[tokio::test]
async fn missing_tls_files_are_an_error_naming_the_file() {
    let config = GatewayConfig {
        tls: Some(ServerTls {
            cert: "/nonexistent/server.pem".into(),
            key: "/nonexistent/server.key".into(),
            client_ca: None,
        }),
        ..Default::default()
    };
    let listener = switchyard_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let bus = StatusBus::default();
    let pool = SchedulerPool::new(bus.clone(), None);
    let options = switchyard::app::gateway_options(&config);
    let err = switchyard_gateway::serve(
        listener,
        pool,
        bus,
        options,
        switchyard_gateway::Access::default(),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/server.pem"), "{err}");
}
