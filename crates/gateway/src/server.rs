//! Building and running the gateway's tonic server.
//!
//! One HTTP/2 endpoint serves `seldon.mlops.scheduler.Scheduler` for every
//! namespace, `switchyard.v1.Gateway`, Seldon's health service, the
//! standard `grpc.health.v1.Health` and server reflection (v1 and v1alpha,
//! so `grpcurl` needs no proto files), behind
//! the gRPC metrics layer and the admission layer (`admission`: protocol,
//! concurrency, request size and entries); plaintext, TLS or mTLS (rustls)
//! from [`TlsFiles`]. Connections come from `switchyard_net`'s listener
//! (a cap, handshake and idle timeouts); HTTP/2 limits the streams per
//! connection and the header size, and pings idle peers. Shutdown is graceful: when the caller's `shutdown` future
//! completes, the listener closes, every open stream ends with
//! UNAVAILABLE, and connections drain for at most
//! [`GatewayOptions::shutdown_grace`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::admission::AdmissionLayer;
use super::guard::Access;
use super::health::HealthService;
use super::listen;
use super::locate::keep_authority;
use super::metrics_layer::GrpcMetrics;
use super::options::{GatewayOptions, TlsFiles};
use super::runtimes::RuntimesService;
use super::scheduler::SchedulerGateway;
use switchyard_core::bus::StatusBus;
use switchyard_net::{IdleBy, Listener};
use switchyard_proto::gateway::gateway_server::GatewayServer;
use switchyard_proto::scheduler::scheduler_server::SchedulerServer;
use switchyard_scheduler::SchedulerPool;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr} for the gateway: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the gateway's TLS {what} from {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the gateway's TLS settings were rejected (check that cert and key are PEM and match): {0}"
    )]
    Tls(#[source] tonic::transport::Error),
    #[error("the gateway server failed: {0}")]
    Serve(#[source] tonic::transport::Error),
    #[error("the gateway's reflection service cannot read the protocol descriptors: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Binds the gateway's listening socket (port 0 picks a free port; read it
/// back with `local_addr`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves the gateway on `listener` until `shutdown` completes: routes
/// through `pool`, serves subscriptions from `bus`, admits every call
/// through `access` (`Access::default()`: anyone may call anything).
pub async fn serve(
    listener: TcpListener,
    pool: SchedulerPool,
    bus: StatusBus,
    options: GatewayOptions,
    access: Access,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let tls = options.tls.clone();
    let default_namespace = options.default_namespace.clone();
    let tls_config = tls.as_ref().map(server_tls).transpose()?;
    let stopping = CancellationToken::new();
    let authenticated = access.keeper.enabled();
    let scheduler = SchedulerGateway::new(
        pool.clone(),
        bus,
        options.clone(),
        access.clone(),
        stopping.clone(),
    );
    let runtimes = RuntimesService::new(pool, access, stopping.clone());
    let (health, standard_health) = standard_health().await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(switchyard_proto::DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (reflection_v1, reflection_v1alpha) =
        (reflection().build_v1()?, reflection().build_v1alpha()?);

    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(options.keepalive_interval))
        .http2_keepalive_timeout(Some(options.keepalive_timeout))
        .max_concurrent_streams(options.max_concurrent_streams)
        .http2_max_header_list_size(options.max_header_list_bytes);
    if let Some(tls_config) = tls_config {
        builder = builder.tls_config(tls_config).map_err(ServeError::Tls)?;
    }
    let router = builder
        .layer(tower::util::MapRequestLayer::new(
            keep_authority::<tonic::body::Body>,
        ))
        .layer(GrpcMetrics::layer())
        .layer(AdmissionLayer::new(options.admission()))
        .add_service(scheduler.into_service())
        .add_service(runtimes.into_service())
        .add_service(HealthService.into_service())
        .add_service(standard_health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let address = listener.local_addr().ok();
    let incoming = listen::incoming(Listener::new(
        listener,
        "gateway",
        options.listener(),
        IdleBy::Requests,
    ));
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            tracing::info!("gateway stopping: ending open streams");
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            stopping.cancel();
        }
    };
    tracing::info!(address = ?address, authenticated, tls = tls.is_some(), mtls = tls.as_ref().is_some_and(|t| t.client_ca.is_some()), default_namespace = default_namespace.as_deref().unwrap_or(""), "gateway serving");
    let server = router.serve_with_incoming_shutdown(incoming, signal);
    let grace = async {
        stopping.cancelled().await;
        tokio::time::sleep(options.shutdown_grace).await;
    };
    tokio::select! {
        result = server => result.map_err(ServeError::Serve),
        () = grace => {
            tracing::warn!(grace = ?options.shutdown_grace, "gateway connections still open after the shutdown grace; stopping anyway");
            Ok(())
        }
    }
}

/// The standard `grpc.health.v1.Health` service: the gateway and its two
/// services serving (until shutdown). Whether a namespace's scheduler is
/// reachable is ListRuntimes' business.
async fn standard_health() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<SchedulerServer<SchedulerGateway>>()
        .await;
    reporter
        .set_serving::<GatewayServer<RuntimesService>>()
        .await;
    (reporter, service)
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::TlsFile {
        what,
        path: path.to_owned(),
        source,
    })
}

/// rustls settings from the config: our certificate, and for mTLS the CA
/// client certificates must chain to.
fn server_tls(tls: &TlsFiles) -> Result<ServerTlsConfig, ServeError> {
    let TlsFiles {
        cert,
        key,
        client_ca,
    } = tls;
    let identity = Identity::from_pem(read("certificate", cert)?, read("private key", key)?);
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = client_ca {
        config = config.client_ca_root(Certificate::from_pem(read("client CA", ca)?));
    }
    Ok(config)
}
