//! TokenReview and SubjectAccessReview against the Kubernetes API double
//! over real HTTP: the double authenticates registered tokens and decides
//! from the RBAC objects the test creates, as an API server would.

use crate::{AuthConfig, AuthMode, Gate};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use switchyard_core::access::{
    AuthenticationError, CertificateIdentity, Credentials, Identity, Refusal, Rpc, check, identify,
};
use switchyard_kube_double::{ApiDouble, ApiDoubleConfig, ApiDoubleHandle};
use switchyard_testkit::eventually;

const CI_TOKEN: &str = "ci-token-of-team-a";
const CI_USER: &str = "system:serviceaccount:team-a:ci";

async fn start() -> (ApiDoubleHandle, kube::Client) {
    let double = ApiDouble::start_with(ApiDoubleConfig::loopback())
        .await
        .expect("API double starts");
    let client = double.client().expect("client");
    (double, client)
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        ..ObjectMeta::default()
    }
}

/// A Role in `namespace` granting every verb on the Seldon resources.
async fn seldon_editor_role(client: &kube::Client, namespace: &str) {
    let role = Role {
        metadata: meta("seldon-editor", namespace),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["mlops.seldon.io".into()]),
            resources: Some(vec![
                "models".into(),
                "pipelines".into(),
                "experiments".into(),
                "servers".into(),
                "seldonruntimes".into(),
            ]),
            verbs: vec![
                "get".into(),
                "list".into(),
                "watch".into(),
                "create".into(),
                "update".into(),
                "delete".into(),
            ],
            ..PolicyRule::default()
        }]),
    };
    Api::<Role>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("role created");
}

/// Binds `seldon-editor` in `namespace` to `subject`.
async fn bind(client: &kube::Client, namespace: &str, subject: Subject) {
    let binding = RoleBinding {
        metadata: meta("ci-edits", namespace),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: "seldon-editor".into(),
        },
        subjects: Some(vec![subject]),
    };
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding created");
}

fn ci_subject() -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: "ci".into(),
        namespace: Some("team-a".into()),
        api_group: None,
    }
}

/// The API double with team-a's ServiceAccount `ci` (its token
/// registered) bound to `seldon-editor` in team-a only, and roles in
/// team-a and team-b.
async fn team_a_ci() -> (ApiDoubleHandle, kube::Client) {
    let (double, client) = start().await;
    let sa = ServiceAccount {
        metadata: meta("ci", "team-a"),
        ..ServiceAccount::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &sa)
        .await
        .expect("service account created");
    double.register_service_account_token(CI_TOKEN, "team-a", "ci");
    seldon_editor_role(&client, "team-a").await;
    seldon_editor_role(&client, "team-b").await;
    bind(&client, "team-a", ci_subject()).await;
    (double, client)
}

fn config(ttl_seconds: f64) -> AuthConfig {
    AuthConfig {
        mode: AuthMode::Kubernetes,
        token_cache_ttl_seconds: ttl_seconds,
        token_cache_failure_ttl_seconds: ttl_seconds,
        allowed_cache_ttl_seconds: ttl_seconds,
        denied_cache_ttl_seconds: ttl_seconds,
        ..AuthConfig::default()
    }
}

fn gate(client: &kube::Client, config: &AuthConfig) -> Gate {
    Gate::from_config(config, Some(client.clone()), true)
        .expect("builds")
        .expect("a gate")
}

async fn ci(gate: &Gate) -> Identity {
    identify(
        gate.authenticator.as_ref(),
        &Credentials::Bearer(CI_TOKEN.into()),
    )
    .await
    .expect("the ServiceAccount token authenticates")
}

async fn allowed(gate: &Gate, who: &Identity, namespace: &str, rpc: Rpc) -> bool {
    match check(gate.authorizer.as_ref(), who, namespace, rpc).await {
        Ok(()) => true,
        Err(Refusal::Denied(_)) => false,
        Err(e) => panic!("no decision: {e}"),
    }
}

