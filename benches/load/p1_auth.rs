//! P1's gateway with authentication and authorization on: a second
//! gateway on the same pool and bus as the first, admitting every call
//! through TokenReview and SubjectAccessReview (the Kubernetes API double
//! answering over HTTP), decisions cached as in production (so in steady
//! state a call costs a cache lookup per permission, plus a review when a
//! cache entry expires). The client sends a bearer token.

use std::net::SocketAddr;
use std::time::Duration;

use switchyard::app::App;
use switchyard_access::{AuthConfig, AuthMode, Gate, Gatekeeper};
use switchyard_gateway::{Access, GatewayOptions};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle, TokenUser};
use tokio_util::sync::CancellationToken;

/// The bearer token of P1's authenticated side.
pub(crate) const TOKEN: &str = "p1-load-token";

/// The authenticating gateway; stops when dropped.
pub(crate) struct AuthGateway {
    pub addr: SocketAddr,
    _double: ApiDoubleHandle,
    stop: CancellationToken,
}

impl Drop for AuthGateway {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts it in front of `app`'s pool and bus.
pub(crate) async fn start(app: &App) -> anyhow::Result<AuthGateway> {
    let double = ApiDouble::start("127.0.0.1:0".parse()?).await?;
    let mut user = TokenUser::new("p1-load");
    user.groups = vec!["system:masters".into()];
    double.register_token(TOKEN, user);
    let config = AuthConfig {
        mode: AuthMode::Kubernetes,
        ..AuthConfig::default()
    };
    let gate = Gate::from_config(&config, Some(double.client()?), false)?;
    let access = Access::new(Gatekeeper::new(gate, None), Duration::from_secs(1));
    let listener = switchyard_gateway::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    tokio::spawn({
        let (pool, bus, stop) = (app.pool.clone(), app.bus.clone(), stop.clone());
        async move {
            let served = switchyard_gateway::serve(
                listener,
                pool,
                bus,
                GatewayOptions::default(),
                access,
                stop.cancelled_owned(),
            )
            .await;
            if let Err(error) = served {
                eprintln!("P1's authenticating gateway failed: {error}");
            }
        }
    });
    Ok(AuthGateway {
        addr,
        _double: double,
        stop,
    })
}
