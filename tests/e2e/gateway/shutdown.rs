//! Graceful shutdown: open streams end with UNAVAILABLE and the server
//! returns.

use super::support::*;

#[tokio::test]
async fn shutdown_ends_open_streams_and_returns() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let mut subscription = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut control = gw
        .subscribe_control_plane(in_ns("team-a", ControlPlaneSubscriptionRequest::default()))
        .await
        .unwrap()
        .into_inner();
    env.stop_gateway();
    let ended = timeout(DEADLINE, async {
        loop {
            match subscription.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status),
            }
        }
    })
    .await
    .expect("the subscription ends in time");
    assert_eq!(
        ended.expect("ended with a status").code(),
        Code::Unavailable
    );
    let ended = timeout(DEADLINE, async {
        loop {
            match control.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status),
            }
        }
    })
    .await
    .expect("the control plane ends in time");
    assert_eq!(
        ended.expect("ended with a status").code(),
        Code::Unavailable
    );
    // `stop` asserts that serve() returns Ok within the deadline.
    env.stop().await;
}
