//! What the unmodified `seldon` CLI sends (docs/seldon-compat.md#namespace-routing):
//! the namespace in the HTTP/2 authority (`--authority fraud.<suffix>`),
//! unload and stop calls that name only an object, and status calls by
//! name with no namespace at all.

use switchyard_core::bus::{Filter, StatusKind};

use super::support::*;

const SUFFIX: &str = "seldon.example.com";

async fn start() -> Env {
    let options = GatewayOptions {
        authority_suffix: Some(SUFFIX.into()),
        ..test_options()
    };
    Env::start_with(&["team-a", "team-b"], GatewayConfig::default(), options).await
}

/// A client dialling the gateway as `authority` (what `--authority` sets).
async fn dialled_as(env: &Env, authority: &str) -> SchedulerClient<Channel> {
    let channel = env
        .endpoint()
        .origin(format!("http://{authority}").parse().unwrap())
        .connect()
        .await
        .unwrap();
    SchedulerClient::new(channel)
}

fn status_of(name: &str) -> ModelStatusRequest {
    ModelStatusRequest {
        subscriber_name: "seldon CLI".into(),
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        ..Default::default()
    }
}

/// Loads `name` on `ns`'s scheduler directly, and waits until the status
/// bus knows it.
async fn loaded(env: &Env, ns: &str, name: &str) {
    env.direct(ns)
        .await
        .load_model(load_model(name, Some(ns)))
        .await
        .unwrap();
    let filter = Filter {
        kind: StatusKind::Model,
        namespace: Some(ns.into()),
    };
    eventually(&format!("{ns}/{name} on the bus"), async || {
        env.bus
            .snapshot(&filter)
            .iter()
            .any(|e| e.payload.name() == name)
    })
    .await;
}

#[tokio::test]
async fn the_authority_names_the_namespace_after_metadata_and_before_the_message() {
    let env = start().await;
    let mut fraud = dialled_as(&env, &format!("team-a.{SUFFIX}:9004")).await;
    fraud
        .load_model(load_model("iris", None))
        .await
        .expect("routed by the authority");
    assert_eq!(env.sim("team-a").calls(Rpc::LoadModel), 1);
    // Metadata wins over the authority.
    fraud
        .load_model(in_ns("team-b", load_model("iris", None)))
        .await
        .expect("routed by metadata");
    assert_eq!(env.sim("team-b").calls(Rpc::LoadModel), 1);
    // A message naming another namespace than the authority is refused.
    let conflict = fraud
        .load_model(load_model("iris", Some("team-b")))
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::InvalidArgument, "{conflict:?}");
    assert!(
        conflict.message().contains("authority"),
        "{}",
        conflict.message()
    );
    // An authority outside the suffix names nothing.
    let mut other = dialled_as(&env, "team-a.elsewhere.com").await;
    let missing = other
        .load_model(load_model("iris", None))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument, "{missing:?}");
    // Listings follow the authority too.
    loaded(&env, "team-b", "only-b").await;
    let mut listing = fraud
        .model_status(ModelStatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    while let Some(m) = listing.message().await.unwrap() {
        assert_eq!(model_ns_available(&m).0, "team-a", "{m:?}");
    }
    env.stop().await;
}

#[tokio::test]
async fn unload_and_status_by_name_find_the_one_namespace_or_name_them_all() {
    let env = start().await;
    loaded(&env, "team-b", "iris").await;
    loaded(&env, "team-a", "dup").await;
    loaded(&env, "team-b", "dup").await;
    let mut cli = env.client().await;

    // A name held in one namespace: that one.
    let mut status = cli
        .model_status(status_of("iris"))
        .await
        .unwrap()
        .into_inner();
    let first = status.message().await.unwrap().expect("one answer");
    assert_eq!(model_ns_available(&first).0, "team-b");
    cli.unload_model(unload_model("iris"))
        .await
        .expect("unloaded where it lives");
    assert_eq!(env.sim("team-b").calls(Rpc::UnloadModel), 1);
    assert_eq!(env.sim("team-a").calls(Rpc::UnloadModel), 0);

    // A name held in two: both named, nothing sent.
    for error in [
        cli.unload_model(unload_model("dup")).await.unwrap_err(),
        cli.model_status(status_of("dup")).await.unwrap_err(),
    ] {
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert!(
            error.message().contains("team-a, team-b") && error.message().contains("\"dup\""),
            "{}",
            error.message()
        );
    }
    assert_eq!(env.sim("team-a").calls(Rpc::UnloadModel), 0);
    // Named explicitly, it is not ambiguous.
    cli.unload_model(in_ns("team-a", unload_model("dup")))
        .await
        .expect("unloaded in team-a");
    // A name nobody holds, with no default namespace: the namespace is missing.
    let unknown = cli.unload_model(unload_model("nowhere")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    assert!(
        unknown.message().contains("no namespace"),
        "{}",
        unknown.message()
    );
    env.stop().await;
}
