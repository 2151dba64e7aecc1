//! The static policy file (`--gateway-auth=policy`, no Kubernetes) built
//! from `[gateway.auth]` as `run` builds it: a client certificate's
//! identity over mTLS, a token stored hashed, and the per-identity limits
//! under a bounded burst.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use switchyard::config::{AuthLimits, AuthSection, ServerTls};
use switchyard::gateway_access::gateway_access;
use switchyard_access::{AuthMode, sha256_hex};
use switchyard_gateway::RETRY_AFTER_METADATA;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::support::*;

const B_TOKEN: &str = "team-b-ci-token";
const OTHER_TOKEN: &str = "team-b-other-token";
const WATCHER_TOKEN: &str = "team-b-watcher-token";

/// A directory with the policy file (and, for mTLS, the PKI).
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-auth-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = format!(
        r#"
[[grant]]
user = "platform-oncall"
certificate = true
namespaces = ["team-a"]
verbs = ["list", "watch"]

[[grant]]
user = "team-b-ci"
token_sha256 = "{}"
namespaces = ["team-b"]
verbs = ["*"]

[[grant]]
user = "team-b-other"
token_sha256 = "{}"
namespaces = ["team-b"]
verbs = ["list"]

[[grant]]
user = "team-b-watcher"
token_sha256 = "{}"
namespaces = ["team-b"]
verbs = ["watch"]
"#,
        sha256_hex(B_TOKEN.as_bytes()),
        sha256_hex(OTHER_TOKEN.as_bytes()),
        sha256_hex(WATCHER_TOKEN.as_bytes())
    );
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    dir
}

fn policy_config(dir: &std::path::Path, limits: AuthLimits) -> GatewayConfig {
    GatewayConfig {
        auth: AuthSection {
            mode: Some(AuthMode::Policy),
            policy_file: Some(dir.join("policy.toml")),
            limits,
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn start(config: GatewayConfig) -> Env {
    let access = gateway_access(&config, None).expect("the policy file is valid");
    Env::start_full(
        &["team-a", "team-b"],
        config,
        test_options(),
        access,
        |_| {},
    )
    .await
}

fn list_models(ns: &str) -> Request<ModelStatusRequest> {
    in_ns(ns, ModelStatusRequest::default())
}

async fn drain<T>(stream: Result<tonic::Response<Streaming<T>>, Status>) -> Result<usize, Status> {
    let mut stream = stream?.into_inner();
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[tokio::test]
async fn a_token_of_the_policy_file_acts_where_its_grant_says() {
    let dir = dir("token");
    let env = start(policy_config(&dir, AuthLimits::default())).await;
    let mut gw = env.client().await;
    gw.load_model(bearer(B_TOKEN, in_ns("team-b", load_model("iris", None))))
        .await
        .expect("team-b-ci loads in team-b");
    let denied = gw
        .load_model(bearer(B_TOKEN, in_ns("team-a", load_model("iris", None))))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("team-b-ci") && denied.message().contains("\"team-a\""),
        "{}",
        denied.message()
    );
    let unknown = gw
        .load_model(bearer(
            "not-in-the-file",
            in_ns("team-b", load_model("x", None)),
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated, "{unknown:?}");
    assert_eq!(env.sim("team-a").calls(Rpc::LoadModel), 0);
    assert_eq!(env.sim("team-b").calls(Rpc::LoadModel), 1);
    env.stop().await;
}

/// A CA, a server certificate for `localhost` and a client certificate
/// with CN=platform-oncall, O=oncall.
fn pki(dir: &std::path::Path) -> (String, Identity) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.distinguished_name = rcgen::DistinguishedName::new();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "platform-oncall");
    client_params
        .distinguished_name
        .push(DnType::OrganizationName, "oncall");
    let client = client_params.signed_by(&client_key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    (
        ca_cert.pem(),
        Identity::from_pem(client.pem(), client_key.serialize_pem()),
    )
}

#[tokio::test]
async fn a_client_certificate_is_its_common_name_and_may_do_what_the_policy_grants_it() {
    let dir = dir("mtls");
    let (ca, identity) = pki(&dir);
    let config = GatewayConfig {
        tls: Some(ServerTls {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: Some(dir.join("ca.pem")),
        }),
        ..policy_config(&dir, AuthLimits::default())
    };
    let env = start(config).await;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca))
        .domain_name("localhost")
        .identity(identity);
    let channel = Endpoint::from_shared(format!("https://localhost:{}", env.addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("mTLS connects");
    let mut gw = SchedulerClient::new(channel);
    // The certificate's user lists team-a...
    drain(gw.model_status(list_models("team-a")).await)
        .await
        .expect("platform-oncall lists team-a");
    // ... but not team-b, and may not write in team-a; a token does not
    // change who a verified certificate is.
    let denied = drain(
        gw.model_status(bearer(B_TOKEN, list_models("team-b")))
            .await,
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("platform-oncall") && denied.message().contains("\"team-b\""),
        "{}",
        denied.message()
    );
    let write = gw
        .unload_model(in_ns("team-a", unload_model("iris")))
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::PermissionDenied, "{write:?}");
    assert!(write.message().contains("delete"), "{}", write.message());
    env.stop().await;
}

#[tokio::test]
async fn one_noisy_caller_is_limited_with_a_retry_hint_and_others_are_not() {
    let dir = dir("limits");
    let limits = AuthLimits {
        requests_per_second: Some(1),
        burst: Some(3),
        streams_per_identity: Some(2),
    };
    let env = start(policy_config(&dir, limits)).await;
    let mut gw = env.client().await;
    // A burst of 10: the first 3 pass, then RESOURCE_EXHAUSTED with a hint.
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let answer = gw
            .load_model(bearer(B_TOKEN, in_ns("team-b", load_model("iris", None))))
            .await;
        outcomes.push(answer.map(|_| ()));
    }
    let passed = outcomes.iter().filter(|o| o.is_ok()).count();
    assert!((3..=4).contains(&passed), "{outcomes:?}");
    let limited = outcomes
        .iter()
        .find_map(|o| o.as_ref().err())
        .expect("the burst was limited");
    assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
    assert!(
        limited.message().contains("team-b-ci") && limited.message().contains("retry after"),
        "{}",
        limited.message()
    );
    let hint: u64 = limited
        .metadata()
        .get(RETRY_AFTER_METADATA)
        .expect("a retry hint")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1000).contains(&hint), "{hint}");
    // Another caller of the same namespace is not starved.
    drain(
        gw.model_status(bearer(OTHER_TOKEN, list_models("team-b")))
            .await,
    )
    .await
    .expect("team-b-other is within its own limit");

    // Streams: two at once for team-b-watcher, the third refused until
    // one ends.
    let open = |gw: &mut SchedulerClient<Channel>| {
        let mut gw = gw.clone();
        async move {
            gw.subscribe_model_status(bearer(
                WATCHER_TOKEN,
                in_ns("team-b", ModelSubscriptionRequest::default()),
            ))
            .await
        }
    };
    let first = open(&mut gw).await.expect("first stream");
    let _second = open(&mut gw).await.expect("second stream");
    let third = open(&mut gw).await.unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted, "{third:?}");
    assert!(
        third.message().contains("streams open"),
        "{}",
        third.message()
    );
    drop(first);
    eventually("a stream slot frees when a stream ends", async || {
        open(&mut gw.clone()).await.is_ok()
    })
    .await;
    env.stop().await;
}
