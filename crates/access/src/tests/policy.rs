//! The static policy file: who authenticates, what each may do, and the
//! error a bad file gets.

use crate::{AuthConfig, AuthMode, Gate, Policy, PolicyError, sha256_hex};
use std::path::Path;
use switchyard_core::access::{
    AuthenticationError, CertificateIdentity, Credentials, Refusal, Rpc, check, identify,
};

fn policy(text: &str) -> Result<Policy, PolicyError> {
    Policy::parse(Path::new("policy.toml"), text)
}

fn sample() -> String {
    format!(
        r#"
[[grant]]
user = "team-a-ci"
token_sha256 = "{}"
namespaces = ["team-a"]
verbs = ["list", "watch", "create", "update", "delete"]
resources = ["models"]

[[grant]]
user = "team-a-ci"
token_sha256 = "{}"
namespaces = ["team-a", "shared"]
verbs = ["list"]

[[grant]]
user = "ops"
certificate = true
namespaces = ["*"]
verbs = ["*"]
"#,
        sha256_hex(b"ci-token"),
        sha256_hex(b"ci-token").to_uppercase(),
    )
}

fn cert(cn: &str) -> Credentials {
    Credentials::Certificate(CertificateIdentity {
        common_name: cn.into(),
        organizations: vec!["platform".into()],
    })
}

#[tokio::test]
async fn tokens_and_certificates_get_what_their_grants_say() {
    let policy = policy(&sample()).expect("valid");
    let ci = identify(&policy, &Credentials::Bearer("ci-token".into()))
        .await
        .expect("the token is known");
    assert_eq!(ci.user, "team-a-ci");
    assert!(check(&policy, &ci, "team-a", Rpc::LoadModel).await.is_ok());
    assert!(
        check(&policy, &ci, "team-a", Rpc::SubscribeModelStatus)
            .await
            .is_ok()
    );
    assert!(
        check(&policy, &ci, "shared", Rpc::ServerStatus)
            .await
            .is_ok()
    );
    // Only models were granted for writes in team-a; only lists in shared.
    let Err(Refusal::Denied(denied)) = check(&policy, &ci, "team-a", Rpc::LoadPipeline).await
    else {
        panic!("pipelines are not granted")
    };
    assert_eq!(denied.verb, "create");
    assert_eq!(denied.namespace, "team-a");
    let refused = check(&policy, &ci, "shared", Rpc::UnloadModel)
        .await
        .expect_err("denied");
    assert!(
        refused
            .to_string()
            .starts_with("team-a-ci may not delete models.mlops.seldon.io in namespace \"shared\""),
        "{refused}"
    );

    let ops = identify(&policy, &cert("ops"))
        .await
        .expect("certificate user");
    assert_eq!(ops.groups, ["platform"]);
    for rpc in Rpc::ALL {
        assert!(
            check(&policy, &ops, "anywhere", rpc).await.is_ok(),
            "{rpc:?}"
        );
    }
}

#[tokio::test]
async fn unknown_credentials_are_unauthenticated_saying_what_is_accepted() {
    let policy = policy(&sample()).expect("valid");
    let missing = identify(&policy, &Credentials::None)
        .await
        .expect_err("none");
    assert!(matches!(missing, AuthenticationError::Missing { .. }));
    let text = missing.to_string();
    assert!(
        text.contains("bearer token") && text.contains("client certificate"),
        "{text}"
    );
    let bad = identify(&policy, &Credentials::Bearer("guess".into()))
        .await
        .expect_err("unknown token");
    assert!(matches!(bad, AuthenticationError::Rejected { .. }), "{bad}");
    // A certificate user only when its grant says certificate = true.
    let err = identify(&policy, &cert("team-a-ci"))
        .await
        .expect_err("not a cert user");
    assert!(err.to_string().contains("certificate = true"), "{err}");
}

