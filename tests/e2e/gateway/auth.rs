//! Authentication and authorization on the gateway, with the Kubernetes
//! API double answering TokenReview and SubjectAccessReview from the RBAC
//! the test writes over real HTTP: no credentials, a bad token, a
//! ServiceAccount bound in one namespace (allowed there, denied and
//! filtered elsewhere, then granted, then revoked on an open stream).

use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use switchyard_access::{AuthConfig, AuthMode, Gate, Gatekeeper};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};

use super::support::*;

const CI_TOKEN: &str = "token-of-team-a-ci";

/// A gateway in front of `team-a` and `team-b`, authenticating with the
/// API double, decisions cached for a short time.
async fn start() -> (Env, ApiDoubleHandle, kube::Client) {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the API double starts");
    double.register_service_account_token(CI_TOKEN, "team-a", "ci");
    let client = double.client().unwrap();
    let config = AuthConfig {
        mode: AuthMode::Kubernetes,
        allowed_cache_ttl_seconds: 0.3,
        denied_cache_ttl_seconds: 0.3,
        ..AuthConfig::default()
    };
    let gate = Gate::from_config(&config, Some(client.clone()), false).unwrap();
    let access = Access::new(Gatekeeper::new(gate, None), Duration::from_millis(100));
    let env = Env::start_full(
        &["team-a", "team-b"],
        GatewayConfig::default(),
        test_options(),
        access,
        |_| {},
    )
    .await;
    (env, double, client)
}

/// Grants `ci` of team-a what the Role of docs/access.md gives, in `ns`.
async fn grant(client: &kube::Client, ns: &str) {
    let role = Role {
        metadata: kube::api::ObjectMeta {
            name: Some("seldon-deployer".into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["mlops.seldon.io".into()]),
            resources: Some(vec!["models".into(), "servers".into()]),
            verbs: ["get", "list", "watch", "create", "update", "delete"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some("ci-deploys".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: "seldon-deployer".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "ci".into(),
            namespace: Some("team-a".into()),
            ..Default::default()
        }]),
    };
    let pp = PostParams::default();
    Api::<Role>::namespaced(client.clone(), ns)
        .create(&pp, &role)
        .await
        .expect("Role created");
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&pp, &binding)
        .await
        .expect("RoleBinding created");
}

