//! `seldon.mlops.health.HealthCheckService`, which the real scheduler also
//! serves: always healthy, subject to the latency and failure knobs.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::{faults::Rpc, service::enter, state::Shared};
use switchyard_proto::health::{
    HealthCheckRequest, HealthCheckResponse, health_check_service_server::HealthCheckService,
};

/// The simulated scheduler's health service.
#[derive(Clone)]
pub(crate) struct HealthService {
    shared: Arc<Shared>,
}

impl HealthService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[tonic::async_trait]
impl HealthCheckService for HealthService {
    async fn health_check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        enter(&self.shared, Rpc::HealthCheck).await?;
        Ok(Response::new(HealthCheckResponse { ok: true }))
    }
}
