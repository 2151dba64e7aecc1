//! Seldon's `seldon.mlops.health.HealthCheckService`, which Seldon's
//! scheduler also serves: the gateway answers ok while it is serving.
//! Whether a namespace's scheduler is reachable is ListRuntimes' business.

use tonic::{Request, Response, Status};

use switchyard_proto::health::health_check_service_server::{
    HealthCheckService, HealthCheckServiceServer,
};
use switchyard_proto::health::{HealthCheckRequest, HealthCheckResponse};

/// The health service: always ok.
#[derive(Clone, Copy, Debug, Default)]
pub struct HealthService;

impl HealthService {
    /// The tonic service.
    pub fn into_service(self) -> HealthCheckServiceServer<Self> {
        HealthCheckServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl HealthCheckService for HealthService {
    async fn health_check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse { ok: true }))
    }
}