#[tokio::test]
async fn callers_without_valid_credentials_are_unauthenticated_and_told_what_is_accepted() {
    let (env, _double, _client) = start().await;
    let mut gw = env.client().await;
    let none = gw
        .unload_model(in_ns("team-b", unload_model("iris")))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
    assert!(
        none.message().contains("no credentials") && none.message().contains("bearer token"),
        "{}",
        none.message()
    );
    let bad = gw
        .unload_model(bearer(
            "nobody-issued-this",
            in_ns("team-b", unload_model("iris")),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::Unauthenticated, "{bad:?}");
    assert!(
        bad.message().contains("bearer token") && !bad.message().contains("nobody-issued-this"),
        "the message names what is accepted and never echoes the token: {}",
        bad.message()
    );
    // Nothing reached a scheduler.
    assert_eq!(env.sim("team-b").calls(Rpc::UnloadModel), 0);
    // The aggregated subscription is refused too, not left empty.
    let sub = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(sub.code(), Code::Unauthenticated);
    env.stop().await;
}

#[tokio::test]
async fn a_service_account_bound_in_one_namespace_acts_there_only_and_sees_only_its_grants() {
    let (env, _double, client) = start().await;
    grant(&client, "team-a").await;
    // A model in each namespace, loaded on the schedulers directly.
    for ns in ["team-a", "team-b"] {
        env.direct(ns)
            .await
            .load_model(load_model(&format!("m-{ns}"), Some(ns)))
            .await
            .unwrap();
    }
    let mut gw = env.client().await;

    // Allowed in team-a (a write, through to the scheduler).
    gw.load_model(bearer(CI_TOKEN, in_ns("team-a", load_model("iris", None))))
        .await
        .expect("team-a's ServiceAccount loads in team-a");
    // Denied in team-b, naming verb, resource and namespace.
    let denied = gw
        .unload_model(bearer(CI_TOKEN, in_ns("team-b", unload_model("m-team-b"))))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    for needle in [
        "system:serviceaccount:team-a:ci",
        "delete",
        "models.mlops.seldon.io",
        "\"team-b\"",
    ] {
        assert!(
            denied.message().contains(needle),
            "{needle}: {}",
            denied.message()
        );
    }
    assert_eq!(env.sim("team-b").calls(Rpc::UnloadModel), 0);
    // The control plane is for switchyard's own identity: the custom verb
    // `operate`, which the team's Role does not (and cannot usefully) hold.
    let control = gw
        .subscribe_control_plane(bearer(
            CI_TOKEN,
            in_ns("team-a", ControlPlaneSubscriptionRequest::default()),
        ))
        .await
        .unwrap_err();
    assert_eq!(control.code(), Code::PermissionDenied, "{control:?}");
    assert!(
        control.message().contains("operate") && control.message().contains("seldonruntimes"),
        "{}",
        control.message()
    );

    // A cross-namespace listing holds team-a only.
    let listed = model_names(&mut gw, CI_TOKEN).await;
    assert!(listed.iter().all(|(ns, _)| ns == "team-a"), "{listed:?}");
    assert!(
        listed.contains(&("team-a".into(), "m-team-a".into())),
        "{listed:?}"
    );

    // A name held in both namespaces, unloaded by name only (as the seldon
    // CLI does): the caller may delete in team-a only, so that is the one
    // namespace it can mean; team-b is neither chosen nor named.
    for ns in ["team-a", "team-b"] {
        env.direct(ns)
            .await
            .load_model(load_model("shared", Some(ns)))
            .await
            .unwrap();
    }
    let filter = switchyard_core::bus::Filter {
        kind: switchyard_core::bus::StatusKind::Model,
        namespace: None,
    };
    eventually("both copies on the bus", async || {
        let events = env.bus.snapshot(&filter);
        events
            .iter()
            .filter(|e| e.payload.name() == "shared")
            .count()
            == 2
    })
    .await;
    gw.unload_model(bearer(CI_TOKEN, Request::new(unload_model("shared"))))
        .await
        .expect("unloaded where the caller may");
    assert_eq!(env.sim("team-a").calls(Rpc::UnloadModel), 1);
    assert_eq!(env.sim("team-b").calls(Rpc::UnloadModel), 0);

    // The aggregated subscription: team-a's models, none of team-b's.
    let mut all = gw
        .subscribe_model_status(bearer(
            CI_TOKEN,
            Request::new(ModelSubscriptionRequest::default()),
        ))
        .await
        .expect("subscribed")
        .into_inner();
    let seen = read_until(&mut all, |m| m.model_name == "m-team-a").await;
    assert!(
        seen.iter().all(|m| model_ns_available(m).0 == "team-a"),
        "{seen:?}"
    );

    // Granted in team-b: its models appear on the open stream, current
    // state first.
    grant(&client, "team-b").await;
    read_until(&mut all, |m| {
        m.model_name == "m-team-b" && model_ns_available(m).0 == "team-b"
    })
    .await;

    // Revoked in team-b: its later events stay away; team-a's still come.
    Api::<RoleBinding>::namespaced(client.clone(), "team-b")
        .delete("ci-deploys", &DeleteParams::default())
        .await
        .unwrap();
    eventually("team-b's listing is denied again", async || {
        let mut probe = env.client().await;
        probe
            .model_status(bearer(
                CI_TOKEN,
                in_ns("team-b", ModelStatusRequest::default()),
            ))
            .await
            .is_err_and(|s| s.code() == Code::PermissionDenied)
    })
    .await;
    // The open stream re-checks on its own: a round whose team-b model
    // does not arrive before its team-a model shows the stream dropped
    // team-b; a later team-a model confirms that team-b's never came.
    let mut dropped = None;
    let start = Instant::now();
    for round in 0.. {
        if start.elapsed() > DEADLINE {
            break;
        }
        let (b, a) = (format!("late-b-{round}"), format!("late-a-{round}"));
        env.direct("team-b")
            .await
            .load_model(load_model(&b, Some("team-b")))
            .await
            .unwrap();
        env.direct("team-a")
            .await
            .load_model(load_model(&a, Some("team-a")))
            .await
            .unwrap();
        let seen = read_until(&mut all, |m| m.model_name == a).await;
        if seen.iter().all(|m| model_ns_available(m).0 == "team-a") {
            dropped = Some(b);
            break;
        }
    }
    let dropped = dropped.expect("the revoked namespace left the open stream");
    env.direct("team-a")
        .await
        .load_model(load_model("last-a", Some("team-a")))
        .await
        .unwrap();
    let after = read_until(&mut all, |m| m.model_name == "last-a").await;
    assert!(
        after
            .iter()
            .all(|m| m.model_name != dropped && model_ns_available(m).0 == "team-a"),
        "a revoked namespace's events reached the stream: {after:?}"
    );
    env.stop().await;
}

/// (namespace, model) of a cross-namespace ModelStatus listing.
async fn model_names(gw: &mut SchedulerClient<Channel>, token: &str) -> Vec<(String, String)> {
    let mut stream = gw
        .model_status(bearer(token, Request::new(ModelStatusRequest::default())))
        .await
        .expect("listing opens")
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await.expect("listing ends OK") {
        out.push((model_ns_available(&m).0, m.model_name));
    }
    out
}

#[tokio::test]
async fn health_and_reflection_answer_without_credentials_as_grpcurl_asks() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let (env, _double, _client) = start().await;
    let channel = env.channel().await;
    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "seldon.mlops.scheduler.Scheduler",
        "switchyard.v1.Gateway",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health of {service:?}: {s:?}"))
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }

    // `grpcurl list`, then `grpcurl describe` of the Scheduler service.
    let mut reflection = ServerReflectionClient::new(channel);
    let ask = |message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    };
    let requests = futures_util::stream::iter([
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol(
            "seldon.mlops.scheduler.Scheduler".into(),
        )),
    ]);
    let mut answers = reflection
        .server_reflection_info(requests)
        .await
        .expect("reflection answers")
        .into_inner();
    let listed = match answers.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
        }
        other => panic!("not a service list: {other:?}"),
    };
    for service in [
        "seldon.mlops.scheduler.Scheduler",
        "switchyard.v1.Gateway",
        "grpc.health.v1.Health",
    ] {
        assert!(listed.iter().any(|s| s == service), "{service}: {listed:?}");
    }
    match answers.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => {
            assert!(!files.file_descriptor_proto.is_empty());
        }
        other => panic!("no descriptor for the Scheduler: {other:?}"),
    }
    env.stop().await;
}
