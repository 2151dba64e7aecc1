//! Finite status RPCs: one namespace or all of them, merged, every message
//! naming its namespace, failures reported with theirs.

use switchyard_proto::scheduler::ServerStatusRequest;

use super::support::*;

async fn list_models(
    gw: &mut SchedulerClient<Channel>,
    request: Request<ModelStatusRequest>,
) -> (Vec<(String, String)>, Option<Status>) {
    let mut stream = gw.model_status(request).await.expect("opens").into_inner();
    let mut seen = Vec::new();
    let end = timeout(DEADLINE, async {
        loop {
            match stream.message().await {
                Ok(Some(m)) => {
                    let ns = model_ns_available(&m).0;
                    seen.push((ns, m.model_name));
                }
                Ok(None) => return None,
                Err(status) => return Some(status),
            }
        }
    })
    .await
    .expect("listing ends in time");
    seen.sort();
    (seen, end)
}

fn named(name: &str) -> ModelStatusRequest {
    ModelStatusRequest {
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn listings_fan_out_and_tag_every_message() {
    let env = Env::start(&["team-a", "team-b"]).await;
    // Loaded straight into team-a's scheduler without kubernetesMeta: the
    // scheduler reports it without a namespace.
    let mut direct = env.direct("team-a").await;
    direct
        .load_model(load_model("untagged", None))
        .await
        .unwrap();
    let mut raw = direct
        .model_status(named("untagged"))
        .await
        .unwrap()
        .into_inner();
    let untagged = raw.message().await.unwrap().unwrap();
    assert_eq!(
        model_ns_available(&untagged).0,
        "",
        "the scheduler left it out"
    );

    let mut gw = env.client().await;
    gw.load_model(load_model("iris", Some("team-b")))
        .await
        .unwrap();

    let (all, end) = list_models(&mut gw, Request::new(ModelStatusRequest::default())).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(
        all,
        [
            ("team-a".to_owned(), "untagged".to_owned()),
            ("team-b".to_owned(), "iris".to_owned())
        ]
    );
    let (only_b, end) = list_models(&mut gw, in_ns("team-b", ModelStatusRequest::default())).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(only_b, [("team-b".to_owned(), "iris".to_owned())]);

    // Asked by name across namespaces: found in one is enough.
    let (found, end) = list_models(&mut gw, Request::new(named("iris"))).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(found, [("team-b".to_owned(), "iris".to_owned())]);
    let (none, end) = list_models(&mut gw, Request::new(named("nowhere"))).await;
    assert!(none.is_empty());
    assert_eq!(end.expect("not found").code(), Code::FailedPrecondition);

    // Servers are tagged too.
    gw.server_notify(in_ns(
        "team-a",
        ServerNotifyRequest {
            servers: vec![ServerNotify {
                name: "mlserver".into(),
                expected_replicas: 1,
                ..Default::default()
            }],
            is_first_sync: false,
        },
    ))
    .await
    .unwrap();
    let mut servers = gw
        .server_status(ServerStatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut tagged = Vec::new();
    while let Some(s) = timeout(DEADLINE, servers.message()).await.unwrap().unwrap() {
        tagged.push((
            s.kubernetes_meta.unwrap_or_default().namespace,
            s.server_name,
        ));
    }
    assert!(
        tagged.contains(&("team-a".to_owned(), "mlserver".to_owned())),
        "{tagged:?}"
    );
    assert!(tagged.iter().all(|(ns, _)| !ns.is_empty()), "{tagged:?}");
    env.stop().await;
}

/// Reads a listing to its end; returns the names seen and the trailing
/// metadata of an OK end.
async fn list_with_trailers(
    gw: &mut SchedulerClient<Channel>,
) -> (Vec<String>, tonic::metadata::MetadataMap) {
    let mut stream = gw
        .model_status(ModelStatusRequest::default())
        .await
        .expect("opens")
        .into_inner();
    let mut names = Vec::new();
    timeout(DEADLINE, async {
        while let Some(m) = stream.message().await.expect("the listing ends OK") {
            names.push(m.model_name);
        }
    })
    .await
    .expect("listing ends in time");
    let trailers = stream
        .trailers()
        .await
        .expect("trailers")
        .unwrap_or_default();
    (names, trailers)
}

/// Issue 13 item 5: partial failure is partial.
#[tokio::test]
async fn an_unreachable_namespace_is_named_and_the_others_are_listed() {
    let env = Env::start(&["team-a"]).await;
    env.registry.apply(runtime("refused", closed_port().await));
    env.wait_known("refused").await;
    let mut gw = env.client().await;
    gw.load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap();
    let (seen, trailers) = list_with_trailers(&mut gw).await;
    assert_eq!(seen, ["iris"]);
    assert_eq!(
        trailers
            .get(switchyard_gateway::UNREACHABLE_METADATA)
            .expect("the unreachable namespace is named"),
        "refused"
    );
    // Asked for that namespace alone, the failure is the answer.
    let (_, end) = list_models(&mut gw, in_ns("refused", ModelStatusRequest::default())).await;
    assert_eq!(end.expect("fails").code(), Code::Unavailable);
    // With every namespace unreachable, nothing was listed: UNAVAILABLE.
    env.registry.delete("team-a");
    eventually("team-a leaves the pool", async || {
        env.pool.get("team-a").is_err()
    })
    .await;
    let (seen, end) = list_models(&mut gw, Request::new(ModelStatusRequest::default())).await;
    assert!(seen.is_empty());
    let end = end.expect("nothing reachable");
    assert_eq!(end.code(), Code::Unavailable);
    assert!(end.message().contains("\"refused\""), "{end:?}");
    env.stop().await;
}
