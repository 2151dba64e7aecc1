//! The audit line: one tracing event with target `switchyard::audit`
//! for each write and each refusal, none for an allowed read.

use crate::{AUDIT_TARGET, AuditDecision, AuditRecord, audit};
use std::collections::BTreeMap;
use switchyard_core::access::{Identity, Method, Rpc};
use switchyard_testkit::CapturedLogs;

/// Audit lines written on this thread until dropped.
pub(super) struct AuditLines(CapturedLogs);

impl AuditLines {
    pub(super) fn capture() -> Self {
        AuditLines(CapturedLogs::start(tracing::Level::INFO))
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.0.lines()
    }
}

fn lines(records: &[AuditRecord<'_>]) -> Vec<String> {
    let capture = AuditLines::capture();
    records.iter().for_each(audit);
    capture.lines()
}

#[test]
fn writes_and_refusals_are_one_line_each_and_allowed_reads_none() {
    let ci = Identity {
        user: "system:serviceaccount:team-a:ci".into(),
        uid: None,
        groups: vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:team-a".into(),
        ],
        extra: BTreeMap::new(),
        method: Method::Token,
    };
    let base = AuditRecord {
        identity: Some(&ci),
        namespace: Some("team-a"),
        rpc: Rpc::LoadModel,
        object: Some("iris"),
        decision: AuditDecision::Allowed,
        code: "OK",
        message: "",
    };
    let lines = lines(&[
        base,
        AuditRecord {
            namespace: Some("team-b"),
            rpc: Rpc::UnloadModel,
            decision: AuditDecision::Denied,
            code: "PERMISSION_DENIED",
            message: "may not delete models",
            ..base
        },
        // An allowed read: not audited.
        AuditRecord {
            rpc: Rpc::SubscribeModelStatus,
            object: None,
            ..base
        },
        AuditRecord {
            identity: None,
            rpc: Rpc::ModelStatus,
            object: None,
            decision: AuditDecision::Unauthenticated,
            code: "UNAUTHENTICATED",
            ..base
        },
    ]);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        assert!(line.contains(AUDIT_TARGET), "{line}");
    }
    let load = &lines[0];
    for field in [
        "user=\"system:serviceaccount:team-a:ci\"",
        "groups=\"system:serviceaccounts,system:serviceaccounts:team-a\"",
        "method=\"token\"",
        "namespace=\"team-a\"",
        "rpc=\"LoadModel\"",
        "object=\"iris\"",
        "decision=\"allowed\"",
        "code=\"OK\"",
    ] {
        assert!(load.contains(field), "{field} missing in {load}");
    }
    assert!(
        lines[1].contains("decision=\"denied\"") && lines[1].contains("code=\"PERMISSION_DENIED\"")
    );
    assert!(lines[1].contains("namespace=\"team-b\"") && lines[1].contains("rpc=\"UnloadModel\""));
    assert!(
        lines[2].contains("method=\"none\"") && lines[2].contains("decision=\"unauthenticated\"")
    );
}
