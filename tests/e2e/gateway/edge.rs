//! Issue 14, items 3 and 7 (the gateway's side): names and replica counts
//! are checked by Kubernetes' rules before anything is forwarded, errors
//! quote client input short and escaped, and a caller sending huge names
//! breaks nothing for the others (the upstream connection is untouched).

use switchyard_proto::scheduler::DeploymentSpec;

use super::support::*;

/// Longest error message a client can provoke (a 64-character quote plus
/// the rule it broke).
const MESSAGE_BOUND: usize = 512;

fn short_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().len() < MESSAGE_BOUND,
        "{} bytes",
        status.message().len()
    );
    assert!(status.message().contains(field), "{}", status.message());
}

#[tokio::test]
async fn huge_names_are_refused_short_and_others_keep_their_streams() {
    let env = Env::start(&["team-a"]).await;
    let mut bystander = bystander(&env).await;
    let mut attacker = SchedulerClient::new(env.endpoint().connect().await.unwrap())
        .max_encoding_message_size(usize::MAX);
    let huge = "m".repeat(200 * 1024);

    let status = attacker
        .load_model(load_model(&huge, Some("team-a")))
        .await
        .unwrap_err();
    // Under the test gateway's 256 KiB message limit: the name rule speaks.
    short_invalid(&status, "model.meta.name");
    assert!(
        status.message().contains("(204800 bytes)"),
        "{}",
        status.message()
    );

    let status = attacker
        .load_model(load_model("iris", Some(&huge)))
        .await
        .unwrap_err();
    short_invalid(&status, "model.meta.kubernetesMeta.namespace");

    // A namespace in metadata: as long as HTTP/2 headers allow.
    let long_ns = "n".repeat(8 * 1024);
    let status = attacker
        .load_model(in_ns(&long_ns, load_model("iris", None)))
        .await
        .unwrap_err();
    short_invalid(&status, "seldon-namespace");
    let status = attacker
        .load_model(in_ns("Team_A\"", load_model("iris", None)))
        .await
        .unwrap_err();
    short_invalid(&status, "\"Team_A\\\"\"");

    let status = attacker
        .unload_pipeline(in_ns(
            "team-a",
            UnloadPipelineRequest { name: huge.clone() },
        ))
        .await
        .unwrap_err();
    short_invalid(&status, "name");

    // Nothing reached the scheduler, whose connection others share.
    assert!(
        model_names(&mut env.direct("team-a").await)
            .await
            .is_empty()
    );
    still_served(&mut bystander, "iris").await;
    assert_eq!(
        env.pool.get("team-a").unwrap().info().state,
        ConnectionState::Ready
    );
    env.stop().await;
}

#[tokio::test]
async fn replicas_beyond_the_crds_int32_are_refused() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let mut model = load_model("iris", Some("team-a"));
    model.model.as_mut().unwrap().deployment_spec = Some(DeploymentSpec {
        replicas: u32::MAX,
        ..Default::default()
    });
    let status = gw.load_model(model).await.unwrap_err();
    short_invalid(&status, "model.deploymentSpec.replicas");
    let notify = ServerNotifyRequest {
        servers: vec![ServerNotify {
            name: "mlserver".into(),
            expected_replicas: u32::MAX,
            ..Default::default()
        }],
        is_first_sync: false,
    };
    let status = gw.server_notify(in_ns("team-a", notify)).await.unwrap_err();
    short_invalid(&status, "servers[0].expectedReplicas");
    let mut too_many = load_model("iris", Some("team-a"));
    too_many.model.as_mut().unwrap().deployment_spec = Some(DeploymentSpec {
        replicas: 1,
        max_replicas: u32::MAX - 1,
        ..Default::default()
    });
    let status = gw.load_model(too_many).await.unwrap_err();
    short_invalid(&status, "model.deploymentSpec.maxReplicas");
    // Seldon's "no maximum" is uint32 max.
    let mut ok = load_model("iris", Some("team-a"));
    ok.model.as_mut().unwrap().deployment_spec = Some(DeploymentSpec {
        replicas: 2,
        max_replicas: u32::MAX,
        ..Default::default()
    });
    gw.load_model(ok).await.expect("a sane replica count");
    env.stop().await;
}
