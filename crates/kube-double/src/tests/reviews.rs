//! TokenReview and SubjectAccessReview through the real `kube::Client`
//! over HTTP: registered tokens and ServiceAccount tokens authenticate,
//! unknown ones do not; access follows the RBAC objects created and
//! deleted through the normal API; discovery lists both kinds.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, NonResourceAttributes, ResourceAttributes, SubjectAccessReview,
    SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use kube::discovery::Discovery;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::kube_double::{api_code, start};
use crate::TokenUser;

async fn review_token(client: &Client, token: &str, audiences: Option<Vec<String>>) -> TokenReview {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: token.into(),
            audiences,
        },
        ..TokenReview::default()
    };
    Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("reviewed")
}

#[tokio::test]
async fn token_reviews_know_registered_and_service_account_tokens() {
    let (double, client) = start().await;
    double.register_token(
        "alice-token",
        TokenUser::new("alice")
            .with_uid("u-alice")
            .with_groups(["admins"]),
    );
    double.register_service_account_token("bot-token", "team-a", "bot");
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "bot"}})).expect("parses");
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &sa)
        .await
        .expect("created");

    let alice = review_token(&client, "alice-token", None).await;
    let status = alice.status.expect("answered");
    assert_eq!(status.authenticated, Some(true));
    let user = status.user.expect("a user");
    assert_eq!(user.username.as_deref(), Some("alice"));
    assert_eq!(user.uid.as_deref(), Some("u-alice"));
    assert_eq!(
        user.groups,
        Some(vec![
            "admins".to_string(),
            "system:authenticated".to_string()
        ])
    );
    assert_eq!(
        status.audiences,
        Some(vec![crate::API_SERVER_AUDIENCE.to_string()])
    );

    let bot = review_token(&client, "bot-token", None)
        .await
        .status
        .expect("answered");
    assert_eq!(bot.authenticated, Some(true));
    let user = bot.user.expect("a user");
    assert_eq!(
        user.username.as_deref(),
        Some("system:serviceaccount:team-a:bot")
    );
    assert_eq!(user.uid, sa.uid());
    assert_eq!(
        user.groups,
        Some(vec![
            "system:serviceaccounts".to_string(),
            "system:serviceaccounts:team-a".to_string(),
            "system:authenticated".to_string(),
        ])
    );
    // A token is only good for its audiences.
    let other = review_token(&client, "bot-token", Some(vec!["vault".into()])).await;
    assert_eq!(other.status.and_then(|s| s.authenticated), Some(false));

    let unknown = review_token(&client, "nope", None)
        .await
        .status
        .expect("answered");
    assert_eq!(unknown.authenticated, Some(false));
    assert_eq!(unknown.error.as_deref(), Some("invalid bearer token"));
    assert!(double.revoke_token("alice-token"));
    let revoked = review_token(&client, "alice-token", None).await;
    assert_eq!(revoked.status.and_then(|s| s.authenticated), Some(false));
    // An empty token is a bad request, as on the real server.
    let empty = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &TokenReview::default())
        .await;
    assert_eq!(api_code(empty), 400);
    // Reviews are only created.
    assert_eq!(
        api_code(
            Api::<TokenReview>::all(client)
                .list(&Default::default())
                .await
        ),
        405
    );
}

fn access(
    user: &str,
    groups: &[&str],
    verb: &str,
    namespace: &str,
    name: &str,
) -> SubjectAccessReview {
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.into()),
            groups: Some(groups.iter().map(|g| (*g).into()).collect()),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.into()),
                verb: Some(verb.into()),
                group: Some("mlops.seldon.io".into()),
                resource: Some("models".into()),
                name: Some(name.into()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}

async fn decide(client: &Client, review: &SubjectAccessReview) -> (bool, String) {
    let answered = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), review)
        .await
        .expect("reviewed");
    let status = answered.status.expect("answered");
    (status.allowed, status.reason.unwrap_or_default())
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("parses")
}

