//! The gateway's one call: refusals with their gRPC code and an audit
//! line each, writes audited when they finish, stream slots held by the
//! admitted call, namespaces filtered for cross-namespace listings.

use super::audit::AuditLines;
use crate::{Call, Code, Gate, Gatekeeper, Limiter, LimitsConfig, Policy, sha256_hex};
use std::path::Path;
use switchyard_core::access::{Credentials, Rpc};

fn keeper(limits: LimitsConfig) -> Gatekeeper {
    let policy = Policy::parse(
        Path::new("policy.toml"),
        &format!(
            "[[grant]]\nuser = \"ci\"\ntoken_sha256 = \"{}\"\nnamespaces = [\"team-a\"]\nverbs = [\"*\"]\n",
            sha256_hex(b"ci-token")
        ),
    )
    .expect("valid");
    Gatekeeper::new(
        Some(Gate::policy(policy)),
        Limiter::new(&limits).expect("valid"),
    )
}

fn call<'a>(rpc: Rpc, token: Option<&str>, namespace: Option<&'a str>) -> Call<'a> {
    Call {
        rpc,
        credentials: Credentials::from_parts(token.map(|t| format!("Bearer {t}")).as_deref(), None),
        namespace,
        object: Some("iris"),
        stream: matches!(rpc, Rpc::SubscribeModelStatus | Rpc::ModelStatus),
    }
}

#[tokio::test]
async fn refusals_carry_their_code_and_are_audited_and_writes_are_audited_when_done() {
    let keeper = keeper(LimitsConfig::default());
    // The gateway holds it shared and awaits it in spawned tasks.
    fn shared_and_sendable<T: Send + Sync>(_: &T) {}
    fn sendable<T: Send>(_: &T) {}
    shared_and_sendable(&keeper);
    let probe = call(Rpc::LoadModel, None, None);
    sendable(&keeper.admit(&probe));
    let audit = AuditLines::capture();

    let none = keeper
        .admit(&call(Rpc::LoadModel, None, Some("team-a")))
        .await
        .err()
        .expect("no credentials");
    assert_eq!(none.code(), Code::Unauthenticated);
    let bad = keeper
        .admit(&call(Rpc::LoadModel, Some("guess"), Some("team-a")))
        .await
        .err()
        .expect("unknown token");
    assert_eq!(bad.code(), Code::Unauthenticated);
    let denied = keeper
        .admit(&call(Rpc::UnloadModel, Some("ci-token"), Some("team-b")))
        .await
        .err()
        .expect("team-b not granted");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(
        denied
            .to_string()
            .contains("ci may not delete models.mlops.seldon.io in namespace \"team-b\"")
    );

    let load = call(Rpc::LoadModel, Some("ci-token"), Some("team-a"));
    let admitted = keeper.admit(&load).await.expect("granted");
    assert_eq!(
        admitted.identity.as_ref().map(|i| i.user.as_str()),
        Some("ci")
    );
    keeper.finished(&load, &admitted, "OK", "");
    // An allowed read is not audited.
    let read = call(Rpc::SubscribeModelStatus, Some("ci-token"), Some("team-a"));
    let reading = keeper.admit(&read).await.expect("granted");
    keeper.finished(&read, &reading, "OK", "");

    let lines = audit.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[0].contains("decision=\"unauthenticated\"")
            && lines[0].contains("code=\"UNAUTHENTICATED\"")
    );
    assert!(
        lines[1].contains("decision=\"unauthenticated\""),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("user=\"ci\"") && lines[2].contains("decision=\"denied\""));
    assert!(lines[2].contains("namespace=\"team-b\"") && lines[2].contains("rpc=\"UnloadModel\""));
    assert!(
        lines[3].contains("decision=\"allowed\"")
            && lines[3].contains("rpc=\"LoadModel\"")
            && lines[3].contains("object=\"iris\"")
    );
}

#[tokio::test]
async fn limits_refuse_with_resource_exhausted_and_a_stream_slot_lives_with_its_call() {
    let keeper = keeper(LimitsConfig {
        requests_per_second: Some(1),
        burst: Some(3),
        streams_per_identity: Some(1),
        ..LimitsConfig::default()
    });
    let subscribe = call(Rpc::SubscribeModelStatus, Some("ci-token"), Some("team-a"));
    let stream = keeper
        .admit(&subscribe)
        .await
        .expect("1st request, 1st stream");
    let second = keeper
        .admit(&subscribe)
        .await
        .err()
        .expect("one stream only");
    assert_eq!(second.code(), Code::ResourceExhausted);
    assert_eq!(second.retry_after(), None);
    drop(stream);
    let _again = keeper
        .admit(&subscribe)
        .await
        .expect("the slot is free again");
    // That was the third request of a burst of 3.
    let over = keeper.admit(&subscribe).await.err().expect("over the rate");
    assert_eq!(over.code(), Code::ResourceExhausted);
    assert!(over.retry_after().is_some_and(|d| !d.is_zero()), "{over:?}");
}

#[tokio::test]
async fn without_a_gate_everything_is_admitted_and_every_namespace_listed() {
    let open = Gatekeeper::default();
    assert!(!open.enabled());
    let admitted = open
        .admit(&call(Rpc::UnloadModel, None, Some("anywhere")))
        .await
        .expect("open");
    assert!(admitted.identity.is_none());
    let all = open
        .permitted(&admitted, Rpc::ModelStatus, ["a", "b"])
        .await;
    assert_eq!(all, ["a", "b"]);

    let keeper = keeper(LimitsConfig::default());
    let listing = call(Rpc::ModelStatus, Some("ci-token"), None);
    let admitted = keeper
        .admit(&listing)
        .await
        .expect("a cross-namespace listing");
    let visible = keeper
        .permitted(&admitted, Rpc::ModelStatus, ["team-b", "team-a", "team-c"])
        .await;
    assert_eq!(visible, ["team-a"]);
}

#[tokio::test]
async fn authenticating_for_a_look_up_neither_counts_nor_authorizes() {
    let keeper = keeper(LimitsConfig {
        requests_per_second: Some(1),
        burst: Some(1),
        ..LimitsConfig::default()
    });
    let unload = call(Rpc::UnloadModel, Some("ci-token"), Some("team-a"));
    for _ in 0..3 {
        let who = keeper.authenticate(&unload).await.expect("known token");
        assert_eq!(who.identity.expect("authenticated").user, "ci");
    }
    // Not authorized here: a namespace the caller has no grant in.
    let elsewhere = call(Rpc::UnloadModel, Some("ci-token"), Some("team-b"));
    assert!(keeper.authenticate(&elsewhere).await.is_ok());
    // The burst of one is still whole for the call itself.
    keeper
        .admit(&unload)
        .await
        .expect("the first counted request");
    let over = keeper.admit(&unload).await.err().expect("over the rate");
    assert_eq!(over.code(), Code::ResourceExhausted);
    let stranger = keeper
        .authenticate(&call(Rpc::UnloadModel, Some("guess"), None))
        .await
        .err()
        .expect("unknown token");
    assert_eq!(stranger.code(), Code::Unauthenticated);
}