#[test]
fn a_bad_grant_is_named_with_its_problem() {
    let cases = [
        (
            "user = \"x\"\nnamespaces = [\"a\"]\nverbs = [\"list\"]",
            "grant 2 (user \"x\"): neither token_sha256 nor certificate",
        ),
        (
            "user = \"x\"\ncertificate = true\nnamespaces = [\"a\"]\nverbs = [\"patch\"]",
            "verbs: unknown \"patch\"",
        ),
        (
            "user = \"x\"\ncertificate = true\nnamespaces = [\"a\"]\nverbs = [\"list\"]\nresources = [\"secrets\"]",
            "resources: unknown \"secrets\"",
        ),
        (
            "user = \"x\"\ncertificate = true\nnamespaces = []\nverbs = [\"list\"]",
            "namespaces is empty",
        ),
        (
            "user = \"x\"\ncertificate = true\nnamespaces = [\"*\", \"a\"]\nverbs = [\"list\"]",
            "list it alone",
        ),
        (
            "user = \"x\"\ntoken_sha256 = \"abc\"\nnamespaces = [\"a\"]\nverbs = [\"list\"]",
            "is not a SHA-256 in hex",
        ),
        (
            "user = \" x\"\ncertificate = true\nnamespaces = [\"a\"]\nverbs = [\"list\"]",
            "user must be",
        ),
    ];
    for (grant, want) in cases {
        let text = format!(
            "[[grant]]\nuser = \"ok\"\ncertificate = true\nnamespaces = [\"a\"]\nverbs = [\"list\"]\n\n[[grant]]\n{grant}\n"
        );
        let err = policy(&text).expect_err(want).to_string();
        assert!(err.contains("policy.toml, grant 2"), "{err}");
        assert!(err.contains(want), "{err}\nwanted: {want}");
    }
    let hash = sha256_hex(b"t");
    let shared = format!(
        "[[grant]]\nuser = \"a\"\ntoken_sha256 = \"{hash}\"\nnamespaces = [\"a\"]\nverbs = [\"list\"]\n[[grant]]\nuser = \"b\"\ntoken_sha256 = \"{hash}\"\nnamespaces = [\"a\"]\nverbs = [\"list\"]\n"
    );
    let err = policy(&shared)
        .expect_err("one token, two users")
        .to_string();
    assert!(err.contains("already the token of user \"a\""), "{err}");
}

#[test]
fn a_file_that_is_not_a_policy_says_where() {
    let err = policy("[[grant]]\nuser = \"x\"\nverb = [\"list\"]\n").expect_err("unknown key");
    let text = err.to_string();
    assert!(
        text.contains("policy.toml") && text.contains("verb"),
        "{text}"
    );
    assert!(matches!(policy(""), Err(PolicyError::Empty { .. })));
    let missing = Policy::load(Path::new("/nonexistent/policy.toml")).expect_err("no file");
    assert!(
        missing.to_string().contains("/nonexistent/policy.toml"),
        "{missing}"
    );
}

#[tokio::test]
async fn the_config_builds_a_policy_gate_from_the_file() {
    let dir = std::env::temp_dir().join(format!("switchyard-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("policy.toml");
    std::fs::write(&path, sample()).expect("written");
    let config: AuthConfig = toml::from_str(&format!(
        "mode = \"policy\"\npolicy_file = {:?}\nallowed_cache_ttl_seconds = 2\ndenied_cache_ttl_seconds = 0.5\n[limits]\nrequests_per_second = 5\n",
        path.display().to_string()
    ))
    .expect("config parses");
    assert_eq!(config.mode, AuthMode::Policy);
    let durations = config.durations().expect("valid");
    assert_eq!(durations.allowed_ttl, std::time::Duration::from_secs(2));
    assert_eq!(durations.denied_ttl, std::time::Duration::from_millis(500));
    assert_eq!(config.limits.requests_per_second, Some(5));
    let gate = Gate::from_config(&config, None, false)
        .expect("builds")
        .expect("a gate");
    let ci = identify(
        gate.authenticator.as_ref(),
        &Credentials::Bearer("ci-token".into()),
    )
    .await
    .expect("known");
    assert!(
        check(gate.authorizer.as_ref(), &ci, "team-a", Rpc::ModelStatus)
            .await
            .is_ok()
    );

    let none = AuthConfig::default();
    assert!(
        Gate::from_config(&none, None, false)
            .expect("builds")
            .is_none()
    );
    let kubernetes = AuthConfig {
        mode: AuthMode::Kubernetes,
        ..AuthConfig::default()
    };
    let err = Gate::from_config(&kubernetes, None, false)
        .err()
        .expect("no client");
    assert!(err.to_string().contains("--kubernetes"), "{err}");
    let negative = AuthConfig {
        denied_cache_ttl_seconds: -1.0,
        ..AuthConfig::default()
    };
    let err = Gate::from_config(&negative, None, false)
        .err()
        .expect("bad ttl");
    assert!(
        err.to_string()
            .contains("gateway.auth.denied_cache_ttl_seconds"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