#[tokio::test]
async fn access_follows_role_bindings_created_and_deleted() {
    let (_double, client) = start().await;
    let bot = "system:serviceaccount:team-a:bot";
    let get_m1 = access(bot, &["system:serviceaccounts"], "get", "team-a", "m1");
    assert_eq!(decide(&client, &get_m1).await, (false, String::new()));

    let role: Role = parse(json!({"metadata": {"name": "model-reader"}, "rules": [
        {"apiGroups": ["mlops.seldon.io"], "resources": ["models"], "verbs": ["get", "list", "watch"]}]}));
    Api::<Role>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &role)
        .await
        .expect("role created");
    let binding: RoleBinding = parse(json!({"metadata": {"name": "bot-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "model-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "team-a"}]}));
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), "team-a");
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding created");

    assert_eq!(
        decide(&client, &get_m1).await,
        (
            true,
            "RBAC: allowed by RoleBinding \"bot-reads/team-a\" of Role \"model-reader\" to ServiceAccount \"bot/team-a\"".to_string()
        )
    );
    // Another verb, another namespace, another user: not granted.
    assert!(
        !decide(&client, &access(bot, &[], "delete", "team-a", "m1"))
            .await
            .0
    );
    assert!(
        !decide(&client, &access(bot, &[], "get", "team-b", "m1"))
            .await
            .0
    );
    assert!(
        !decide(
            &client,
            &access(
                "system:serviceaccount:team-b:bot",
                &[],
                "get",
                "team-a",
                "m1"
            )
        )
        .await
        .0
    );
    // The namespaced review asks the same in its namespace.
    let local = LocalSubjectAccessReview {
        metadata: kube::api::ObjectMeta {
            namespace: Some("team-a".into()),
            ..Default::default()
        },
        spec: get_m1.spec.clone(),
        status: None,
    };
    let locals = Api::<LocalSubjectAccessReview>::namespaced(client.clone(), "team-a");
    let answered = locals
        .create(&PostParams::default(), &local)
        .await
        .expect("reviewed");
    assert_eq!(answered.status.map(|s| s.allowed), Some(true));
    let elsewhere = Api::<LocalSubjectAccessReview>::namespaced(client.clone(), "team-b");
    assert_eq!(
        api_code(elsewhere.create(&PostParams::default(), &local).await),
        422
    );

    bindings
        .delete("bot-reads", &DeleteParams::default())
        .await
        .expect("deleted");
    assert_eq!(decide(&client, &get_m1).await, (false, String::new()));
}

#[tokio::test]
async fn cluster_roles_groups_and_wrong_reviews() {
    let (_double, client) = start().await;
    let role: ClusterRole = parse(json!({"metadata": {"name": "editor"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"], "resourceNames": ["m1"]},
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]}));
    Api::<ClusterRole>::all(client.clone())
        .create(&PostParams::default(), &role)
        .await
        .expect("created");
    let binding: ClusterRoleBinding = parse(json!({"metadata": {"name": "editors"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "editor"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "editors"}]}));
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("created");
    let (allowed, reason) = decide(
        &client,
        &access("carol", &["editors"], "delete", "any", "m1"),
    )
    .await;
    assert!(allowed);
    assert_eq!(
        reason,
        "RBAC: allowed by ClusterRoleBinding \"editors\" of ClusterRole \"editor\" to Group \"editors\""
    );
    assert!(
        !decide(
            &client,
            &access("carol", &["editors"], "delete", "any", "m2")
        )
        .await
        .0
    );
    assert!(
        !decide(&client, &access("carol", &[], "delete", "any", "m1"))
            .await
            .0
    );
    let metrics = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some("carol".into()),
            groups: Some(vec!["editors".into()]),
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some("/metrics".into()),
                verb: Some("get".into()),
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    assert!(decide(&client, &metrics).await.0);

    // A RoleBinding naming a role that does not exist says so.
    let dangling: RoleBinding = parse(json!({"metadata": {"name": "dangling"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "gone"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "dave"}]}));
    Api::<RoleBinding>::namespaced(client.clone(), "ns")
        .create(&PostParams::default(), &dangling)
        .await
        .expect("created");
    assert_eq!(
        decide(&client, &access("dave", &[], "get", "ns", "m1")).await,
        (
            false,
            "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found".to_string()
        )
    );

    // No user nor group; no attributes: 422 as on the real server.
    let reviews = Api::<SubjectAccessReview>::all(client.clone());
    let mut nobody = access("", &[], "get", "ns", "m1");
    nobody.spec.groups = None;
    assert_eq!(
        api_code(reviews.create(&PostParams::default(), &nobody).await),
        422
    );
    let mut nothing = access("carol", &[], "get", "ns", "m1");
    nothing.spec.resource_attributes = None;
    assert_eq!(
        api_code(reviews.create(&PostParams::default(), &nothing).await),
        422
    );
}

