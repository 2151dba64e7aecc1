//! switchyard.v1.Gateway: ListRuntimes and WatchRuntimes.

use switchyard_proto::gateway::{
    ConnectionState as Wire, ListRuntimesRequest, RuntimeUpdate, WatchRuntimesRequest,
};
use switchyard_proto::health::HealthCheckRequest;
use switchyard_proto::health::health_check_service_client::HealthCheckServiceClient;

use super::support::*;

#[tokio::test]
async fn list_runtimes_shows_every_namespace_and_its_connection() {
    let env = Env::start(&["team-a", "team-b"]).await;
    let list = env
        .runtimes_client()
        .await
        .list_runtimes(ListRuntimesRequest {})
        .await
        .unwrap()
        .into_inner()
        .runtimes;
    let names: Vec<_> = list.iter().map(|r| r.namespace.as_str()).collect();
    assert_eq!(names, ["team-a", "team-b"]);
    for rt in &list {
        assert_eq!(rt.state(), Wire::Ready, "{rt:?}");
        assert_eq!(rt.address, env.sim(&rt.namespace).local_addr().to_string());
        assert!(!rt.tls);
        assert_eq!(rt.reconnects, 0);
        assert!(
            rt.last_event_time.is_some(),
            "streams delivered messages: {rt:?}"
        );
    }
    let ok = HealthCheckServiceClient::new(env.channel().await)
        .health_check(HealthCheckRequest {})
        .await
        .unwrap()
        .into_inner()
        .ok;
    assert!(ok);
    env.stop().await;
}

async fn next(stream: &mut Streaming<RuntimeUpdate>) -> RuntimeUpdate {
    timeout(DEADLINE, stream.message())
        .await
        .expect("an update in time")
        .expect("stream healthy")
        .expect("stream open")
}

#[tokio::test]
async fn watch_runtimes_sends_the_list_then_changes() {
    let env = Env::start(&["team-a", "team-b"]).await;
    let mut watch = env
        .runtimes_client()
        .await
        .watch_runtimes(WatchRuntimesRequest {})
        .await
        .unwrap()
        .into_inner();
    let first = next(&mut watch).await;
    assert!(first.snapshot);
    let names: Vec<_> = first
        .runtimes
        .iter()
        .map(|r| r.namespace.as_str())
        .collect();
    assert_eq!(names, ["team-a", "team-b"]);

    let late = closed_port().await;
    env.registry.apply(runtime("late", late));
    let added = loop {
        let update = next(&mut watch).await;
        assert!(!update.snapshot);
        if let Some(rt) = update.runtimes.into_iter().find(|r| r.namespace == "late") {
            break rt;
        }
    };
    assert_eq!(added.address, late.to_string());
    assert_eq!(added.state(), Wire::Connecting);

    env.registry.delete("team-b");
    loop {
        let update = next(&mut watch).await;
        if update.removed.iter().any(|ns| ns == "team-b") {
            break;
        }
    }
    drop(watch);
    env.stop().await;
}
