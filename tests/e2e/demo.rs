//! The demo's core (`switchyard::cli::demo::Demo`): API double, simulated
//! schedulers, operator and gateway in one process on 127.0.0.1. Every
//! example CR in every namespace becomes Ready (Servers once the
//! StatefulSet the demo plays is ready, with their loaded models), and a
//! rescale by patching a Model reaches its scheduler.

use crate::common;

use common::{DEADLINE, until};
use futures_util::StreamExt;
use kube::Api;
use switchyard::cli::demo::{Demo, NAMESPACES, status_rows};
use switchyard_api::{ConditionStatus, Model, Pipeline, Server};

fn ready(conditions: &[switchyard_api::Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
}

#[tokio::test]
async fn every_example_becomes_ready_in_every_namespace_and_rescales_reach_the_scheduler() {
    let demo = Demo::start("127.0.0.1:0".parse().unwrap(), None, None)
        .await
        .unwrap();
    let rows = status_rows(&demo.client);
    let created = demo.apply_examples().await.unwrap();
    assert_eq!(created.len(), 4 * NAMESPACES.len(), "{created:?}");

    for (ns, kind, name) in &created {
        let client = demo.client.clone();
        let what = format!("{ns} {kind} {name}");
        match kind.as_str() {
            "Model" => {
                let api = Api::<Model>::namespaced(client, ns);
                until(&format!("{what} Ready"), async || {
                    let s = api.get(name).await.ok()?.status?;
                    ready(&s.duck.conditions).then_some(())
                })
                .await;
            }
            "Pipeline" => {
                let api = Api::<Pipeline>::namespaced(client, ns);
                until(&format!("{what} Ready"), async || {
                    let s = api.get(name).await.ok()?.status?;
                    ready(&s.duck.conditions).then_some(())
                })
                .await;
            }
            "Server" => {
                let api = Api::<Server>::namespaced(client, ns);
                until(&format!("{what} Ready with loaded models"), async || {
                    let s = api.get(name).await.ok()?.status?;
                    (s.loaded_models > 0 && ready(&s.duck.conditions)).then_some(())
                })
                .await;
            }
            other => panic!("unexpected kind {other}"),
        }
    }

    // The printed rows saw the Ready transitions too.
    let mut rows = Box::pin(rows);
    let mut ready_rows = std::collections::BTreeSet::new();
    tokio::time::timeout(DEADLINE, async {
        while ready_rows.len() < 4 * NAMESPACES.len() {
            let row = rows.next().await.expect("status watch ended");
            if matches!(row.ready, Some((ConditionStatus::True, _))) {
                ready_rows.insert((row.namespace, row.kind, row.name));
            }
        }
    })
    .await
    .expect("a Ready row for every Server, Model and Pipeline");

    demo.rescale("fraud", 1).await.unwrap();
    let api = Api::<Model>::namespaced(demo.client.clone(), "fraud");
    until("fraud income at 1 replica", async || {
        let m = api.get("income").await.ok()?;
        let s = m.status?;
        (s.available_replicas == 1
            && s.duck.observed_generation == Some(2)
            && ready(&s.duck.conditions))
        .then_some(())
    })
    .await;
    let fraud = demo.fleet.get("fraud").unwrap();
    assert!(
        fraud.calls(switchyard_simulator::Rpc::LoadModel) >= 3,
        "two models plus the rescale"
    );
    demo.shutdown().await.unwrap();
}