#[tokio::test]
async fn discovery_finds_the_review_kinds() {
    let (_double, client) = start().await;
    let discovery = Discovery::new(client).run().await.expect("discovery runs");
    for (group, plural) in [
        ("authentication.k8s.io", "tokenreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ] {
        let found = discovery.get(group).and_then(|g| {
            g.recommended_resources()
                .into_iter()
                .find(|(r, _)| r.plural == plural)
        });
        let (_, caps) = found.unwrap_or_else(|| panic!("{group}/{plural} discovered"));
        let creatable = caps.supports_operation(kube::discovery::verbs::CREATE);
        assert!(creatable, "{plural} can be created");
        if plural.ends_with("reviews") {
            assert!(!caps.supports_operation(kube::discovery::verbs::LIST));
        }
    }
}

/// A SelfSubjectAccessReview asks about the requester: impersonated, by
/// bearer token, or anonymous.
#[tokio::test]
async fn self_reviews_ask_about_the_requester() {
    let (double, client) = start().await;
    double.register_service_account_token("bot-token", "team-a", "bot");
    let role: Role = parse(json!({"metadata": {"name": "reader"}, "rules": [
        {"apiGroups": ["mlops.seldon.io"], "resources": ["models"], "verbs": ["get"]}]}));
    Api::<Role>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &role)
        .await
        .expect("created");
    let binding: RoleBinding = parse(json!({"metadata": {"name": "bot-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "team-a"},
                     {"kind": "Group", "name": "auditors"}]}));
    Api::<RoleBinding>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &binding)
        .await
        .expect("created");
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "team-a", "verb": "get", "group": "mlops.seldon.io", "resource": "models"}}});
    let ask = |headers: &[(&str, &str)]| {
        let mut request =
            http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(serde_json::to_vec(&body).expect("json"))
            .expect("request");
        let client = client.clone();
        async move {
            let answer: serde_json::Value = client.request(request).await.expect("reviewed");
            answer["status"]["allowed"].as_bool().expect("allowed")
        }
    };
    assert!(!ask(&[]).await, "anonymous");
    assert!(ask(&[("authorization", "Bearer bot-token")]).await);
    assert!(!ask(&[("authorization", "Bearer unknown")]).await);
    assert!(ask(&[("impersonate-user", "system:serviceaccount:team-a:bot")]).await);
    assert!(
        ask(&[
            ("impersonate-user", "carol"),
            ("impersonate-group", "auditors")
        ])
        .await
    );
    assert!(!ask(&[("impersonate-user", "carol")]).await);

    // Who am I: the token's user.
    let whoami = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .header("content-type", "application/json")
        .header("authorization", "Bearer bot-token")
        .body(br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#.to_vec())
        .expect("request");
    let me: serde_json::Value = client.request(whoami).await.expect("reviewed");
    assert_eq!(
        me["status"]["userInfo"]["username"],
        "system:serviceaccount:team-a:bot"
    );
}