#[tokio::test]
async fn no_credentials_and_a_bad_token_are_unauthenticated_and_say_what_is_accepted() {
    let (double, client) = team_a_ci().await;
    let gate = gate(&client, &config(60.0));
    let none = identify(gate.authenticator.as_ref(), &Credentials::None)
        .await
        .expect_err("no credentials");
    assert!(
        matches!(none, AuthenticationError::Missing { .. }),
        "{none}"
    );
    let text = none.to_string();
    assert!(
        text.contains("bearer token") && text.contains("client certificate"),
        "{text}"
    );

    for _ in 0..3 {
        let bad = identify(
            gate.authenticator.as_ref(),
            &Credentials::Bearer("forged".into()),
        )
        .await
        .expect_err("an unknown token");
        let AuthenticationError::Rejected { reason, .. } = &bad else {
            panic!("{bad:?}")
        };
        assert!(!reason.is_empty(), "{bad}");
        assert!(
            !bad.to_string().contains("forged"),
            "the token is never echoed: {bad}"
        );
    }
    // A rejected token is remembered too (for the failure TTL).
    assert_eq!(double.stats().requests("create", "tokenreviews"), 1);
}

#[tokio::test]
async fn a_service_account_bound_in_one_namespace_is_allowed_there_only_until_rbac_changes() {
    let (double, client) = team_a_ci().await;
    let gate = gate(&client, &config(0.3));
    let who = ci(&gate).await;
    assert_eq!(who.user, CI_USER);
    assert!(
        who.groups
            .contains(&"system:serviceaccounts:team-a".to_string()),
        "{:?}",
        who.groups
    );

    for rpc in [
        Rpc::LoadModel,
        Rpc::UnloadModel,
        Rpc::SubscribeModelStatus,
        Rpc::PipelineStatus,
    ] {
        assert!(
            allowed(&gate, &who, "team-a", rpc).await,
            "{rpc:?} in team-a"
        );
    }
    let refusal = check(gate.authorizer.as_ref(), &who, "team-b", Rpc::LoadModel)
        .await
        .expect_err("team-b is not granted");
    let Refusal::Denied(denied) = &refusal else {
        panic!("{refusal:?}")
    };
    assert_eq!(
        (denied.verb, denied.namespace.as_str()),
        ("create", "team-b")
    );
    assert!(
        refusal.to_string().starts_with(&format!(
            "{CI_USER} may not create models.mlops.seldon.io in namespace \"team-b\""
        )),
        "{refusal}"
    );
    // Nobody but switchyard operates a runtime, not even a namespace editor.
    assert!(!allowed(&gate, &who, "team-a", Rpc::SubscribeControlPlane).await);

    bind(&client, "team-b", ci_subject()).await;
    eventually("team-b allowed after the cache time", async || {
        allowed(&gate, &who, "team-b", Rpc::LoadModel).await
    })
    .await;

    Api::<RoleBinding>::namespaced(client.clone(), "team-b")
        .delete("ci-edits", &DeleteParams::default())
        .await
        .expect("binding deleted");
    eventually("team-b denied again", async || {
        !allowed(&gate, &who, "team-b", Rpc::LoadModel).await
    })
    .await;
    assert!(allowed(&gate, &who, "team-a", Rpc::LoadModel).await);
    assert!(double.stats().requests("create", "subjectaccessreviews") > 0);
}

#[tokio::test]
async fn tokens_and_decisions_are_reviewed_once_per_cache_time() {
    let (double, client) = team_a_ci().await;
    let gate = gate(&client, &config(600.0));
    // Concurrent first requests share one TokenReview.
    let identities = futures_util::future::join_all((0..8).map(|_| ci(&gate))).await;
    assert!(identities.iter().all(|id| id.user == CI_USER));
    for _ in 0..20 {
        let who = ci(&gate).await;
        assert!(allowed(&gate, &who, "team-a", Rpc::LoadModel).await);
        assert!(!allowed(&gate, &who, "team-b", Rpc::UnloadModel).await);
    }
    let stats = double.stats();
    assert_eq!(stats.requests("create", "tokenreviews"), 1);
    // create + update in team-a, delete in team-b: three decisions.
    assert_eq!(stats.requests("create", "subjectaccessreviews"), 3);
}

