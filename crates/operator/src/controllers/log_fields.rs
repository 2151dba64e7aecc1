//! A reconcile's log lines name their object in fields (namespace, kind,
//! name), not only inside the error text, so a log pipeline can filter
//! and group by them.

use std::sync::Arc;

use switchyard_api::{Model, ModelSpec};
use switchyard_core::bus::StatusBus;
use switchyard_scheduler::SchedulerPool;
use switchyard_testkit::CapturedLogs;
use tokio::sync::watch;

use super::context::{Context, ControllerContext};
use super::error::ReconcileError;
use super::lifecycle::observe;
use super::metrics::ControllerMetrics;
use crate::ApiWriter;

#[tokio::test]
async fn a_failed_reconcile_logs_namespace_kind_and_name_as_fields() {
    let logs = CapturedLogs::start(tracing::Level::INFO);

    // Nothing listens there: the reconcile below makes no request.
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let (_leader, leading) = watch::channel(true);
    let writer = ApiWriter::new(client, leading, "switchyard-test");
    let pool = SchedulerPool::new(StatusBus::default(), None);
    let ctx = ControllerContext::new(
        Context::new(writer, Arc::new(pool)),
        ControllerMetrics::new("model", 1),
    );
    let mut model = Model::new("iris", ModelSpec::default());
    model.metadata.namespace = Some("fraud".into());

    let failed = async {
        tracing::info!("calling the scheduler");
        Err(ReconcileError::Busy {
            namespace: "fraud".into(),
        })
    };
    observe(&model, &ctx, failed).await.unwrap();

    let lines = logs.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        for field in ["kind=Model", "namespace=\"fraud\"", "name=\"iris\""] {
            assert!(line.contains(field), "{field} missing from {line:?}");
        }
    }
    let warning = &lines[1];
    assert!(warning.contains("WARN"), "{warning}");
    // What follows the span's `{...}: ` is the event's own message and
    // fields.
    let own = warning.rsplit("}: ").next().unwrap_or_default();
    for field in ["kind=Model", "namespace=\"fraud\"", "name=\"iris\""] {
        assert!(
            own.contains(field),
            "the warning carries {field} itself, not only through its span: {warning}"
        );
    }
}
