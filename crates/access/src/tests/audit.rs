//! The audit line: one tracing event with target `switchyard::audit`
//! for each write and each refusal, none for an allowed read.

use crate::{AUDIT_TARGET, AuditDecision, AuditRecord, audit};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use switchyard_core::access::{Identity, Method, Rpc};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Audit lines written on this thread until the guard drops.
pub(super) struct AuditLines {
    captured: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl AuditLines {
    pub(super) fn capture() -> Self {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        AuditLines {
            captured,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub(super) fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.captured.0.lock().clone()).expect("utf-8");
        text.lines().map(str::to_owned).collect()
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