#[tokio::test]
async fn a_client_certificate_is_its_subject_and_is_authorized_by_its_groups() {
    let (double, client) = start().await;
    seldon_editor_role(&client, "team-a").await;
    bind(
        &client,
        "team-a",
        Subject {
            kind: "Group".into(),
            name: "team-a-deployers".into(),
            api_group: Some("rbac.authorization.k8s.io".into()),
            namespace: None,
        },
    )
    .await;
    let gate = gate(&client, &config(60.0));
    let der = super::certificate::certificate(&[
        (rcgen::DnType::CommonName, "alice"),
        (rcgen::DnType::OrganizationName, "team-a-deployers"),
    ]);
    let cert: CertificateIdentity = crate::identity_from_der(&der).expect("parsed");
    let alice = identify(gate.authenticator.as_ref(), &Credentials::Certificate(cert))
        .await
        .expect("a certificate needs no review");
    assert_eq!(alice.user, "alice");
    assert!(allowed(&gate, &alice, "team-a", Rpc::StartExperiment).await);
    assert!(!allowed(&gate, &alice, "team-b", Rpc::ExperimentStatus).await);
    assert_eq!(double.stats().requests("create", "tokenreviews"), 0);
}

#[tokio::test]
async fn an_api_server_that_cannot_answer_is_unavailable_never_allowed() {
    let (double, client) = team_a_ci().await;
    let gate = gate(&client, &config(0.0));
    let who = ci(&gate).await;
    double.shutdown().await.expect("stopped");
    let err = identify(
        gate.authenticator.as_ref(),
        &Credentials::Bearer(CI_TOKEN.into()),
    )
    .await
    .expect_err("no API server");
    assert!(
        matches!(err, AuthenticationError::Unavailable(_)),
        "{err:?}"
    );
    let refusal = check(gate.authorizer.as_ref(), &who, "team-a", Rpc::ModelStatus)
        .await
        .expect_err("no API server");
    assert!(matches!(refusal, Refusal::Undecided(_)), "{refusal:?}");
}

/// The access metrics, rendered as Prometheus text by a recorder local to
/// this test (a current-thread runtime keeps every metric on it).
#[test]
fn reviews_cache_lookups_and_decisions_are_counted() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let (_double, client) = team_a_ci().await;
            let gate = gate(&client, &config(600.0));
            for _ in 0..3 {
                let who = ci(&gate).await;
                assert!(allowed(&gate, &who, "team-a", Rpc::UnloadModel).await);
                assert!(!allowed(&gate, &who, "team-b", Rpc::UnloadModel).await);
            }
            let _ = identify(gate.authenticator.as_ref(), &Credentials::None).await;
        })
    });
    let text = handle.render();
    for line in [
        "switchyard_access_authentications_total{kind=\"token\",result=\"authenticated\"} 3",
        "switchyard_access_authentications_total{kind=\"none\",result=\"rejected\"} 1",
        "switchyard_access_decisions_total{result=\"allowed\"} 3",
        "switchyard_access_decisions_total{result=\"denied\"} 3",
        "switchyard_access_cache_lookups_total{kind=\"token_review\",result=\"miss\"} 1",
        "switchyard_access_cache_lookups_total{kind=\"token_review\",result=\"hit\"} 2",
        "switchyard_access_cache_lookups_total{kind=\"subject_access_review\",result=\"miss\"} 2",
        "switchyard_access_cache_lookups_total{kind=\"subject_access_review\",result=\"hit\"} 4",
        "switchyard_access_review_duration_seconds_count{kind=\"subject_access_review\"} 2",
        "switchyard_access_review_duration_seconds_count{kind=\"token_review\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing in:\n{text}");
    }
}
